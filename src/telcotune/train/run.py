"""One LoRA training run: `train_run(data_dir, out_dir, cfg, model)`, in the litgpt manner:
`prepare` (data, model, optimizer) -> `resume` (checkpoint or a fresh start) -> `fit` (the
loop, with `validate`) -> `finalize` (adapter, metrics, energy; the manifest last).

- Skipped when RUN_DIR/manifest.json is current (same train settings, model spec, data files,
  and outputs intact); resumed from RUN_DIR/checkpoint/ when it belongs to this same run.
- Every LoRA target must exist (ConfigError listing the model's linear modules otherwise);
  `targets` is resolved once to its module list, stored in config.json.
- Length-grouped micro-batches (`batching.py`); bf16 autocast where the hardware has it and it
  is really faster there (`precision.resolve_precision`), fp32 master weights, the choice fixed
  for the whole run; gradient accumulation with the loss averaged over all assistant tokens of
  the optimizer step; gradient clipping at 1.0; fused AdamW on the LoRA parameters only; linear
  warmup then cosine/linear/constant; validation every `eval_every` steps and at the end (per
  conversation, `validation.py`; the best step's losses in val_losses.json, to pair with the
  base model's); a
  checkpoint every `save_every` steps (`state.py`). Threads: every CPU the process may use (one
  for tiny models); glibc keeps freed memory (no page faults every step).

Loss: logits are computed only at the positions whose next token is an assistant token, in
chunks, never all stored (`loss.py`; the LM head over a 49k vocabulary is a fifth of the model's
FLOPs and, stored, most of its activation memory), for model types whose head is a plain linear
layer; other models go through their full forward.

A resumed run ends with the same adapter, bit for bit, as an uninterrupted one (tested with
dropout, fp32 and bf16); rows logged after the checkpoint are dropped from metrics.jsonl and
redone. Early stopping (`early_stopping: N`): training stops after N validations without
improvement and adapter/ holds the weights of the best validation loss (metrics.json's
`adapter_step` says which); without it, adapter/ holds the final weights.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from ..artifacts.io import RowAppender, read_record, write_record, write_rows
from ..artifacts.run import TRAIN_STAGE, ExampleLosses, MetricsRow, RunConfig, RunMetrics
from ..config import PLACEMENT_KEYS, TrainConfig
from ..energy.base import Meter
from ..errors import DataError, StageError
from ..fsio import atomic_dir
from ..manifest import StageRun, hash_inputs, hash_obj
from ..models import ModelRef, adapter_base_name
from ..paths import DataPaths, RunPaths
from .batching import Examples, MicroBatchStream, select
from .lora import add_lora, count_params, model_targets
from .loss import LossFn
from .metering import PhaseMeter, default_meter, write_run_energy
from .precision import (cpu_has_bf16, keep_freed_memory, matmul_probe, pick_device, resolve_precision, use_sdpa,
                        use_threads)
from .progress import StepProgress
from .state import State, load_checkpoint, save_checkpoint, seed_everything, set_rng_state, rng_state
from .tokenize import TokenizedData, tokenize_data
from .validation import ValSet, build_val_set, example_losses, select_val

STAGE = TRAIN_STAGE
TRAIN_VERSION = 3
"""Bumped when the training procedure changes what a run produces (invalidates manifests).
2: validation per conversation (val_losses.json); 3: fused AdamW (the same update, rounded
differently)."""
FUSED_ADAMW_DEVICES = ("cpu", "cuda")
MAX_GRAD_NORM = 1.0
RUN_OUTPUTS = ("adapter", "metrics.jsonl", "metrics.json", "energy.json", "config.json", "val_losses.json")
console = Console(stderr=True, soft_wrap=True)


class TrainingDiverged(StageError):
    """The loss became NaN or infinite."""


# ---------------------------------------------------------------- identity


def train_settings(cfg: TrainConfig) -> dict[str, Any]:
    """The TrainConfig fields of `cfg` (a SweepRun's name is not a training setting)."""
    return {k: v for k, v in cfg.model_dump(mode="json").items() if k in TrainConfig.model_fields}


def as_train_config(cfg: TrainConfig) -> TrainConfig:
    return TrainConfig.model_validate(train_settings(cfg))


def data_inputs(data_dir: Path, run_dir: Path) -> dict[str, str]:
    """Hashes of the training and validation files, keyed relative to the run folder."""
    data = DataPaths(Path(data_dir))
    files = [data.split("train"), data.split("val")]
    for f in files:
        if not f.is_file():
            raise DataError(f"{f}: file not found (run `telcotune data` first)")
    return hash_inputs(files, base=run_dir)


def run_config_hash(cfg: TrainConfig, model_spec: str) -> str:
    trained = {k: v for k, v in train_settings(cfg).items() if k not in PLACEMENT_KEYS}
    return hash_obj({"train": trained, "model": model_spec, "version": TRAIN_VERSION})


def run_stage(run_dir: Path, cfg: TrainConfig, model_spec: str, data_dir: Path) -> StageRun:
    """The run's stage skeleton: `.current` says whether it is finished for these settings."""
    return StageRun(run_dir, STAGE, run_config_hash(cfg, model_spec), data_inputs(data_dir, run_dir))


def lr_factor(schedule: str, warmup: int, total: int) -> Callable[[int], float]:
    """LR multiplier for 0-based optimizer step `s`: linear warmup to 1 over `warmup` steps
    (never 0), then cosine or linear decay towards 0 at `total`, or constant."""

    def factor(s: int) -> float:
        if s < warmup:
            return (s + 1) / (warmup + 1)
        if schedule == "constant":
            return 1.0
        p = min(1.0, (s - warmup) / max(1, total - warmup))
        return 0.5 * (1.0 + math.cos(math.pi * p)) if schedule == "cosine" else 1.0 - p

    return factor


def _exp(x: float | None) -> float | None:
    if x is None:
        return None
    return math.exp(x) if x < 700 else float("inf")


# ---------------------------------------------------------------- prepare


@dataclass
class Setup:
    """Everything a run needs, prepared before the first step."""

    cfg: TrainConfig
    paths: RunPaths
    model_ref: ModelRef
    model_dir: Path
    data_dir: Path
    identity: dict[str, Any]
    device: torch.device
    threads: int
    target_modules: list[str]
    model: Any
    params: dict[str, torch.nn.Parameter]
    optimizer: torch.optim.Optimizer
    scheduler: Any
    stream: MicroBatchStream
    train_ex: Examples
    val_ex: Examples
    val: ValSet
    total_steps: int = 0
    warmup_steps: int = 0
    trainable_params: int = 0
    total_params: int = 0

    @property
    def val_targets(self) -> int:
        return self.val.n_targets


def _examples(tokenized: TokenizedData, cfg: TrainConfig, data_dir: Path) -> tuple[Examples, Examples]:
    train_ex = select(tokenized.train, cfg.max_length, cfg.max_train_examples, cfg.seed)
    val_ex = select_val(tokenized.val, cfg)
    for name, ex in (("train", train_ex), ("val", val_ex)):
        if len(ex) == 0:
            raise DataError(f"{DataPaths(data_dir).split(name)}: no conversation has an assistant token "
                            f"within max_length={cfg.max_length}")
    return train_ex, val_ex


def prepare(data_dir: Path, paths: RunPaths, cfg: TrainConfig, model_ref: ModelRef, identity: dict[str, Any],
            tokenized: TokenizedData | None) -> Setup:
    """Load the base model, check and resolve the targets, tokenize (or take the sweep's tokens),
    wrap a fresh LoRA, build the optimizer and schedule."""
    model_dir = model_ref.resolve()
    device = pick_device()
    model = model_ref.load_model(model_dir)
    if device.type == "cpu":
        threads = use_threads(count_params(model)[1])
        keep_freed_memory()
    else:
        threads = torch.get_num_threads()
    model.config.use_cache = False
    use_sdpa(model, device)
    modules = model_targets(model, cfg.targets, f"model {model_ref.spec!r}")
    if tokenized is None:
        tokenized = tokenize_data(data_dir, model_ref.load_tokenizer(model_dir))
    train_ex, val_ex = _examples(tokenized, cfg, data_dir)
    stream = MicroBatchStream(train_ex, cfg.batch_size, cfg.seed, tokenized.pad_id)
    total_steps = cfg.max_steps or max(1, math.ceil(cfg.epochs * stream.per_epoch / cfg.grad_accum))
    warmup = math.ceil(cfg.warmup_ratio * total_steps)

    seed_everything(cfg.seed)
    model = add_lora(model, cfg, modules).to(device)
    model.train()
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    trainable, total = count_params(model)
    # Fused: one kernel over all LoRA tensors instead of ~10 small ops per tensor and step (on a
    # CPU the unfused AdamW defaults to a Python loop over the 100+ tensors: measured 0.4 s
    # against 5 s per step on a busy 2-core machine).
    optimizer = torch.optim.AdamW(list(params.values()), lr=cfg.lr, weight_decay=cfg.weight_decay,
                                  fused=device.type in FUSED_ADAMW_DEVICES)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(cfg.schedule, warmup, total_steps))
    val = build_val_set(val_ex, cfg.batch_size, tokenized.pad_id)
    return Setup(cfg, paths, model_ref, model_dir, data_dir, identity, device, threads, modules, model, params,
                 optimizer, scheduler, stream, train_ex, val_ex, val, total_steps, warmup, trainable, total)


