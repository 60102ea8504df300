"""The sweep's runs as Ray tasks, scheduled by Ray's resource model (`train.resources`).

- Cluster: `sweep.ray_address` (`auto`, `HOST:PORT`, `ray://...`), else $RAY_ADDRESS, else a local
  Ray instance started for the sweep and shut down after it; a Ray already initialised in this
  process is used as is.
- One task per run, at most `sweep.max_concurrent` at once. A task whose worker dies (node
  lost, kill -9) is retried by Ray up to `sweep.max_retries` times and resumes from the run's
  last checkpoint; an exception in a run (bad settings, out of memory, a diverged loss) is not
  retried: that run fails alone, the others go on, and the failures are returned.
- Storage: the study folder is used as is (every node sees it) unless `sweep.scratch` is set;
  then each task trains under the scratch folder of its node and ships the finished run's
  files back, which the driver writes into the study folder atomically, and sends each new
  checkpoint to the driver, for a retry on a node without it (`scratch.py`).
- Energy: each task makes its own meter; on a CPU node a machine-wide meter is apportioned by
  the run's CPU time (`energy/cpu_share.py`); `energy.meter: nvml` meters the task's GPUs.
- Progress: one line per running run (its step) and the sweep's total; Ctrl-C cancels the tasks.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..config import EnergyConfig, ResourcesConfig, SweepConfig, SweepRun
from ..energy.base import Meter
from ..models import ModelRef
from ..paths import SweepPaths
from ..train.tokenize import TokenizedData
from . import scratch

console = Console(stderr=True)
POLL_S = 0.5


@contextlib.contextmanager
def ray_cluster(address: str | None) -> Iterator[None]:
    """Connected to the cluster for the block (started locally when there is no address)."""
    if ray.is_initialized():
        yield
        return
    starts_one = address is None and not os.environ.get("RAY_ADDRESS")
    ray.init(address=address, log_to_driver=False, **({"include_dashboard": False} if starts_one else {}))
    try:
        yield
    finally:
        ray.shutdown()


def task_options(resources: ResourcesConfig, cluster_has_gpus: bool) -> dict[str, Any]:
    """Ray resources of one run: the configured ones, else the device's defaults."""
    gpus = resources.gpus if resources.gpus is not None else (1.0 if cluster_has_gpus else 0.0)
    cpus = resources.cpus if resources.cpus is not None else (4.0 if gpus else 1.0)
    options: dict[str, Any] = {"num_cpus": cpus, "num_gpus": gpus}
    if resources.memory_gb is not None:
        options["memory"] = int(resources.memory_gb * 1e9)
    return options


RAY_RESOURCE = {"num_cpus": "CPU", "num_gpus": "GPU", "memory": "memory"}


def unplaceable(options: dict[str, Any], nodes: list[dict[str, float]]) -> str | None:
    """Why no node of the cluster can ever run a task with these options (None when one can): Ray
    would otherwise keep such a task pending for ever."""
    wanted = {RAY_RESOURCE[k]: v for k, v in options.items() if k in RAY_RESOURCE and v}
    if any(all(node.get(r, 0) >= v for r, v in wanted.items()) for node in nodes):
        return None
    asked = ", ".join(f"{v:g} {r}" for r, v in wanted.items())
    largest = "; ".join(", ".join(f"{node.get(r, 0):g} {r}" for r in wanted) for node in nodes) or "no node"
    return f"asks for {asked} (train.resources); the cluster's nodes have: {largest}"


@dataclass(frozen=True)
class RunTask:
    """What one task needs to train one run (pickled to the worker)."""

    run: SweepRun
    model: ModelRef
    data_dir: Path
    sweep_dir: Path
    energy: EnergyConfig
    threads: int
    scratch: str | None


def task_meter(energy: EnergyConfig) -> Meter:
    """This task's meter: its own GPUs under nvml; a machine-wide meter apportioned on a CPU node."""
    from ..energy.cpu_share import CpuShareMeter
    from ..energy.factory import make_meter

    gpu_ids = [int(i) for i in ray.get_gpu_ids()]
    if energy.meter == "nvml":
        return make_meter(energy, gpu_indices=gpu_ids or None)
    meter = make_meter(energy)
    return meter if gpu_ids or energy.meter == "none" else CpuShareMeter(meter)


