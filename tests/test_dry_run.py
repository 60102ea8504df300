"""`telcotune run --dry-run`: the plan (stages current or to run, runs, steps, estimates from a
quick probe) on the tiny model, and nothing written."""

from __future__ import annotations

import pytest
import yaml

from telcotune.cli import main
from telcotune.config import expand_sweep, load_config
from telcotune.data.stage import run_data_stage
from telcotune.dry_run import plan_study, run_steps
from telcotune.paths import StudyPaths

from .test_data_glossary import small_glossary, write_glossary


@pytest.fixture()
def study_config(tmp_path, tiny_model_dir):
    glossary = write_glossary(tmp_path, small_glossary())
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump({
        "name": "dry", "model": {"spec": str(tiny_model_dir)},
        "data": {"glossary": str(glossary), "per_scenario": 6},
        "train": {"batch_size": 2, "max_length": 128, "epochs": 2},
        "sweep": {"runs": [{"name": "a"}, {"name": "b", "max_steps": 3, "r": 4}]},
        "eval": {"limit": 2, "max_new_tokens": 8}, "judges": {"panel": ["rubric"]}, "energy": {"meter": "none"}}))
    return path


def _files(root):
    return sorted(p for p in root.rglob("*")) if root.exists() else []


def test_dry_run_prints_the_plan_and_writes_nothing(study_config, tmp_path, capsys):
    workdir = tmp_path / "runs" / "dry"
    with pytest.raises(SystemExit) as done:
        main(["run", "--config", str(study_config), "--workdir", str(workdir), "--dry-run", "--quiet"])
    assert done.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert not workdir.exists()
    assert "nothing is written" in out and "estimated total:" in out
    for stage in ("data", "sweep", "evaluate", "report"):
        assert stage in out
    assert "24 conversations to generate with" in out and "2 of 2 runs to train" in out  # table cells wrap
    assert "│ a │ to run │ 20 │" in out and "│ b │ to run │ 3 │" in out


def test_plan_follows_the_stages_own_checks(study_config, tmp_path):
    cfg = load_config(study_config)
    paths = StudyPaths(tmp_path / "study")
    plans = {p.name: p for p in plan_study(cfg, paths)}
    assert plans["data"].status == "to run" and plans["data"].estimate_s > 0
    runs = {r.name: r for r in plans["sweep"].runs}
    assert runs["b"].steps == 3 and not runs["a"].current and runs["a"].estimate_s > 0
    assert plans["sweep"].estimate_s == pytest.approx(runs["a"].estimate_s + runs["b"].estimate_s)

    stats = run_data_stage(cfg.data, paths.data, progress=False)
    before = _files(paths.root)
    plans = {p.name: p for p in plan_study(cfg, paths)}
    assert _files(paths.root) == before
    assert plans["data"].status == "current"
    steps = {r.name: r.steps for r in plans["sweep"].runs}
    # epochs 2 over the real training split in micro-batches of 2, as training counts them
    assert steps["a"] == run_steps(next(r for r in expand_sweep(cfg) if r.name == "a"), stats.splits["train"])
    assert steps["a"] == 2 * -(-stats.splits["train"] // 2)
    assert plans["evaluate"].status == "to run" and plans["evaluate"].estimate_s > 0