# ---------------------------------------------------------------- resume


def resume(setup: Setup) -> tuple[State, dict[str, torch.Tensor] | None]:
    """The checkpoint's state and best weights, restored into the model and optimizer; a fresh
    state (and no old checkpoint) otherwise."""
    checkpoint, unreadable = load_checkpoint(setup.paths, setup.identity)
    if unreadable:
        console.print(f"{setup.paths.name}: {unreadable}; starting from step 0", highlight=False)
    if checkpoint is None:
        shutil.rmtree(setup.paths.checkpoint, ignore_errors=True)
        return State(), None
    tensors = checkpoint.tensors
    with torch.no_grad():
        for n, t in tensors["trainable"].items():
            setup.params[n].copy_(t)
    setup.optimizer.load_state_dict(tensors["optimizer"])
    setup.scheduler.load_state_dict(tensors["scheduler"])
    set_rng_state(tensors["rng"])
    return checkpoint.state, tensors.get("best_weights")


def write_run_config(setup: Setup, precision: str, probe: dict[str, float] | None) -> None:
    s = setup
    write_record(s.paths.config, RunConfig(
        train=s.cfg, target_modules=s.target_modules, model=s.model_ref.spec,
        trust_remote_code=s.model_ref.trust_remote_code, model_path=str(s.model_dir), data_dir=str(s.data_dir),
        data_hash=hash_obj(s.identity["inputs"]), config_hash=s.identity["config_hash"], precision=precision,
        precision_probe=probe, device=str(s.device), threads=s.threads, total_steps=s.total_steps,
        warmup_steps=s.warmup_steps, train_examples=len(s.train_ex), val_examples=len(s.val_ex),
        batches_per_epoch=s.stream.per_epoch, max_grad_norm=MAX_GRAD_NORM, train_version=TRAIN_VERSION))