def train_task(task: RunTask, tokenized: TokenizedData, data: dict[str, bytes] | None, board: Any,
               on_step: Callable[[str, int], None] | None) -> dict[str, bytes] | None:
    """Train one run on this worker; the finished run's files when it trained in scratch."""
    from ..train.run import train_run

    os.environ["OMP_NUM_THREADS"] = str(task.threads)  # the CPUs Ray reserved for this run
    name = task.run.name
    if task.scratch is None:
        run_dir, data_dir = SweepPaths(task.sweep_dir).run(name), task.data_dir
    else:
        root = task.scratch.format(node=ray.get_runtime_context().get_node_id(), run=name)
        layout = scratch.scratch_layout(root, task.sweep_dir, task.data_dir)
        scratch.place_data(layout.data_dir, data or {})
        run_dir, data_dir = layout.run(name), layout.data_dir

        if scratch.checkpoint_step(run_dir) is None and (kept := ray.get(board.checkpoint.remote(name))):
            scratch.place_checkpoint(run_dir, kept)

    def step_hook(step: int) -> None:
        board.update.remote(name, step)
        if task.scratch is not None and scratch.checkpoint_step(run_dir) == step:  # one was just written
            ray.get(board.keep_checkpoint.remote(name, scratch.collect_checkpoint(run_dir)))
        if on_step is not None:
            on_step(name, step)

    train_run(data_dir, run_dir.root, task.run, task.model, meter=task_meter(task.energy), tokenized=tokenized,
              progress=False, on_step=step_hook)
    return None if task.scratch is None else scratch.collect_run(run_dir)


@ray.remote(num_cpus=0)
class StepBoard:
    """On the driver's node: the latest step of every running run (for the progress lines) and,
    when the study folder is not shared, every run's latest checkpoint (for a retried task)."""

    def __init__(self) -> None:
        self.steps: dict[str, int] = {}
        self.checkpoints: dict[str, dict[str, bytes]] = {}

    def update(self, name: str, step: int) -> None:
        self.steps[name] = step

    def snapshot(self) -> dict[str, int]:
        return dict(self.steps)

    def keep_checkpoint(self, name: str, files: dict[str, bytes]) -> None:
        self.checkpoints[name] = files

    def checkpoint(self, name: str) -> dict[str, bytes] | None:
        return self.checkpoints.get(name)


def failure_reason(exc: BaseException) -> str:
    """One line: the run's own exception when it raised one, else what Ray says happened."""
    cause = getattr(exc, "cause", None)
    err = cause if isinstance(cause, BaseException) else exc
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")


def train_on_ray(data_dir: Path, sweep: SweepPaths, runs: list[SweepRun], model: ModelRef,
                 tokenized: TokenizedData, placement: SweepConfig, energy: EnergyConfig, *,
                 progress: bool = True, on_step: Callable[[str, int], None] | None = None) -> dict[str, str]:
    """Train `runs` as Ray tasks; returns {run: why it failed} for the runs that failed."""
    with ray_cluster(placement.ray_address):
        return _Driver(data_dir, sweep, runs, model, tokenized, placement, energy, progress, on_step).run()


