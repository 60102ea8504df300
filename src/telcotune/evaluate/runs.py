"""The finished runs of a sweep folder, as the evaluation stage sees them (read from files)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import StageError
from ..fsio import read_json
from ..paths import MANIFEST, RunPaths


@dataclass(frozen=True)
class FinishedRun:
    name: str
    paths: RunPaths
    config: dict[str, Any]
    metrics: dict[str, Any]
    energy: dict[str, Any] | None

    @property
    def settings(self) -> dict[str, Any]:
        """The run's train settings (r, alpha, targets, ...) from its config.json."""
        return self.config.get("train", self.config)

    @property
    def val_loss(self) -> float | None:
        return self.metrics.get("best_val_loss")


def finished_runs(sweep_dir: Path) -> list[FinishedRun]:
    """Every run folder with a manifest (an unfinished run has none), sorted by name."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise StageError(f"sweep folder {sweep_dir} not found; run `telcotune sweep` first")
    runs = []
    for folder in sorted(p for p in sweep_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        paths = RunPaths(folder)
        if not (folder / MANIFEST).is_file() or not paths.adapter.is_dir():
            continue
        energy = read_json(paths.energy) if paths.energy.is_file() else None
        runs.append(FinishedRun(folder.name, paths, read_json(paths.config), read_json(paths.metrics), energy))
    if not runs:
        raise StageError(f"{sweep_dir}: no finished run (a run folder with adapter/ and manifest.json)")
    return runs
