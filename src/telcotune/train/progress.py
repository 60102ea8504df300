"""The training progress bar: steps, loss, tokens/s, ETA. Off when not wanted; when the output
is not a terminal (CI, a log file), one plain line per validation instead of a bar."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn,
)


class StepProgress:
    def __init__(self, description: str, total: int, completed: int = 0, enabled: bool = True,
                 console: Console | None = None):
        console = console or Console(stderr=True)
        self.enabled = enabled and console.is_terminal
        self._plain = console if enabled and not console.is_terminal else None
        self._label, self._total = description, total
        self._progress = None
        if self.enabled:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]}"), TextColumn("val {task.fields[val]}"),
                TextColumn("{task.fields[tps]} tok/s"), TimeElapsedColumn(), TextColumn("eta"),
                TimeRemainingColumn(), console=console, transient=False,
            )
            self._task = self._progress.add_task(description, total=total, completed=completed,
                                                 loss="-", val="-", tps="-")

    def __enter__(self) -> "StepProgress":
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, step: int, loss: float, tokens_per_s: float, val_loss: float | None = None) -> None:
        if self._progress is None:
            if self._plain is not None and val_loss is not None:
                self._plain.print(f"{self._label}: step {step}/{self._total} loss {loss:.4f} "
                                  f"val {val_loss:.4f} {tokens_per_s:,.0f} tok/s", highlight=False)
            return
        fields = {"loss": f"{loss:.3f}", "tps": f"{tokens_per_s:,.0f}"}
        if val_loss is not None:
            fields["val"] = f"{val_loss:.3f}"
        self._progress.update(self._task, completed=step, **fields)
