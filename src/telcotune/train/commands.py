"""What `telcotune train` and `telcotune sweep` do once their options are parsed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ..artifacts.run import RunMetrics
from ..artifacts.sweep import SweepRow
from ..config import ExperimentConfig, expand_sweep

console = Console(stderr=True)


def train_command(data: Path, out: Path, cfg: ExperimentConfig, progress: bool = True) -> RunMetrics:
    from ..artifacts.run import read_finished_run
    from ..energy.factory import make_meter
    from ..paths import RunPaths
    from ..tracking import track_runs
    from .run import train_run

    metrics = train_run(data, out, cfg.train, cfg.model.ref(), meter=make_meter(cfg.energy),
                        progress=progress)
    if cfg.tracking.backend != "none":  # the tracker's folder sits next to the run folder
        track_runs(cfg.tracking, Path(out).parent, cfg.name, [read_finished_run(RunPaths(Path(out)))])
    console.print(
        f"{out}: {metrics.steps} steps, best val loss {_f(metrics.best_val_loss, '.4f')} "
        f"(step {metrics.best_step}), {_f(metrics.tokens_per_s, '.0f')} tokens/s, "
        f"{metrics.duration_s:.0f} s, {metrics.precision}")
    return metrics


def sweep_command(data: Path, out: Path, cfg: ExperimentConfig, sweep_file: Path | None,
                  max_steps: int | None, only: list[str] | None, progress: bool = True,
                  ) -> list[SweepRow]:
    """Runs: the sweep file's (over the config's train defaults), else the config's own sweep
    section, else one run named `default` with the train defaults."""
    from ..config import SweepConfig
    from ..energy.factory import make_meter
    from ..tracking import track_sweep
    from .sweep import run_sweep

    if sweep_file is not None:
        # the file replaces the config's runs; where they run (executor, address) stays
        placement = cfg.sweep.model_dump(exclude={"file", "base", "runs", "grid"})
        cfg = cfg.model_copy(update={"sweep": SweepConfig(file=str(sweep_file), **placement)})
    runs = expand_sweep(cfg, source=str(sweep_file or "config"))
    names = [n.strip() for item in (only or []) for n in item.split(",") if n.strip()] or None
    rows = run_sweep(data, out, runs, cfg.model.ref(), meter_factory=lambda: make_meter(cfg.energy),
                     only=names, max_steps=max_steps, progress=progress, placement=cfg.sweep, energy=cfg.energy)
    track_sweep(cfg.tracking, Path(out).parent, cfg.name, out)  # a study's sweep/ sits in the study folder
    table = Table("run", "r", "alpha", "targets", "lr", "best val loss", "tok/s", "s", "kWh")
    for r in rows:
        table.add_row(r.name, str(r.r), f"{r.alpha:g}", r.targets, f"{r.lr:g}", _f(r.best_val_loss, ".4f"),
                      _f(r.tokens_per_s, ".0f"), _f(r.duration_s, ".0f"), _f(r.energy_kwh, ".2e"))
    console.print(table)
    return rows


def _f(x: float | None, fmt: str) -> str:
    return "-" if x is None else format(x, fmt)