# ---------------------------------------------------------------- fit


class Fit:
    """The training loop of one session, from the state's step to the last step (or an early
    stop), validating and checkpointing as configured."""

    def __init__(self, setup: Setup, state: State, best_weights: dict[str, torch.Tensor] | None,
                 precision: str, meter: Meter):
        self.s, self.state, self.best_weights = setup, state, best_weights
        self.loss_fn = LossFn(setup.model, setup.device, precision)
        self.phases = PhaseMeter(meter, state.energy)

    def validate(self) -> ExampleLosses:
        """Every validation conversation's loss; their token-weighted mean is the validation loss."""
        t0 = time.perf_counter()
        self.phases.begin("validation")
        self.s.model.eval()
        losses = example_losses(self.loss_fn, self.s.val, self.state.step)
        self.s.model.train()
        self.phases.begin("training")
        self.state.val_time_s += time.perf_counter() - t0
        return losses

    def step(self) -> MetricsRow:
        """One optimizer step over `grad_accum` micro-batches; validates when due."""
        s, state = self.s, self.state
        t0 = time.perf_counter()
        first = state.step * s.cfg.grad_accum
        batches = [s.stream.batch(first + j) for j in range(s.cfg.grad_accum)]
        n_targets = sum(b.n_targets for b in batches)
        lr = s.scheduler.get_last_lr()[0]
        loss_sum = torch.zeros((), dtype=torch.float64)
        for b in batches:
            loss = self.loss_fn(b.input_ids, b.targets)
            (loss / n_targets).backward()
            loss_sum += loss.detach().double().cpu()
        grad_norm = torch.nn.utils.clip_grad_norm_(list(s.params.values()), MAX_GRAD_NORM)
        s.optimizer.step()
        s.scheduler.step()
        s.optimizer.zero_grad(set_to_none=True)
        state.step += 1
        dt = time.perf_counter() - t0
        tokens = sum(b.n_tokens for b in batches)
        state.train_time_s += dt
        state.tokens_seen += tokens
        state.target_tokens += n_targets
        state.padded_tokens += sum(b.input_ids.numel() - b.n_tokens for b in batches)
        row = {"step": state.step, "train_loss": float(loss_sum) / n_targets, "lr": lr,
               "grad_norm": float(grad_norm), "tokens_seen": state.tokens_seen,
               "tokens_per_s": tokens / dt if dt > 0 else None}
        if state.step % s.cfg.eval_every == 0 or state.step == s.total_steps:
            row.update(self._validation_row())
        return MetricsRow(**row)

    def _validation_row(self) -> dict[str, float | None]:
        s, state = self.s, self.state
        losses = self.validate()
        val_loss = losses.mean_loss
        if state.best_val_loss is None or val_loss < state.best_val_loss:
            state.best_val_loss, state.best_step, state.bad_evals = val_loss, state.step, 0
            state.best_losses = losses.model_dump(mode="json")
            if s.cfg.early_stopping:
                self.best_weights = {n: p.detach().cpu().clone() for n, p in s.params.items()}
        else:
            state.bad_evals += 1
            if s.cfg.early_stopping and state.bad_evals >= s.cfg.early_stopping:
                state.stopped_early = True
        return {"val_loss": val_loss, "val_perplexity": _exp(val_loss)}

    def checkpoint(self, duration_s: float) -> None:
        s, state = self.s, self.state
        self.phases.end()
        state.energy = self.phases.to_json()
        state.duration_s = duration_s
        save_checkpoint(s.paths, s.identity, state, {
            "trainable": {n: p.detach().cpu().clone() for n, p in s.params.items()},
            "optimizer": s.optimizer.state_dict(), "scheduler": s.scheduler.state_dict(),
            "rng": rng_state(), "best_weights": self.best_weights})
        self.phases.begin("training")

    def run(self, progress: bool, on_step: Callable[[int], None] | None) -> None:
        s, state = self.s, self.state
        session_start = time.perf_counter()
        duration_before = state.duration_s
        try:
            self.phases.begin("training")
            with RowAppender(s.paths.metrics_log, exclude_none=True) as log, \
                    StepProgress(s.paths.name, s.total_steps, state.step, enabled=progress) as bar:
                while state.step < s.total_steps and not state.stopped_early:
                    row = self.step()
                    _check_finite(s.paths.name, row)
                    state.history.append(row.model_dump(mode="json", exclude_none=True))
                    log.write(row)
                    bar.update(state.step, row.train_loss, row.tokens_per_s or 0.0, row.val_loss)
                    if state.step % s.cfg.save_every == 0 and state.step < s.total_steps and not state.stopped_early:
                        self.checkpoint(duration_before + time.perf_counter() - session_start)
                    if on_step is not None:
                        on_step(state.step)
            self.phases.end()
        except BaseException:
            self.phases.abandon()
            raise
        state.duration_s = duration_before + time.perf_counter() - session_start


