"""TensorBoard: event files under one folder, a sub-folder per run; an event file's suffix names
what it holds (`.train-<config hash>`, `.eval-<ranking digest>`), so nothing is logged twice."""

from __future__ import annotations

from pathlib import Path

from ..artifacts.run import FinishedRun
from .records import run_params, run_summary, step_metrics


class TensorBoardBackend:
    def __init__(self, root: Path):
        self.root = Path(root)

    def _logged(self, run: str, suffix: str) -> bool:
        folder = self.root / run
        return folder.is_dir() and any(p.name.endswith(suffix) for p in folder.iterdir())

    def _writer(self, run: str, suffix: str):
        from torch.utils.tensorboard import SummaryWriter

        return SummaryWriter(log_dir=str(self.root / run), filename_suffix=suffix)

    def log_run(self, run: FinishedRun) -> None:
        suffix = f".train-{run.config.config_hash[:16]}"
        if self._logged(run.name, suffix):
            return
        with self._writer(run.name, suffix) as w:
            params = run_params(run)
            w.add_text("params", "\n".join(f"    {k}: {v}" for k, v in params.items()), 0)
            for v in step_metrics(run):
                w.add_scalar(v.key, v.value, v.step)
            for k, v in run_summary(run).items():
                w.add_scalar(f"summary/{k}", v, run.metrics.steps)

    def log_evaluation(self, run: str, figures: dict[str, float], key: str) -> None:
        suffix = f".eval-{key}"
        if self._logged(run, suffix):
            return
        with self._writer(run, suffix) as w:
            for k, v in figures.items():
                w.add_scalar(k, v, 0)

    def close(self) -> None:
        pass
