"""sweep/sweep.json: one row per finished run of the sweep, and what is still pending."""

from __future__ import annotations

from ..config import TrainConfig
from .io import Record
from .run import ExampleLosses


class ValSelection(Record):
    """The train settings that decide which validation conversations are scored and how: two
    measurements are comparable example by example only when these agree."""

    max_length: int
    max_val_examples: int | None
    seed: int


class BaseValidation(Record):
    """sweep/_base/base.json: the base model (no adapter) scored on the sweep's validation set
    with the training loss's exact mask; the reference every adapter is compared with."""

    model: str
    selection: ValSelection
    val_loss: float
    """Token-weighted mean cross-entropy over the validation assistant tokens."""
    val_tokens: int
    val_examples: int
    precision: str
    duration_s: float
    losses: ExampleLosses


class Improvement(Record):
    """An adapter's best validation loss against the base model's, paired over the same
    validation conversations: point estimates and `level` intervals (t over conversations,
    jackknife over conversations: each conversation is one cluster of tokens)."""

    base_loss: float
    adapter_loss: float
    delta: float
    """base loss - adapter loss (nats per token; positive: the adapter is better)."""
    delta_low: float
    delta_high: float
    ratio: float
    """adapter loss / base loss (below 1: the adapter is better)."""
    ratio_low: float
    ratio_high: float
    level: float
    n_examples: int
    method: str


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
    improvement: Improvement | None = None
    """Against the base model on the same validation conversations; None when the run's
    validation set differs from the base measurement's (other max_length, subset or seed)."""


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
    base: BaseValidation | None = None
    """The base model's validation loss (the reference line), once measured."""

    def row(self, name: str) -> SweepRow | None:
        return next((r for r in self.runs if r.name == name), None)


CSV_COLUMNS = ("name", "r", "alpha", "dropout", "lr", "targets", "trainable_params", "best_val_loss",
               "loss_ratio_to_base", "duration_s", "tokens_per_s", "energy_kwh", "j_per_train_token", "energy_method")
"""sweep.csv: the columns of a SweepRow a spreadsheet shows."""
