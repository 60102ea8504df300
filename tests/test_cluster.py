"""The Ray executor's parts that need no cluster: ray is imported only by the ray modules, the
resources a run asks for, the scratch layout, and energy apportioned to a run sharing a machine."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import telcotune
from telcotune.energy.base import EnergyReading, window

PACKAGE = Path(telcotune.__file__).parent
RAY_MODULES = {"cluster/ray_sweep.py", "cluster/ray_answers.py"}


def _imports(tree: ast.AST) -> list[tuple[str, ast.AST]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, node) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            found += [((node.module or "") if node.level == 0 else "." * node.level + (node.module or ""), node)]
    return found


def test_only_the_ray_modules_import_ray_and_only_inside_functions_import_them():
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        tree = ast.parse(path.read_text())
        top_level = {id(n) for n in tree.body}
        for name, node in _imports(tree):
            if name == "ray" or name.startswith("ray."):
                assert rel in RAY_MODULES, f"{rel} imports ray"
            if ("ray_sweep" in name or "ray_answers" in name) and rel not in RAY_MODULES:
                assert id(node) not in top_level, f"{rel} imports {name} at import time"


def test_the_local_sweep_and_the_commands_load_without_ray():
    code = ("import sys, telcotune.cli, telcotune.pipeline, telcotune.train.sweep, telcotune.evaluate.stage; "
            "print('ray' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_resources_default_per_device_and_can_be_set():
    pytest.importorskip("ray")
    from telcotune.cluster.ray_sweep import task_options
    from telcotune.config import ResourcesConfig

    assert task_options(ResourcesConfig(), cluster_has_gpus=False) == {"num_cpus": 1.0, "num_gpus": 0.0}
    assert task_options(ResourcesConfig(), cluster_has_gpus=True) == {"num_cpus": 4.0, "num_gpus": 1.0}
    set_ = ResourcesConfig(gpus=0.5, cpus=2.0, memory_gb=1.5)
    assert task_options(set_, cluster_has_gpus=True) == {"num_cpus": 2.0, "num_gpus": 0.5, "memory": 1_500_000_000}


def test_resources_merge_per_key_and_leave_a_runs_identity_alone():
    from telcotune.config import ExperimentConfig, expand_sweep
    from telcotune.train.run import run_config_hash

    cfg = ExperimentConfig.model_validate({"train": {"resources": {"cpus": 2.0}},
                                           "sweep": {"runs": [{"name": "a", "resources": {"gpus": 1.0}}]}})
    run = expand_sweep(cfg)[0]
    assert (run.resources.cpus, run.resources.gpus) == (2.0, 1.0)
    moved = run.model_copy(update={"resources": run.resources.model_copy(update={"gpus": 0.0})})
    assert run_config_hash(moved, "m") == run_config_hash(run, "m")
    assert run_config_hash(run.model_copy(update={"r": 4}), "m") != run_config_hash(run, "m")


def test_scratch_mirrors_the_data_folder_relative_to_the_sweep(tmp_path):
    from telcotune.cluster.scratch import scratch_layout

    for sweep, data in (("study/sweep", "study/data"), ("a/b/sweep", "data"), ("s", "s/data")):
        layout = scratch_layout(tmp_path / "scratch", tmp_path / sweep, tmp_path / data)
        assert os.path.relpath(layout.data_dir, layout.run("x").root) == \
            os.path.relpath(tmp_path / data, tmp_path / sweep / "x")
        assert layout.sweep_dir.is_relative_to(tmp_path / "scratch") and layout.data_dir.is_relative_to(tmp_path / "scratch")


class _FixedMeter:
    def __init__(self, energy_j):
        self.energy_j = energy_j

    def begin_window(self, name):
        pass

    def end_window(self, name):
        return EnergyReading(phase=name, duration_s=2.0, method="measured", energy_j=self.energy_j,
                             source="codecarbon:rapl", co2_kg=0.01, components_j={"cpu": self.energy_j},
                             components_method={"cpu": "measured"})


def test_cpu_share_meter_apportions_a_machine_figure_by_cpu_time():
    from telcotune.energy.cpu_share import CpuShareMeter

    process, machine = iter([10.0, 13.0]), iter([100.0, 112.0])  # 3 of the machine's 12 busy CPU seconds
    meter = CpuShareMeter(_FixedMeter(400.0), lambda: next(process), lambda: next(machine))
    with window(meter, "training") as w:
        pass
    r = w.reading
    assert r.energy_j == pytest.approx(100.0) and r.co2_kg == pytest.approx(0.0025)
    assert r.components_j == {"cpu": pytest.approx(100.0)} and r.method == "estimated"
    assert r.source == "codecarbon:rapl+cpu-share=0.250" and meter.attribution == "cpu-time"

    missing = CpuShareMeter(_FixedMeter(None), iter([0.0, 1.0]).__next__, iter([0.0, 2.0]).__next__)
    with window(missing, "training") as w:
        pass
    assert w.reading.energy_j is None and w.reading.method == "measured"  # nothing made up


def test_nvml_meter_from_the_config_meters_only_the_visible_gpus(monkeypatch):
    from telcotune.config import EnergyConfig
    from telcotune.energy.factory import make_meter

    from .test_energy import fake_pynvml

    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml([[0, 0, 0], [0, 0, 0], [0, 1_000, 4_000]]))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2")  # what Ray sets for a task given GPU 2
    meter = make_meter(EnergyConfig(meter="nvml"))
    with window(meter, "training") as w:
        pass
    assert w.reading.source == "nvml:gpu=2" and w.reading.energy_j == pytest.approx(3.0)
    assert meter.attribution == "gpu-devices"

    monkeypatch.delitem(sys.modules, "pynvml")
    monkeypatch.setattr("importlib.import_module", lambda name: (_ for _ in ()).throw(ImportError(name)))
    absent = make_meter(EnergyConfig(meter="nvml"))
    with window(absent, "training") as w:
        pass
    assert w.reading.method == "missing" and "pynvml" in w.reading.missing_reason


@pytest.mark.slow  # starts a Ray instance (10-25 s)
def test_without_an_address_a_local_ray_is_started_for_the_block_and_shut_down_after(monkeypatch):
    ray = pytest.importorskip("ray")
    from telcotune.cluster.ray_sweep import ray_cluster

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert not ray.is_initialized()
    with ray_cluster(None):
        assert ray.is_initialized() and ray.cluster_resources()["CPU"] >= 1
    assert not ray.is_initialized()


def test_a_run_no_node_can_hold_is_reported_instead_of_waiting_for_ever():
    pytest.importorskip("ray")
    from telcotune.cluster.ray_sweep import unplaceable

    nodes = [{"CPU": 2.0, "memory": 8e9}, {"CPU": 8.0, "GPU": 1.0}]
    assert unplaceable({"num_cpus": 4.0, "num_gpus": 1.0}, nodes) is None
    assert unplaceable({"num_cpus": 1.0, "num_gpus": 0.0, "memory": 4_000_000_000}, nodes) is None
    why = unplaceable({"num_cpus": 4.0, "num_gpus": 2.0}, nodes)
    assert why == "asks for 4 CPU, 2 GPU (train.resources); the cluster's nodes have: 2 CPU, 0 GPU; 8 CPU, 1 GPU"


def test_the_ray_executor_without_ray_installed_says_how_to_install_it(monkeypatch):
    import importlib.util

    from telcotune.cluster import uses_ray
    from telcotune.config import SweepConfig
    from telcotune.errors import ConfigError

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    assert uses_ray(SweepConfig()) is False
    with pytest.raises(ConfigError, match=r"sweep.executor: ray: the ray package is not installed; "
                                          r"install it with: pip install 'telcotune\[ray\]'"):
        uses_ray(SweepConfig(executor="ray"))


def test_progress_shows_a_line_per_running_run_and_the_sweep_total(monkeypatch):
    pytest.importorskip("ray")
    import io

    from rich.console import Console

    from telcotune.cluster import ray_sweep
    from telcotune.config import SweepRun

    out = io.StringIO()
    monkeypatch.setattr(ray_sweep, "console", Console(file=out, force_terminal=True, width=120))
    a, b = SweepRun(name="run-a", max_steps=10), SweepRun(name="run-b", max_steps=10)
    with ray_sweep._Lines(True, total=2) as lines:
        lines.start(a)
        lines.start(b)
        lines.steps({"run-a": 4, "run-b": 7})
        assert [t.description for t in lines.bars.tasks] == ["[bold]sweep", "run-a", "run-b"]
        assert [t.completed for t in lines.bars.tasks] == [0, 4, 7]
        lines.end(a, "best val loss 1.0", 1)
        assert [t.description for t in lines.bars.tasks] == ["[bold]sweep", "run-b"]
        assert lines.bars.tasks[0].completed == 1
    assert "[1/2] run-a: best val loss 1.0" in out.getvalue()
