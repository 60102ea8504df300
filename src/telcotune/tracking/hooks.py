"""The hooks the stage commands call, and the one place a backend is chosen. A backend logs a
finished training run (parameters, per-step metrics, summary, the adapter) and a run's
evaluation figures, each once: logging again what is already logged does nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..artifacts.io import read_record
from ..artifacts.ranking import Ranking
from ..artifacts.run import FinishedRun, finished_runs
from ..paths import EvalPaths, StudyPaths, SweepPaths

if TYPE_CHECKING:
    from ..config import TrackingConfig

class Backend(Protocol):
    def log_run(self, run: FinishedRun) -> None: ...

    def log_evaluation(self, run: str, figures: dict[str, float], key: str) -> None: ...

    def close(self) -> None: ...


def make_backend(tracking: "TrackingConfig", root: Path, study: str) -> Backend | None:
    """The configured backend over `root` (the study folder), None for `none`: the tracker's
    package is imported here and only here."""
    if tracking.backend == "mlflow":
        from .mlflow_backend import MlflowBackend

        return MlflowBackend(tracking.uri or StudyPaths(Path(root)).mlruns.resolve().as_uri(),
                             tracking.experiment or study)
    if tracking.backend == "tensorboard":
        from .tensorboard_backend import TensorBoardBackend

        return TensorBoardBackend(Path(tracking.uri) if tracking.uri else StudyPaths(Path(root)).tensorboard)
    return None


def track_runs(tracking: "TrackingConfig", root: Path, study: str, runs: Iterable[FinishedRun]) -> None:
    """After training: log every finished run given (those already logged are left as they are)."""
    backend = make_backend(tracking, root, study)
    if backend is None:
        return
    try:
        for run in runs:
            backend.log_run(run)
    finally:
        backend.close()


def track_sweep(tracking: "TrackingConfig", root: Path, study: str, sweep_dir: Path) -> None:
    if tracking.backend != "none":
        track_runs(tracking, root, study, finished_runs(SweepPaths(Path(sweep_dir))))


def track_evaluation(tracking: "TrackingConfig", root: Path, study: str, eval_dir: Path, sweep_dir: Path) -> None:
    """After evaluation: each run's judge scores and ranks and its inference energy, in the run's
    tracker run (training is logged first when it was not yet)."""
    backend = make_backend(tracking, root, study)
    if backend is None:
        return
    paths = EvalPaths(Path(eval_dir))
    key = hashlib.sha256(paths.ranking.read_bytes()).hexdigest()[:16]
    from .records import evaluation_metrics

    figures = evaluation_metrics(read_record(paths.ranking, Ranking))
    try:
        for run in finished_runs(SweepPaths(Path(sweep_dir))):
            backend.log_run(run)
        for run, values in figures.items():
            backend.log_evaluation(run, values, key)
    finally:
        backend.close()
