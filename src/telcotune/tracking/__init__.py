"""Experiment tracking (MLflow or TensorBoard) behind one small hook interface: the stage commands
call `track_runs` after training and `track_evaluation` after evaluating. With `backend: none`
neither imports a tracker nor writes a file."""

from .hooks import track_evaluation, track_runs, track_sweep

__all__ = ["track_evaluation", "track_runs", "track_sweep"]