def _check_finite(run: str, row: MetricsRow) -> None:
    """A loss that is no longer a number ends the run: nothing after it could be trusted, and the
    run must not be marked finished (lr or data far off usually)."""
    for name, value in (("training", row.train_loss), ("validation", row.val_loss)):
        if value is not None and not math.isfinite(value):
            raise TrainingDiverged(f"run {run}: the {name} loss became {value} at step {row.step} "
                                   f"(learning rate {row.lr:g}); the run is not marked finished")


# ---------------------------------------------------------------- finalize


def finalize(setup: Setup, fit: Fit, precision: str, probe: dict[str, float] | None, setup_s: float) -> RunMetrics:
    """adapter/ (the best weights under early stopping), metrics.json and energy.json."""
    s, state = setup, fit.state
    if s.cfg.early_stopping and fit.best_weights is not None and state.best_step != state.step:
        with torch.no_grad():
            for n, t in fit.best_weights.items():
                s.params[n].copy_(t)
        adapter_step = state.best_step
    else:
        adapter_step = state.step
    for peft_config in s.model.peft_config.values():
        # PEFT holds target modules as a set, listed in an order that varies with each process's
        # hash seed: sorted, the adapter is the same file from every process (Ray workers too)
        peft_config.target_modules = sorted(peft_config.target_modules)
        peft_config.base_model_name_or_path = adapter_base_name(s.model_ref.spec)  # not the local folder
    with atomic_dir(s.paths.adapter) as tmp:
        # LoRA never targets the embeddings (only linear modules), so PEFT's "auto" check, which
        # asks the hub about base_model_name_or_path, is skipped: no network call at save.
        s.model.save_pretrained(tmp, save_embedding_layers=False)
    final_val = next((r["val_loss"] for r in reversed(state.history) if "val_loss" in r), None)
    metrics = RunMetrics(
        best_val_loss=state.best_val_loss, best_step=state.best_step, final_val_loss=final_val,
        val_perplexity=_exp(state.best_val_loss), final_val_perplexity=_exp(final_val), adapter_step=adapter_step,
        train_tokens=state.tokens_seen, train_target_tokens=state.target_tokens,
        pad_fraction=state.padded_tokens / max(1, state.padded_tokens + state.tokens_seen),
        val_tokens=s.val_targets, trainable_params=s.trainable_params, total_params=s.total_params,
        duration_s=state.duration_s, train_time_s=state.train_time_s, val_time_s=state.val_time_s, setup_s=setup_s,
        tokens_per_s=state.tokens_seen / state.train_time_s if state.train_time_s > 0 else None,
        steps=state.step, total_steps=s.total_steps, stopped_early=state.stopped_early, precision=precision,
        precision_probe=probe, device=str(s.device), threads=s.threads, train_examples=len(s.train_ex),
        val_examples=len(s.val_ex), sessions=state.sessions)
    write_record(s.paths.metrics, metrics)
    write_record(s.paths.val_losses, ExampleLosses.model_validate(state.best_losses))
    write_run_energy(s.paths.energy, fit.phases, state.tokens_seen)
    return metrics


