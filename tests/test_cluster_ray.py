"""The sweep on Ray: a real local Ray (in-process `ray.init(num_cpus=2)`, and a `ray start --head`
process reached through --ray-address) trains the tiny model's 2-run sweep to the same adapters
and losses as the local executor, bit for bit (one thread a run); a killed worker's run resumes
from its checkpoint; a failing run fails alone; a non-shared study folder ends the same."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from telcotune.config import SweepConfig, SweepRun
from telcotune.energy.base import NullMeter
from telcotune.models import ModelRef

from .test_train_data import tiny_threads, write_data  # noqa: F401 (autouse fixture)

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow  # a Ray cluster and its workers (each imports torch) take tens of seconds

FAST = dict(batch_size=4, max_length=256, eval_every=2, save_every=2, lr=2e-3, max_steps=4)
RUNS = [SweepRun(name="r4-qv", r=4, alpha=8, **FAST), SweepRun(name="r8-attn", r=8, alpha=16, targets="attn", **FAST)]
TIMING = {"duration_s", "train_time_s", "val_time_s", "setup_s", "tokens_per_s", "sessions"}
"""Fields that differ between any two executions (and sessions: a resumed run has two)."""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_data(tmp_path_factory.mktemp("ray-data") / "data", n_train=16, n_val=4)


@pytest.fixture(scope="module")
def local_sweep(data_dir, tiny_model_dir):
    from telcotune.train.sweep import run_sweep

    out = data_dir.parent / "local"
    run_sweep(data_dir, out, RUNS, ModelRef(str(tiny_model_dir)), meter_factory=NullMeter, progress=False)
    return out


@pytest.fixture(scope="module")
def in_process_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def ray_sweep(data_dir, out, model_dir, runs=RUNS, **placement):
    from telcotune.config import EnergyConfig
    from telcotune.train.sweep import run_sweep

    on_step = placement.pop("on_step", None)
    return run_sweep(data_dir, out, runs, ModelRef(str(model_dir)), progress=False, on_step=on_step,
                     placement=SweepConfig(executor="ray", **placement), energy=EnergyConfig(meter="none"))


def run_record(run_dir: Path) -> dict:
    """What must be equal between executors: the adapter's bytes, every loss, the settings."""
    metrics = json.loads((run_dir / "metrics.json").read_text())
    config = json.loads((run_dir / "config.json").read_text())
    manifest = json.loads((run_dir / "manifest.json").read_text())
    return {
        "adapter": {p.name: p.read_bytes() for p in sorted((run_dir / "adapter").iterdir())},
        "log": [{k: v for k, v in json.loads(line).items() if k != "tokens_per_s"}
                for line in (run_dir / "metrics.jsonl").read_text().splitlines()],
        # precision_probe holds measured matmul rates, which differ between processes; the
        # precision they chose is compared.
        "metrics": {k: v for k, v in metrics.items() if k not in TIMING and k != "precision_probe"},
        "config": {k: v for k, v in config.items() if k not in ("data_dir", "precision_probe")},
        "manifest": (manifest["config_hash"], manifest["inputs"], sorted(manifest["outputs"]),
                     manifest["outputs"]["adapter/adapter_model.safetensors"]),
        "files": sorted(p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file()),
    }


def assert_same_runs(a: Path, b: Path) -> None:
    for run in RUNS:
        assert run_record(a / run.name) == run_record(b / run.name), run.name
    assert sorted(p.name for p in a.iterdir()) == sorted(p.name for p in b.iterdir())


def test_ray_sweep_equals_local_in_a_shared_and_a_non_shared_study_folder(
        in_process_ray, data_dir, local_sweep, tiny_model_dir, tmp_path):
    shared = data_dir.parent / "shared"  # every sweep beside the data: the same relative data paths
    rows = ray_sweep(data_dir, shared, tiny_model_dir)
    assert [r.name for r in rows] == ["r4-qv", "r8-attn"] and all(r.steps == 4 for r in rows)
    assert_same_runs(local_sweep, shared)
    assert json.loads((shared / "sweep.json").read_text())["failed"] == {}

    # every task a scratch root of its own: nothing may rely on the nodes sharing a folder
    apart = data_dir.parent / "apart"
    ray_sweep(data_dir, apart, tiny_model_dir, scratch=str(tmp_path / "scratch-{run}"))
    assert_same_runs(shared, apart)
    assert not any((apart / r.name / "checkpoint").exists() for r in RUNS)
    for run in RUNS:  # trained in its own scratch, which only it used
        assert len(list((tmp_path / f"scratch-{run.name}").glob(f"*/*/{run.name}/manifest.json"))) == 1


def test_killed_workers_are_retried_and_resume_from_their_checkpoints(
        in_process_ray, data_dir, local_sweep, tiny_model_dir, tmp_path):
    """A study folder the nodes do not share: r8-attn's worker dies and its node keeps the scratch
    (it resumes from there); r4-qv's node is lost with its scratch (it resumes from the checkpoint
    the driver kept). Both after step 3 of 4; the checkpoint is step 2's."""
    markers, scratch = tmp_path / "killed", tmp_path / "scratch-{run}"
    markers.mkdir()

    def kill_once(name: str, step: int) -> None:
        marker = markers / name
        if step == 3 and not marker.exists():
            marker.write_text(str(os.getpid()))
            if name == "r4-qv":
                shutil.rmtree(str(scratch).format(run=name))
            os.kill(os.getpid(), signal.SIGKILL)

    out = data_dir.parent / "killed"
    ray_sweep(data_dir, out, tiny_model_dir, on_step=kill_once, max_retries=1, scratch=str(scratch))
    assert sorted(p.name for p in markers.iterdir()) == ["r4-qv", "r8-attn"]
    for run in RUNS:
        metrics = json.loads((out / run.name / "metrics.json").read_text())
        assert metrics["sessions"] == 2 and metrics["steps"] == 4, run.name  # resumed, not restarted
    assert_same_runs(local_sweep, out)