class _Driver:
    """Submits the runs (at most max_concurrent at once), shows their progress, collects them."""

    def __init__(self, data_dir: Path, sweep: SweepPaths, runs: list[SweepRun], model: ModelRef,
                 tokenized: TokenizedData, placement: SweepConfig, energy: EnergyConfig, progress: bool,
                 on_step: Callable[[str, int], None] | None):
        self.sweep, self.runs, self.placement, self.progress = sweep, runs, placement, progress
        has_gpus = ray.cluster_resources().get("GPU", 0) > 0
        shared_data = None if placement.scratch is None else ray.put(scratch.data_files(data_dir))
        self.tokenized, self.data = ray.put(tokenized), shared_data
        self.board = StepBoard.options(scheduling_strategy=_driver_node()).remote()
        self.remote = ray.remote(train_task)
        self.make, self.failures = {}, {}
        nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
        for run in runs:
            opts = task_options(run.resources, has_gpus)
            if (why := unplaceable(opts, nodes)) is not None:
                self.failures[run.name] = why
                continue
            task = RunTask(run, model, data_dir, sweep.root, energy, max(1, math.ceil(opts["num_cpus"])),
                           placement.scratch)
            self.make[run.name] = (task, opts)
        self.runs = [r for r in runs if r.name in self.make]
        self.on_step = on_step

    def submit(self, run: SweepRun) -> Any:
        task, opts = self.make[run.name]
        return self.remote.options(**opts, max_retries=self.placement.max_retries, retry_exceptions=False,
                                   name=f"telcotune-train-{run.name}").remote(
            task, self.tokenized, self.data, self.board, self.on_step)

    def run(self) -> dict[str, str]:
        queue, running = list(self.runs), {}
        limit = self.placement.max_concurrent or max(1, len(self.runs))
        done_count = 0
        with _Lines(self.progress, len(self.runs)) as lines:
            try:
                while queue or running:
                    while queue and len(running) < limit:
                        run = queue.pop(0)
                        running[self.submit(run)] = run
                        lines.start(run)
                    ready, _ = ray.wait(list(running), num_returns=1, timeout=POLL_S)
                    lines.steps(ray.get(self.board.snapshot.remote()))
                    for ref in ready:
                        run = running.pop(ref)
                        done_count += 1
                        self.finish(run, ref, lines, done_count)
            except KeyboardInterrupt:
                for ref in running:
                    ray.cancel(ref, force=True)
                raise
        return self.failures

    def finish(self, run: SweepRun, ref: Any, lines: "_Lines", done_count: int) -> None:
        from ..artifacts.io import read_record
        from ..artifacts.run import RunMetrics
        from ..train.sweep import run_line

        paths = self.sweep.run(run.name)
        try:
            files = ray.get(ref)
        except ray.exceptions.RayError as exc:
            self.failures[run.name] = failure_reason(exc)
            lines.end(run, f"failed: {self.failures[run.name]}", done_count)
            return
        if files is not None:
            scratch.write_run(paths, files)
        lines.end(run, run_line(read_record(paths.metrics, RunMetrics)), done_count)


def _driver_node() -> NodeAffinitySchedulingStrategy | str:
    """Pinned to the driver's node (its actor must outlive any worker node that is lost); Ray's
    default placement where the driver has no node of its own (a `ray://` client)."""
    try:
        return NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=True)
    except Exception:  # the client API has no node id for the driver
        return "DEFAULT"


class _Lines:
    """One progress line per running run plus the sweep's total (plain lines when not a terminal)."""

    def __init__(self, enabled: bool, total: int):
        self.live = enabled and console.is_terminal
        self.enabled, self.total, self.ids = enabled, total, {}
        self.bars = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TimeElapsedColumn(), console=console) if self.live else None

    def __enter__(self) -> "_Lines":
        if self.bars is not None:
            self.bars.start()
            self.sweep_id = self.bars.add_task("[bold]sweep", total=self.total)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bars is not None:
            self.bars.stop()

    def start(self, run: SweepRun) -> None:
        if self.bars is not None:
            self.ids[run.name] = self.bars.add_task(run.name, total=run.max_steps)
        elif self.enabled:
            console.print(f"{run.name}: submitted to Ray", highlight=False)

    def steps(self, steps: dict[str, int]) -> None:
        if self.bars is not None:
            for name, step in steps.items():
                if name in self.ids:
                    self.bars.update(self.ids[name], completed=step)

    def end(self, run: SweepRun, text: str, done_count: int) -> None:
        if self.bars is not None:
            self.bars.remove_task(self.ids.pop(run.name))
            self.bars.update(self.sweep_id, completed=done_count)
        console.print(f"[{done_count}/{self.total}] {run.name}: {text}", highlight=False)
