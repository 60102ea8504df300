"""The hostile probe's cases that already held, kept as tests so none can come back (fault table):
path traversal in run and study names, and a sweep killed with SIGKILL mid-run resuming to
adapters bit-identical to an uninterrupted sweep's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from telcotune.config import ExperimentConfig, SweepRun, expand_sweep
from telcotune.errors import ConfigError

from .conftest import ROOT
from .test_train_data import write_data


@pytest.mark.parametrize("name", ["../evil", "a/b", "/abs", ".hidden", "..", "a\\b", ""])
def test_run_names_cannot_leave_the_sweep_folder(name):
    with pytest.raises(ConfigError, match="name"):
        expand_sweep(ExperimentConfig(sweep={"runs": [{"name": name}]}))
    with pytest.raises(ValueError):
        SweepRun(name=name)


@pytest.mark.parametrize("name", ["../evil", "a/b", "/abs", ".hidden"])
def test_study_names_cannot_leave_the_runs_folder(tmp_path, name):
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump({"name": name}))
    out = subprocess.run([sys.executable, "-m", "telcotune", "run", "--config", str(path)], capture_output=True,
                         text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 2 and "name" in out.stderr and "Traceback" not in out.stderr
    assert list(tmp_path.iterdir()) == [path]


def test_serve_refuses_a_run_outside_the_study(tmp_path):
    (tmp_path / "sweep").mkdir()
    out = subprocess.run([sys.executable, "-m", "telcotune", "serve", "--workdir", str(tmp_path), "--run", "../x"],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 2 and "Traceback" not in out.stderr


def _sweep_config(tmp_path, data, model_dir) -> str:
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({"base": {"max_steps": 6, "batch_size": 2, "max_length": 256, "eval_every": 3,
                                             "save_every": 1, "dropout": 0.1, "lr": 1e-3},
                                    "runs": [{"name": "one", "r": 4}, {"name": "two", "r": 8, "targets": "attn"}]}))
    return str(path)


def _sweep(data, out, sweep_file, model_dir) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "telcotune", "sweep", "--data", str(data), "--out", str(out),
                             "--sweep", sweep_file, "--model", str(model_dir), "--meter", "none", "--quiet"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


@pytest.mark.slow
def test_a_sweep_killed_with_sigkill_resumes_to_bit_identical_adapters(tmp_path, tiny_model_dir):
    data = write_data(tmp_path / "data", n_train=12, n_val=2)
    sweep_file = _sweep_config(tmp_path, data, tiny_model_dir)
    straight = _sweep(data, tmp_path / "straight", sweep_file, tiny_model_dir)
    assert straight.wait(timeout=600) == 0, straight.stderr.read()[-2000:]

    victim = _sweep(data, tmp_path / "killed", sweep_file, tiny_model_dir)
    state = tmp_path / "killed" / "two" / "checkpoint" / "state.json"
    deadline = time.monotonic() + 600
    while not state.is_file() and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # the second run is under way, with a checkpoint
    assert victim.poll() is None, "the sweep ended before it could be killed"
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait(timeout=60)
    assert not (tmp_path / "killed" / "two" / "manifest.json").exists()
    again = _sweep(data, tmp_path / "killed", sweep_file, tiny_model_dir)
    assert again.wait(timeout=600) == 0, again.stderr.read()[-2000:]
    for run in ("one", "two"):
        a = (tmp_path / "straight" / run / "adapter" / "adapter_model.safetensors").read_bytes()
        b = (tmp_path / "killed" / run / "adapter" / "adapter_model.safetensors").read_bytes()
        assert a == b, run
