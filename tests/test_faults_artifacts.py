"""Artifacts are trusted only when they are whole (fault table: "artifacts"): a truncated
metrics.json or adapter of a finished run is retrained, a torn data split regenerates the data
set, a damaged answers file keeps its whole rows and answers only what is missing, an unreadable
checkpoint is reported, and a moved study folder stays current."""

from __future__ import annotations

import shutil

import pytest

from telcotune.config import DataConfig, EvalConfig, JudgesConfig, SweepRun
from telcotune.energy.base import NullMeter
from telcotune.models import ModelRef
from telcotune.paths import EvalPaths, SweepPaths

from .test_data_glossary import small_glossary, write_glossary
from .test_train_data import tiny_threads, write_data  # noqa: F401 (autouse fixture)

FAST = dict(batch_size=4, max_length=256, eval_every=2, save_every=1, lr=2e-3, max_steps=2)


def _runs():
    return [SweepRun(name="r4-qv", r=4, alpha=8, **FAST)]


@pytest.fixture()
def trained(tmp_path, tiny_model_dir):
    from telcotune.train.sweep import run_sweep

    data = write_data(tmp_path / "data", n_train=8, n_val=2)
    run_sweep(data, tmp_path / "sweep", _runs(), ModelRef(str(tiny_model_dir)), meter_factory=NullMeter,
              progress=False)
    return data, SweepPaths(tmp_path / "sweep")


def _sweep_again(data, sweep: SweepPaths, model_dir, monkeypatch) -> list:
    from telcotune.train import sweep as sweep_module
    from telcotune.train.sweep import run_sweep

    trained_runs = []
    real = sweep_module.train_run
    monkeypatch.setattr(sweep_module, "train_run", lambda *a, **k: trained_runs.append(a[1]) or real(*a, **k))
    run_sweep(data, sweep.root, _runs(), ModelRef(str(model_dir)), meter_factory=NullMeter, progress=False)
    return trained_runs


def test_a_truncated_metrics_json_of_a_finished_run_is_retrained(trained, tiny_model_dir, monkeypatch):
    data, sweep = trained
    metrics = sweep.run("r4-qv").metrics
    metrics.write_text(metrics.read_text()[:40])
    assert len(_sweep_again(data, sweep, tiny_model_dir, monkeypatch)) == 1
    assert metrics.read_text().rstrip().endswith("}")
    assert _sweep_again(data, sweep, tiny_model_dir, monkeypatch) == []  # whole again: skipped


