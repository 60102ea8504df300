"""sweep/sweep.json: one row per finished run of the sweep, and what is still pending."""

from __future__ import annotations

from ..config import TrainConfig
from .io import Record


class SweepRow(Record):
    name: str
    r: int
    alpha: float
    dropout: float
    lr: float
    targets: str
    """As the user gave it: a preset (`qv`, `attn`, `all`) or a comma list."""
    target_modules: list[str]
    """The module names LoRA was injected into."""
    trainable_params: int
    best_val_loss: float | None
    best_step: int | None
    final_val_loss: float | None
    steps: int
    train_tokens: int
    duration_s: float
    tokens_per_s: float | None
    energy_kwh: float | None
    """The whole run: training and validation phases."""
    j_per_train_token: float | None
    energy_method: str | None
    precision: str
    settings: TrainConfig


class SweepSummary(Record):
    model: str
    data_dir: str
    max_steps_override: int | None
    runs_total: int
    runs_finished: int
    pending: list[str]
    """Runs of the sweep that have not finished (yet)."""
    failed: dict[str, str] = {}
    """Runs whose last attempt failed (Ray executor), with the reason; they are also pending."""
    runs: list[SweepRow]

    def row(self, name: str) -> SweepRow | None:
        return next((r for r in self.runs if r.name == name), None)


CSV_COLUMNS = ("name", "r", "alpha", "dropout", "lr", "targets", "trainable_params", "best_val_loss",
               "duration_s", "tokens_per_s", "energy_kwh", "j_per_train_token", "energy_method")
"""sweep.csv: the columns of a SweepRow a spreadsheet shows."""
