"""A training run's records (sweep/<run>/: config.json, metrics.jsonl rows, metrics.json) and the
one definition of "a finished run", used by the sweep, the evaluation, the report and `serve`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ..config import TrainConfig
from ..paths import RunPaths, SweepPaths
from .energy import RunEnergy
from .io import Record, read_optional, read_record
from .manifest import StageManifest

TRAIN_STAGE = "train"


class RunConfig(Record):
    """sweep/<run>/config.json: what the run was, resolved (written when training starts)."""

    train: TrainConfig
    """Every train setting of the run (targets as the user gave them)."""
    target_modules: list[str]
    """`train.targets` resolved to the module names LoRA was injected into."""
    model: str
    """The base model spec as the user gave it (embedded name, hub id or folder)."""
    trust_remote_code: bool = False
    model_path: str
    """The local folder the spec resolved to on the training machine."""
    data_dir: str
    data_hash: str
    config_hash: str
    precision: Literal["bf16", "fp32"]
    precision_probe: dict[str, float] | None
    device: str
    threads: int
    total_steps: int
    warmup_steps: int
    train_examples: int
    val_examples: int
    batches_per_epoch: int
    max_grad_norm: float
    train_version: int


class MetricsRow(Record):
    """One optimizer step in metrics.jsonl (val_* only on validation steps)."""

    step: int
    train_loss: float
    lr: float
    grad_norm: float
    tokens_seen: int
    tokens_per_s: float | None = None
    val_loss: float | None = None
    val_perplexity: float | None = None


class ExampleLosses(Record):
    """Validation losses per conversation, the basis of paired comparisons between models on the
    same validation set (sweep/<run>/val_losses.json at the best step; the base model's in
    sweep/_base/base.json)."""

    examples: list[int]
    """Row indices into val.jsonl, in the order of the lists below."""
    targets: list[int]
    """Assistant tokens scored in each conversation (after truncation to max_length)."""
    loss_sum: list[float]
    """Summed cross-entropy (nats) over each conversation's assistant tokens."""
    step: int | None
    """The optimizer step these losses were measured at (None: the base model, untrained)."""

    @property
    def mean_loss(self) -> float:
        """Token-weighted mean loss: the validation loss."""
        return sum(self.loss_sum) / sum(self.targets)


class RunMetrics(Record):
    """sweep/<run>/metrics.json: the finished run's results."""

    best_val_loss: float | None
    best_step: int | None
    final_val_loss: float | None
    val_perplexity: float | None
    final_val_perplexity: float | None
    adapter_step: int | None
    """The step whose weights adapter/ holds (the best one under early stopping)."""
    train_tokens: int
    train_target_tokens: int
    pad_fraction: float
    val_tokens: int
    trainable_params: int
    total_params: int
    duration_s: float
    train_time_s: float
    val_time_s: float
    setup_s: float
    tokens_per_s: float | None
    steps: int
    total_steps: int
    stopped_early: bool
    precision: Literal["bf16", "fp32"]
    precision_probe: dict[str, float] | None
    device: str
    threads: int
    train_examples: int
    val_examples: int
    sessions: int


@dataclass(frozen=True)
class FinishedRun:
    """A run whose manifest says training finished, with its records read and checked."""

    paths: RunPaths
    config: RunConfig
    metrics: RunMetrics
    energy: RunEnergy | None
    manifest: StageManifest

    @property
    def name(self) -> str:
        return self.paths.name

    @property
    def settings(self) -> TrainConfig:
        return self.config.train

    @property
    def val_loss(self) -> float | None:
        return self.metrics.best_val_loss

    def settings_dict(self) -> dict[str, Any]:
        return self.config.train.model_dump(mode="json")


def read_finished_run(paths: RunPaths) -> FinishedRun | None:
    """The run in `paths` if it finished, else None. Finished means: its manifest (written last)
    is a train manifest, and adapter/, config.json and metrics.json are present. A finished run
    whose files are malformed is a StageError naming the file, not a run silently skipped."""
    manifest = read_optional(paths.manifest, StageManifest)
    if manifest is None or manifest.stage != TRAIN_STAGE:
        return None
    if not (paths.adapter / "adapter_config.json").is_file():
        return None
    return FinishedRun(paths, read_record(paths.config, RunConfig), read_record(paths.metrics, RunMetrics),
                       read_optional(paths.energy, RunEnergy), manifest)


def finished_runs(sweep: SweepPaths) -> list[FinishedRun]:
    """Every finished run of a sweep folder, by name (unfinished folders are skipped)."""
    return [run for paths in sweep.run_folders() if (run := read_finished_run(paths)) is not None]
