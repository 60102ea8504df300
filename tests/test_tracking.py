"""Experiment tracking read back through the trackers' own readers: MLflow's client and
TensorBoard's event accumulator; with `backend: none` nothing is imported or written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from telcotune.config import TrackingConfig
from telcotune.paths import StudyPaths
from telcotune.tracking import track_evaluation, track_sweep

from .conftest import ROOT
from .test_report import JUDGES, RUNS, SCORES, make_study


def _track(root: Path, backend: str, **kw) -> None:
    study, cfg = StudyPaths(root), TrackingConfig(backend=backend, **kw)
    track_sweep(cfg, root, "tiny", study.sweep)
    track_evaluation(cfg, root, "tiny", study.eval, study.sweep)


def _pointwise_rank(judge: str, run: str) -> int:
    scores = SCORES[judge]
    return 1 + sum(s > scores[run] for s in scores.values())


def test_mlflow_nests_a_run_per_configuration_under_the_study(tmp_path):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    root = make_study(tmp_path / "study")
    _track(root, "mlflow")
    _track(root, "mlflow")  # logging again adds nothing
    client = MlflowClient(tracking_uri=(root / "mlruns").resolve().as_uri())
    experiment = client.get_experiment_by_name("tiny")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if r.data.tags.get("telcotune.kind") == "study"]
    assert len(parents) == 1 and parents[0].info.run_name == "tiny"
    children = {r.info.run_name: r for r in runs if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id}
    assert set(children) == set(RUNS) | {"base"} and len(runs) == len(RUNS) + 2
    for name, (r, alpha, targets, *_rest) in RUNS.items():
        run = children[name]
        params = run.data.params
        assert (params["r"], params["alpha"], params["targets"]) == (str(r), f"{alpha:g}", targets)
        assert params["lr"] == "0.0002" and params["data_hash"] == "d4t4h45h"
        assert params["model"] == "smollm2-135m-instruct" and params["target_modules"]
        history = client.get_metric_history(run.info.run_id, "train/loss")
        assert [m.step for m in sorted(history, key=lambda m: m.step)] == list(range(1, 41))
        assert len(client.get_metric_history(run.info.run_id, "val/loss")) == 4
        assert len(client.get_metric_history(run.info.run_id, "train/lr")) == 40
        assert len(client.get_metric_history(run.info.run_id, "train/tokens_per_s")) == 40
        metrics = run.data.metrics
        for judge in JUDGES:
            key = "judge/" + judge.replace(":", "_") + "/pointwise"
            assert metrics[f"{key}/score"] == pytest.approx(SCORES[judge][name])
            assert metrics[f"{key}/rank"] == _pointwise_rank(judge, name)
        assert metrics["energy/train_j"] > 0 and metrics["energy/inference_j"] > 0
        assert "energy/j_per_generated_token" in metrics
        assert [a.path for a in client.list_artifacts(run.info.run_id, "adapter")] == ["adapter/adapter_config.json"]
    assert "energy/inference_j" in children["base"].data.metrics


def test_tensorboard_event_files_hold_the_curves_and_the_judges(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    root = make_study(tmp_path / "study")
    _track(root, "tensorboard")
    _track(root, "tensorboard")
    name = next(iter(RUNS))
    folder = root / "tensorboard" / name
    assert len(list(folder.iterdir())) == 2  # one training file, one evaluation file: nothing twice
    events = EventAccumulator(str(folder))
    events.Reload()
    tags = events.Tags()["scalars"]
    assert {"train/loss", "val/loss", "train/lr", "train/tokens_per_s"} <= set(tags)
    assert [e.step for e in events.Scalars("train/loss")] == list(range(1, 41))
    judge = JUDGES[0]
    score = events.Scalars(f"judge/{judge}/pointwise/score")
    assert [e.value for e in score] == [pytest.approx(SCORES[judge][name])]
    assert (root / "tensorboard" / "base").is_dir()


def test_tensorboard_uri_is_the_log_folder(tmp_path):
    root = make_study(tmp_path / "study")
    _track(root, "tensorboard", uri=str(tmp_path / "tb"))
    assert (tmp_path / "tb" / next(iter(RUNS))).is_dir() and not (root / "tensorboard").exists()


def test_none_imports_no_tracker_and_writes_nothing(tmp_path):
    root = make_study(tmp_path / "study")
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    script = (f"import sys, json; sys.path[:0] = [{str(ROOT / 'src')!r}, {str(ROOT)!r}]\n"
              "from pathlib import Path\n"
              "from tests.test_tracking import _track\n"
              f"_track(Path({str(root)!r}), 'none')\n"
              "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('mlflow', 'tensorboard'))))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before


def test_track_option_overrides_the_config(tmp_path):
    from telcotune.config import resolve_config
    from telcotune.errors import ConfigError

    assert resolve_config(None, {"tracking": {"backend": "tensorboard"}}).tracking.backend == "tensorboard"
    with pytest.raises(ConfigError, match="--track wandb"):
        resolve_config(None, {"tracking": {"backend": "wandb"}})


def test_train_command_logs_a_real_run_to_mlflow(tmp_path, tiny_model_dir):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    from telcotune.cli import main

    from .test_train_data import write_data

    data = write_data(tmp_path / "data", n_train=8, n_val=2)
    out = tmp_path / "study" / "sweep" / "r4"
    with pytest.raises(SystemExit) as done:
        main(["train", "--data", str(data), "--out", str(out), "--model", str(tiny_model_dir), "--max-steps", "2",
              "--r", "4", "--batch-size", "4", "--max-length", "128", "--eval-every", "2", "--precision", "fp32",
              "--meter", "none", "--track", "mlflow", "--quiet"])
    assert done.value.code == 0
    client = MlflowClient(tracking_uri=(out.parent / "mlruns").resolve().as_uri())
    experiment = client.get_experiment_by_name("study")
    (run,) = [r for r in client.search_runs([experiment.experiment_id]) if r.info.run_name == "r4"]
    assert run.data.params["r"] == "4" and run.data.params["model"] == str(tiny_model_dir)
    assert [m.step for m in client.get_metric_history(run.info.run_id, "train/loss")] == [1, 2]
    assert len(client.get_metric_history(run.info.run_id, "val/loss")) == 1
    files = {a.path for a in client.list_artifacts(run.info.run_id, "adapter")}
    assert {"adapter/adapter_config.json", "adapter/adapter_model.safetensors"} <= files


def test_credentials_in_the_tracking_uri_are_refused():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="no credentials in the URI"):
        TrackingConfig(backend="mlflow", uri="https://me:secret@mlflow.example.com")
    assert TrackingConfig(backend="mlflow", uri="https://mlflow.example.com").uri == "https://mlflow.example.com"
