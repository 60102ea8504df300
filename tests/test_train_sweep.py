"""The sweep (tiny model), the `train` and `sweep` commands, and one slow sweep on the real model."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest

from telcotune.config import SweepRun
from telcotune.energy.base import NullMeter
from telcotune.errors import ConfigError
from telcotune.models import ModelRef

from .test_train_data import tiny_threads, write_data  # noqa: F401 (autouse fixture)

FAST = dict(batch_size=4, max_length=256, eval_every=2, save_every=2, lr=2e-3, max_steps=2)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_data(tmp_path_factory.mktemp("sweep-data"), n_train=16, n_val=4)


def _runs():
    return [SweepRun(name="r4-qv", r=4, alpha=8, **FAST),
            SweepRun(name="r8-attn", r=8, alpha=16, targets="attn", **FAST)]


def _count_calls(monkeypatch, module, name):
    calls = []
    real = getattr(module, name)

    def counting(*a, **k):
        calls.append(a)
        return real(*a, **k)

    monkeypatch.setattr(module, name, counting)
    return calls


def test_sweep_trains_every_run_once_on_data_tokenized_once(tmp_path, data_dir, tiny_model_dir, monkeypatch):
    from telcotune.train import sweep as sweep_module
    from telcotune.train import tokenize as tokenize_module
    from telcotune.train.sweep import CSV_COLUMNS, run_sweep

    out = tmp_path / "sweep"
    tokenizations = _count_calls(monkeypatch, tokenize_module, "tokenize_split")
    trained = _count_calls(monkeypatch, sweep_module, "train_run")
    rows = run_sweep(data_dir, out, _runs(), ModelRef(str(tiny_model_dir)), meter_factory=NullMeter, progress=False)
    assert len(trained) == 2 and len(tokenizations) == 2  # train + val, once for both runs
    assert len(list(out.glob(".tokenized-*.pt"))) == 1
    assert [r.name for r in rows] == ["r4-qv", "r8-attn"]
    assert rows[1].targets == "attn" and rows[1].trainable_params > rows[0].trainable_params
    for name in ("r4-qv", "r8-attn"):
        for f in ("adapter", "metrics.jsonl", "metrics.json", "energy.json", "config.json", "manifest.json"):
            assert (out / name / f).exists(), (name, f)
    summary = json.loads((out / "sweep.json").read_text())
    assert summary["runs_finished"] == 2 and summary["pending"] == []
    with open(out / "sweep.csv") as f:
        table = list(csv.DictReader(f))
    assert list(table[0]) == list(CSV_COLUMNS) and [r["name"] for r in table] == ["r4-qv", "r8-attn"]
    assert table[0]["energy_method"] == "missing" and table[0]["energy_kwh"] == ""
    assert (out / "manifest.json").is_file()
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("*/**/*") if p.is_file()}  # the runs' files

    again = run_sweep(data_dir, out, _runs(), ModelRef(str(tiny_model_dir)), meter_factory=NullMeter, progress=False)
    assert len(trained) == 2 and len(tokenizations) == 2  # nothing retrained, nothing re-tokenized
    assert again == rows
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps


def test_only_and_max_steps_and_the_sweep_manifest(tmp_path, data_dir, tiny_model_dir, monkeypatch):
    from telcotune.train import sweep as sweep_module
    from telcotune.train.sweep import run_sweep

    out = tmp_path / "sweep"
    trained = _count_calls(monkeypatch, sweep_module, "train_run")
    rows = run_sweep(data_dir, out, _runs(), ModelRef(str(tiny_model_dir)), meter_factory=NullMeter,
                     only=["r8-attn"], max_steps=1, progress=False)
    assert [r.name for r in rows] == ["r8-attn"] and rows[0].steps == 1
    assert json.loads((out / "sweep.json").read_text())["pending"] == ["r4-qv"]
    assert not (out / "r4-qv").exists() and not (out / "manifest.json").exists()
    rows = run_sweep(data_dir, out, _runs(), ModelRef(str(tiny_model_dir)), meter_factory=NullMeter, max_steps=1,
                     progress=False)
    assert len(trained) == 2 and [r.name for r in rows] == ["r4-qv", "r8-attn"]
    assert json.loads((out / "manifest.json").read_text())["stage"] == "sweep"


def test_the_whole_sweep_is_validated_before_the_first_run(tmp_path, data_dir, tiny_model_dir):
    from telcotune.train.sweep import run_sweep

    out = tmp_path / "sweep"
    bad = _runs() + [SweepRun(name="bad", targets="q_proj,c_attn", **FAST)]
    with pytest.raises(ConfigError, match=r"run bad: .*c_attn.*its linear modules are: q_proj"):
        run_sweep(data_dir, out, bad, ModelRef(str(tiny_model_dir)), meter_factory=NullMeter, progress=False)
    with pytest.raises(ConfigError, match="duplicate run name"):
        run_sweep(data_dir, out, _runs() + _runs()[:1], ModelRef(str(tiny_model_dir)), meter_factory=NullMeter)
    with pytest.raises(ConfigError, match="unknown run.*nope"):
        run_sweep(data_dir, out, _runs(), ModelRef(str(tiny_model_dir)), meter_factory=NullMeter, only=["nope"])
    assert not out.exists()


def telcotune(*args, cwd=None):
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "telcotune", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=300, env=env)


def test_cli_train_on_the_tiny_model(tmp_path, data_dir, tiny_model_dir):
    run = tmp_path / "run"
    out = telcotune("train", "--data", data_dir, "--out", run, "--model", tiny_model_dir, "--max-steps", 2,
                    "--batch-size", 4, "--r", 4, "--alpha", 8, "--targets", "q_proj,k_proj", "--lr", 1e-3,
                    "--rslora", "--meter", "none")
    assert out.returncode == 0, out.stderr
    assert "2 steps" in out.stderr
    assert "run: step 2/2 loss" in out.stderr  # not a terminal: a plain line per validation, no bar
    config = json.loads((run / "config.json").read_text())["train"]
    assert (config["r"], config["alpha"], config["targets"], config["rslora"], config["batch_size"]) == (
        4, 8, "q_proj,k_proj", True, 4)
    adapter = json.loads((run / "adapter" / "adapter_config.json").read_text())
    assert adapter["r"] == 4 and adapter["use_rslora"] and set(adapter["target_modules"]) == {"q_proj", "k_proj"}
    assert json.loads((run / "metrics.json").read_text())["steps"] == 2



def _main(*args) -> int:
    from telcotune.cli import main

    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    return info.value.code


def test_cli_train_errors_exit_2_with_the_reason(tmp_path, data_dir, tiny_model_dir, capsys):
    assert _main("train", "--data", data_dir, "--out", tmp_path / "x", "--model", tiny_model_dir,
                 "--epochs", 1, "--max-steps", 2) == 2
    assert "--epochs and --max-steps" in capsys.readouterr().err
    assert _main("train", "--data", data_dir, "--out", tmp_path / "y", "--model", tiny_model_dir,
                 "--targets", "c_attn", "--meter", "none", "--quiet") == 2
    err = capsys.readouterr().err
    assert "c_attn" in err and "q_proj" in err
    assert _main("train", "--data", tmp_path / "nowhere", "--out", tmp_path / "z", "--model", tiny_model_dir) == 2
    assert "train.jsonl: file not found" in capsys.readouterr().err
    assert _main("sweep", "--data", data_dir, "--out", tmp_path / "s", "--model", tiny_model_dir,
                 "--only", "nope", "--meter", "none") == 2
    assert "unknown run(s) nope; the sweep has: default" in capsys.readouterr().err


def test_cli_sweep_with_a_sweep_file(tmp_path, data_dir, tiny_model_dir):
    sweep_file = tmp_path / "sweep.yaml"
    sweep_file.write_text("base: {r: 4, alpha: 8, batch_size: 4, eval_every: 1}\n"
                          "runs:\n  - {name: one}\n  - {name: two, targets: attn}\n  - {name: three, lr: 0.001}\n")
    out = tmp_path / "sweep"
    result = telcotune("sweep", "--data", data_dir, "--out", out, "--sweep", sweep_file, "--model", tiny_model_dir,
                       "--max-steps", 1, "--only", "one,three", "--meter", "none", "--quiet")
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "sweep.json").read_text())
    assert [r["name"] for r in summary["runs"]] == ["one", "three"] and summary["pending"] == ["two"]
    assert summary["runs"][1]["lr"] == 0.001 and summary["runs"][0]["steps"] == 1


def test_cli_help_comes_from_the_config_schema(capsys):
    assert _main("train", "--help") == 0
    help_text = " ".join(capsys.readouterr().out.split())
    for text in ("LoRA rank.", "Peak learning rate.", "Sequences per micro-batch", "--max-steps", "--dora"):
        assert text in help_text
    assert _main("sweep", "--help") == 0
    assert "--only" in capsys.readouterr().out


@pytest.mark.slow
def test_sweep_on_the_embedded_model_writes_everything(tmp_path, embedded_cache, monkeypatch):
    from telcotune.train.sweep import CSV_COLUMNS, run_sweep

    monkeypatch.setenv("TELCOTUNE_CACHE", str(embedded_cache))
    data = write_data(tmp_path / "data", n_train=8, n_val=4)
    runs = [SweepRun(name="r8-qv", r=8, alpha=16, batch_size=4, max_length=192, max_steps=2, eval_every=2),
            SweepRun(name="r8-all", r=8, alpha=16, targets="all", batch_size=4, max_length=192, max_steps=2,
                     eval_every=2)]
    out = tmp_path / "sweep"
    rows = run_sweep(data, out, runs, ModelRef("smollm2-135m-instruct"), progress=False)  # default meter: CodeCarbon
    assert [r.name for r in rows] == ["r8-qv", "r8-all"]
    for r in rows:
        run = out / r.name
        for f in ("adapter/adapter_model.safetensors", "adapter/adapter_config.json", "metrics.jsonl",
                  "metrics.json", "energy.json", "config.json", "manifest.json"):
            assert (run / f).is_file(), (r.name, f)
        energy = json.loads((run / "energy.json").read_text())
        assert energy["method"] == "estimated", energy  # no RAPL on this VM: CodeCarbon's TDP estimate
        assert energy["j_per_train_token"] > 0 and r.energy_method == "estimated" and r.energy_kwh > 0
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["steps"] == 2 and metrics["best_val_loss"] < 10 and metrics["precision"] in ("bf16", "fp32")
    with open(out / "sweep.csv") as f:
        assert list(next(csv.reader(f))) == list(CSV_COLUMNS)
    assert (out / "sweep.json").is_file() and (out / "manifest.json").is_file()