def test_a_truncated_adapter_is_retrained_not_skipped(trained, tiny_model_dir, monkeypatch):
    data, sweep = trained
    weights = sweep.run("r4-qv").adapter / "adapter_model.safetensors"
    size = weights.stat().st_size
    with open(weights, "r+b") as f:
        f.truncate(size // 2)
    assert len(_sweep_again(data, sweep, tiny_model_dir, monkeypatch)) == 1
    assert weights.stat().st_size == size


def test_a_moved_study_stays_current(trained, tmp_path, tiny_model_dir, monkeypatch):
    data, sweep = trained
    moved = tmp_path / "elsewhere"
    shutil.copytree(data.parent, moved, ignore=shutil.ignore_patterns("elsewhere"))
    assert _sweep_again(moved / "data", SweepPaths(moved / "sweep"), tiny_model_dir, monkeypatch) == []


def test_an_unreadable_checkpoint_is_reported_and_the_run_restarts(tmp_path, tiny_model_dir, capfd):
    from telcotune.train.run import train_run

    data = write_data(tmp_path / "data", n_train=8, n_val=2)
    run = tmp_path / "run"

    def stop(step):
        if step == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_run(data, run, _runs()[0], ModelRef(str(tiny_model_dir)), meter=NullMeter(), progress=False,
                  on_step=stop)
    state = run / "checkpoint" / "state.pt"
    state.write_bytes(state.read_bytes()[:100])
    metrics = train_run(data, run, _runs()[0], ModelRef(str(tiny_model_dir)), meter=NullMeter(), progress=False)
    err = capfd.readouterr().err
    assert "checkpoint cannot be read" in err and "starting from step 0" in err
    assert metrics.steps == 2 and metrics.sessions == 1  # started over, said so


def test_a_torn_split_regenerates_the_data_set(tmp_path):
    from telcotune.data.stage import run_data_stage

    cfg = DataConfig(glossary=str(write_glossary(tmp_path, small_glossary())), per_scenario=3)
    out = tmp_path / "data"
    run_data_stage(cfg, out, progress=False)
    train = out / "train.jsonl"
    whole = train.read_text()
    train.write_text(whole[: len(whole) // 2])
    run_data_stage(cfg, out, progress=False)
    assert train.read_text() == whole


@pytest.fixture()
def evaluated(tmp_path, tiny_model_dir):
    from telcotune.data.stage import run_data_stage
    from telcotune.evaluate.stage import run_evaluate
    from telcotune.train.sweep import run_sweep

    data = small_glossary()
    data["failure_causes"].append({"id": "hardware-fault", "description": "A part is broken."})
    run_data_stage(DataConfig(glossary=str(write_glossary(tmp_path, data)), per_scenario=6,
                              split={"train": 0.5, "val": 0.25, "test": 0.25}), tmp_path / "data", progress=False)
    run_sweep(tmp_path / "data", tmp_path / "sweep", [SweepRun(name="r2", r=2, **{**FAST, "max_length": 512})],
              ModelRef(str(tiny_model_dir)), meter_factory=NullMeter, progress=False)
    args = (tmp_path / "data", tmp_path / "sweep", tmp_path / "eval", ModelRef(str(tiny_model_dir)),
            EvalConfig(prompts=["test"], limit=4, max_new_tokens=3, bootstrap=10), JudgesConfig(panel=["rubric"]))
    run_evaluate(*args, progress=False)
    return args, EvalPaths(tmp_path / "eval")


def _answered(monkeypatch) -> list[int]:
    from telcotune.evaluate import answers as answers_module

    counts: list[int] = []
    real = answers_module.generate_batch
    monkeypatch.setattr(answers_module, "generate_batch",
                        lambda model, tok, prompts, **k: counts.append(len(prompts)) or real(model, tok, prompts, **k))
    return counts


def _texts(jsonl: str) -> list[tuple[str, str]]:
    import json

    return [(row["id"], row["answer"]) for row in map(json.loads, jsonl.splitlines())]


def test_a_torn_answers_file_keeps_its_whole_rows_and_answers_only_the_rest(evaluated, monkeypatch):
    from telcotune.evaluate.stage import run_evaluate

    args, ev = evaluated
    answers = ev.answers("r2")
    whole = answers.read_text()
    lines = whole.splitlines(keepends=True)
    answers.write_text("".join(lines[:2]) + lines[2][:30])  # two whole rows, one torn
    counts = _answered(monkeypatch)
    run_evaluate(*args, progress=False)
    assert counts == [2]  # the torn row and the missing one; nothing else
    assert _texts(answers.read_text()) == _texts(whole)  # greedy answers: the same as the first time


def test_an_emptied_answers_file_or_a_lost_meta_answers_again_without_a_traceback(evaluated, monkeypatch):
    from telcotune.evaluate.stage import run_evaluate

    args, ev = evaluated
    whole = ev.answers("r2").read_text()
    ev.answers("r2").write_text("")
    counts = _answered(monkeypatch)
    run_evaluate(*args, progress=False)
    assert counts == [4] and _texts(ev.answers("r2").read_text()) == _texts(whole)
    ev.answers_meta("base").unlink()
    (ev.root / "manifest.json").unlink()
    run_evaluate(*args, progress=False)
    assert counts == [4, 4]


def test_adapter_and_checkpoint_folders_have_ordinary_permissions(tmp_path, tiny_model_dir):
    """They used to be 0700/0600 (mkdtemp/mkstemp); every artifact respects the umask."""
    import os

    from telcotune.train.run import train_run

    umask = os.umask(0)
    os.umask(umask)
    data = write_data(tmp_path / "data", n_train=8, n_val=2)

    def stop(step):
        if step == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_run(data, tmp_path / "run", SweepRun(name="x", **{**FAST, "max_steps": 3}),
                  ModelRef(str(tiny_model_dir)), meter=NullMeter(), progress=False, on_step=stop)
    train_run(data, tmp_path / "done", _runs()[0], ModelRef(str(tiny_model_dir)), meter=NullMeter(), progress=False)
    for folder in (tmp_path / "run" / "checkpoint", tmp_path / "done" / "adapter"):
        assert folder.stat().st_mode & 0o777 == 0o777 & ~umask, folder
        for f in folder.iterdir():
            assert f.stat().st_mode & 0o777 == 0o666 & ~umask, f