# ---------------------------------------------------------------- the run


def train_run(
    data_dir: str | Path,
    out_dir: str | Path,
    cfg: TrainConfig,
    model: ModelRef,
    *,
    meter: Meter | None = None,
    tokenized: TokenizedData | None = None,
    progress: bool = True,
    on_step: Callable[[int], None] | None = None,
) -> RunMetrics:
    """Train one LoRA adapter on DATA_DIR/train.jsonl (validated on val.jsonl) into OUT_DIR.

    Returns the run's metrics (OUT_DIR/metrics.json). Skipped (metrics read back) when the run is
    current; resumed when OUT_DIR/checkpoint/ is from this run. `meter`: energy meter (default:
    the default energy settings' meter). `tokenized`: data already tokenized with this model's
    tokenizer (the sweep passes it). `on_step(step)` is called after every optimizer step and
    its checkpoint (tests interrupt runs with it).
    """
    t_start = time.perf_counter()
    cfg = as_train_config(cfg)
    paths = RunPaths(Path(out_dir))
    data_dir = Path(data_dir).resolve()
    stage = run_stage(paths.root, cfg, model.spec, data_dir)
    if stage.current:
        shutil.rmtree(paths.checkpoint, ignore_errors=True)
        return read_record(paths.metrics, RunMetrics)

    identity = {"config_hash": stage.config_hash, "inputs": stage.inputs}
    with stage:
        setup = prepare(data_dir, paths, cfg, model, identity, tokenized)
        state, best_weights = resume(setup)
        state.sessions += 1
        # `auto` is resolved once per run: a resumed run keeps the precision it started with.
        precision = state.precision = state.precision or resolve_precision(cfg.precision, setup.device)
        probe = (matmul_probe() if cfg.precision == "auto" and setup.device.type == "cpu" and cpu_has_bf16()
                 else None)
        write_rows(paths.metrics_log, [MetricsRow(**row) for row in state.history], exclude_none=True)  # drops rows after the checkpoint
        write_run_config(setup, precision, probe)
        fit = Fit(setup, state, best_weights, precision, meter if meter is not None else default_meter())
        setup_s = time.perf_counter() - t_start
        fit.run(progress, on_step)
        metrics = finalize(setup, fit, precision, probe, setup_s)
        stage.complete(RUN_OUTPUTS, extra={"model": model.spec, "steps": state.step})
    shutil.rmtree(paths.checkpoint, ignore_errors=True)
    return metrics