def test_a_failing_run_fails_alone_and_a_rerun_trains_only_what_is_unfinished(
        in_process_ray, data_dir, tiny_model_dir, tmp_path):
    from telcotune.train.sweep import SweepFailed

    good = SweepRun(name="good", r=4, alpha=8, **{**FAST, "max_steps": 2})
    bad = SweepRun(name="bad", r=4, alpha=8, **{**FAST, "max_steps": 2, "max_length": 16})
    out = tmp_path / "sweep"
    with pytest.raises(SweepFailed, match=r"1 run\(s\) of the sweep failed \(bad: DataError: .*max_length=16"):
        ray_sweep(data_dir, out, tiny_model_dir, runs=[bad, good])
    summary = json.loads((out / "sweep.json").read_text())
    assert summary["pending"] == ["bad"] and list(summary["failed"]) == ["bad"]
    assert [r["name"] for r in summary["runs"]] == ["good"]
    stamp = (out / "good" / "manifest.json").stat().st_mtime_ns

    fixed = bad.model_copy(update={"max_length": 256})
    rows = ray_sweep(data_dir, out, tiny_model_dir, runs=[fixed, good])
    assert [r.name for r in rows] == ["bad", "good"]
    assert (out / "good" / "manifest.json").stat().st_mtime_ns == stamp  # not trained again
    assert json.loads((out / "sweep.json").read_text())["failed"] == {}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ray_head():
    """A separate Ray cluster (`ray start --head --block` in a process group of its own), stopped at
    the end by signalling that group (never `ray stop`, which would stop every Ray on the machine)."""
    port = _free_port()
    # a token of its own: the default ~/.ray/auth_token is shared with every other Ray on the machine
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "RAY_ADDRESS": "", "RAY_AUTH_MODE": "token",
           "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    temp = Path("/tmp") / f"ray-{port}"  # Ray's socket paths must stay short
    head = subprocess.Popen([Path(sys.executable).with_name("ray"), "start", "--head", "--block", "--num-cpus", "2",
                             "--port", str(port), "--include-dashboard=false", f"--temp-dir={temp}",
                             "--disable-usage-stats"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        for line in head.stdout:  # up when it says so
            if "Ray runtime started" in line:
                break
        assert head.poll() is None, "ray start --head exited"
        yield f"127.0.0.1:{port}", env
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=3)
        except subprocess.TimeoutExpired:
            head.kill()
            head.wait()
        with contextlib.suppress(ProcessLookupError):  # anything of the group still there
            os.killpg(head.pid, signal.SIGKILL)
        shutil.rmtree(temp, ignore_errors=True)


def test_cli_sweep_on_a_ray_cluster_reached_by_its_address(ray_head, data_dir, local_sweep, tiny_model_dir,
                                                           tmp_path):
    address, env = ray_head
    sweep_file = tmp_path / "sweep.yaml"
    sweep_file.write_text(json.dumps({"runs": [r.model_dump(exclude={"resources"}) for r in RUNS]}))
    out = data_dir.parent / "cli"
    done = subprocess.run([sys.executable, "-m", "telcotune", "sweep", "--data", data_dir, "--out", out,
                           "--model", tiny_model_dir, "--sweep", sweep_file, "--meter", "none",
                           "--executor", "ray", "--ray-address", address, "--max-concurrent", "2"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "[2/2]" in done.stderr and "best val loss" in done.stderr
    assert_same_runs(local_sweep, out)


def test_answering_on_ray_one_task_per_adapter_equals_local(in_process_ray, local_sweep, tiny_model_dir, tmp_path):
    from telcotune.adapters import BASE_RUN
    from telcotune.cluster.ray_answers import answer_on_ray
    from telcotune.config import DecodingConfig, EnergyConfig, EvalConfig, ResourcesConfig
    from telcotune.evaluate.answers import AnswerJob, answer_runs
    from telcotune.evaluate.prompt_sets import EvalPrompt
    from telcotune.paths import EvalPaths

    prompts = [EvalPrompt(id=f"p{i}", set="test", reference="", scenario_id=None, misconception=None,
                          messages=[{"role": "user", "content": f"My router {i} keeps dropping the line."}])
               for i in range(2)]
    jobs = [AnswerJob(BASE_RUN, None)] + [AnswerJob(r.name, local_sweep / r.name / "adapter") for r in RUNS]
    cfg = EvalConfig(max_new_tokens=6)
    model = ModelRef(str(tiny_model_dir))
    local, remote = EvalPaths(tmp_path / "local"), EvalPaths(tmp_path / "ray")
    answer_runs(model, jobs, prompts, cfg, DecodingConfig(), local, progress=False)
    summaries = answer_on_ray(model, jobs, prompts, cfg, DecodingConfig(), remote, EnergyConfig(meter="none"),
                              SweepConfig(executor="ray"), ResourcesConfig(), progress=False)
    assert sorted(summaries) == sorted(j.run for j in jobs) and all(s.answers == 2 for s in summaries.values())
    for job in jobs:
        texts = [[(r["id"], r["answer"]) for r in map(json.loads, p.answers(job.run).read_text().splitlines())]
                 for p in (local, remote)]
        assert texts[0] == texts[1], job.run
