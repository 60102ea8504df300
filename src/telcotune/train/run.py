"""One LoRA training run: `train_run(data_dir, out_dir, cfg, model_spec)`.

What happens, in order:
1. skip when RUN_DIR/manifest.json is current (same train settings, model spec, data files);
2. load the base model, check every LoRA target exists (ConfigError listing the model's linear
   modules otherwise), tokenize (or take the sweep's tokenized data), wrap with a fresh LoRA;
3. resume from RUN_DIR/checkpoint/ when it belongs to this same run, else start at step 0;
4. train: length-grouped micro-batches (`batching.py`); bf16 autocast where the hardware has
   it and it is really faster there (`precision.resolve_precision`), fp32 master weights, the
   choice fixed for the whole run; gradient accumulation with the loss averaged over all
   assistant tokens of the optimizer step; gradient clipping at 1.0; AdamW on the LoRA
   parameters only; linear warmup then cosine/linear/constant; validation every `eval_every`
   steps and at the end; a checkpoint every `save_every` steps (written to a temporary
   folder, then renamed). Threads: every CPU the process may use (one for tiny models);
   glibc keeps freed memory (`precision.keep_freed_memory`: no page faults every step);
5. write adapter/, metrics.json, energy.json (config.json and metrics.jsonl are written as it
   goes), then manifest.json last, then delete the checkpoint.

Loss: logits are computed only at the positions whose next token is an assistant token, in
chunks, never all stored (`loss.py`; the LM head over a 49k vocabulary is a fifth of the model's
FLOPs and, stored, most of its activation memory), for model types whose head is a plain linear
layer; other models go through their full forward.

Checkpoint (RUN_DIR/checkpoint/: state.pt and state.json): LoRA weights, AdamW and scheduler
state, RNG states (torch, python), the step (the data position is step x grad_accum
micro-batches into a stream whose order depends only on seed and epoch), the metrics rows so
far, best validation loss and early-stopping counter (and best weights), energy readings, the
resolved precision, and the run identity (config hash, input hashes): a checkpoint of other
settings is discarded. A resumed run ends with the same adapter, bit for bit, as an
uninterrupted one (tested with dropout, fp32 and bf16); rows logged after the checkpoint are
dropped from metrics.jsonl and redone.

Early stopping (`early_stopping: N`): training stops after N validations without improvement
and adapter/ holds the weights of the best validation loss (like `load_best_model_at_end`).
Without early stopping, adapter/ holds the final weights. metrics.json says which:
`adapter_step`, and records both `best_val_loss`/`best_step` and `final_val_loss`.
"""

from __future__ import annotations

import math
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..config import TrainConfig
from ..energy.base import Meter
from ..errors import DataError
from ..fsio import JsonlAppender, read_json, replace_dir, write_json, write_jsonl
from ..manifest import hash_inputs, hash_obj, is_current, now_iso, write_manifest
from ..models import load_model, load_tokenizer, resolve_model
from ..paths import DataPaths, RunPaths
from .batching import MicroBatchStream, collate, eval_batches, select
from .lora import add_lora, check_targets, count_params, linear_module_names
from .loss import LossFn
from .metering import PhaseMeter, default_meter, write_run_energy
from .precision import (
    cpu_has_bf16, keep_freed_memory, matmul_probe, pick_device, resolve_precision, use_threads,
)
from .progress import StepProgress
from .tokenize import TokenizedData, tokenize_data

STAGE = "train"
TRAIN_VERSION = 1
"""Bumped when the training procedure changes what a run produces (invalidates manifests)."""
MAX_GRAD_NORM = 1.0


# ---------------------------------------------------------------- identity


def train_settings(cfg: TrainConfig) -> dict[str, Any]:
    """The TrainConfig fields of `cfg` (a SweepRun's name is not a training setting)."""
    return {k: v for k, v in cfg.model_dump(mode="json").items() if k in TrainConfig.model_fields}


def as_train_config(cfg: TrainConfig) -> TrainConfig:
    return TrainConfig.model_validate(train_settings(cfg))


def data_inputs(data_dir: Path) -> dict[str, str]:
    data = DataPaths(Path(data_dir).resolve())
    files = [data.split("train"), data.split("val")]
    for f in files:
        if not f.is_file():
            raise DataError(f"{f}: file not found (run `telcotune data` first)")
    return hash_inputs(files)


def run_config_hash(cfg: TrainConfig, model_spec: str) -> str:
    return hash_obj({"train": train_settings(cfg), "model": model_spec, "version": TRAIN_VERSION})


def run_is_current(out_dir: Path, cfg: TrainConfig, model_spec: str, inputs: dict[str, str]) -> bool:
    return is_current(Path(out_dir), STAGE, run_config_hash(cfg, model_spec), inputs)


# ---------------------------------------------------------------- schedule and seeds


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


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(_tuplify(state["python"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _tuplify(x):
    return tuple(_tuplify(v) for v in x) if isinstance(x, (list, tuple)) else x


# ---------------------------------------------------------------- state and checkpoints


@dataclass
class State:
    step: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    tokens_seen: int = 0
    target_tokens: int = 0
    padded_tokens: int = 0
    train_time_s: float = 0.0
    val_time_s: float = 0.0
    duration_s: float = 0.0
    best_val_loss: float | None = None
    best_step: int | None = None
    bad_evals: int = 0
    stopped_early: bool = False
    energy: dict[str, list[dict]] = field(default_factory=dict)
    sessions: int = 0
    precision: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _trainable(model) -> dict[str, torch.nn.Parameter]:
    return {n: p for n, p in model.named_parameters() if p.requires_grad}


def save_checkpoint(paths: RunPaths, identity: dict[str, Any], state: State, model, optimizer,
                    scheduler, best_weights: dict[str, torch.Tensor] | None) -> None:
    """Everything a resume needs, in RUN_DIR/checkpoint/, replaced atomically."""
    tmp = Path(tempfile.mkdtemp(prefix=".checkpoint.", dir=paths.root))
    try:
        torch.save({
            "trainable": {n: p.detach().cpu().clone() for n, p in _trainable(model).items()},
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": rng_state(),
            "best_weights": best_weights,
        }, tmp / "state.pt")
        write_json(tmp / "state.json", {**identity, "state": state.to_json()})
        replace_dir(tmp, paths.checkpoint)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load_checkpoint(paths: RunPaths, identity: dict[str, Any]) -> tuple[State, dict[str, Any]] | None:
    """The checkpoint's state if it belongs to this run (same config and inputs), else None."""
    folder = paths.checkpoint
    if not (folder / "state.json").is_file() or not (folder / "state.pt").is_file():
        return None
    try:
        meta = read_json(folder / "state.json")
        if any(meta.get(k) != v for k, v in identity.items()):
            return None
        tensors = torch.load(folder / "state.pt", weights_only=True)
        state = State(**meta["state"])
    except Exception:  # torn, foreign or from another version: start over
        return None
    return state, tensors


# ---------------------------------------------------------------- the run


def train_run(
    data_dir: str | Path,
    out_dir: str | Path,
    cfg: TrainConfig,
    model_spec: str,
    *,
    meter: Meter | None = None,
    tokenized: TokenizedData | None = None,
    progress: bool = True,
    on_step: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Train one LoRA adapter on DATA_DIR/train.jsonl (validated on val.jsonl) into OUT_DIR.

    Returns the run's metrics (the content of OUT_DIR/metrics.json). Skipped (metrics read back)
    when OUT_DIR/manifest.json is current; resumed when OUT_DIR/checkpoint/ is from this run.
    `meter`: energy meter (default: the default energy settings' meter). `tokenized`: data
    already tokenized with this model's tokenizer (the sweep passes it). `on_step(step)` is
    called after every optimizer step and its checkpoint (tests interrupt runs with it).
    """
    started_at = now_iso()
    t_start = time.perf_counter()
    cfg = as_train_config(cfg)
    paths = RunPaths(Path(out_dir))
    data_dir = Path(data_dir).resolve()
    inputs = data_inputs(data_dir)
    config_hash = run_config_hash(cfg, model_spec)
    if is_current(paths.root, STAGE, config_hash, inputs):
        shutil.rmtree(paths.checkpoint, ignore_errors=True)
        return read_json(paths.metrics)

    folder = resolve_model(model_spec)
    device = pick_device()
    model = load_model(folder)
    if device.type == "cpu":
        threads = use_threads(count_params(model)[1])
        keep_freed_memory()
    else:
        threads = torch.get_num_threads()
    model.config.use_cache = False
    check_targets(cfg.target_modules(), linear_module_names(model), f"model {model_spec!r}")
    if tokenized is None:
        tokenized = tokenize_data(data_dir, load_tokenizer(folder))
    train_ex = select(tokenized.train, cfg.max_length, cfg.max_train_examples, cfg.seed)
    val_ex = select(tokenized.val, cfg.max_length, cfg.max_val_examples, cfg.seed)
    for name, ex in (("train", train_ex), ("val", val_ex)):
        if len(ex) == 0:
            raise DataError(f"{data_dir / (name + '.jsonl')}: no conversation has an assistant token "
                            f"within max_length={cfg.max_length}")

    paths.root.mkdir(parents=True, exist_ok=True)
    identity = {"config_hash": config_hash, "inputs": inputs}
    stream = MicroBatchStream(train_ex, cfg.batch_size, cfg.seed, tokenized.pad_id)
    total_steps = cfg.max_steps or max(1, math.ceil(cfg.epochs * stream.per_epoch / cfg.grad_accum))
    warmup = math.ceil(cfg.warmup_ratio * total_steps)

    seed_everything(cfg.seed)
    model = add_lora(model, cfg).to(device)
    model.train()
    params = _trainable(model)
    trainable_params, total_params = count_params(model)
    optimizer = torch.optim.AdamW(list(params.values()), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(cfg.schedule, warmup, total_steps))

    best_weights: dict[str, torch.Tensor] | None = None
    resumed = load_checkpoint(paths, identity)
    if resumed is not None:
        state, tensors = resumed
        with torch.no_grad():
            for n, t in tensors["trainable"].items():
                params[n].copy_(t)
        optimizer.load_state_dict(tensors["optimizer"])
        scheduler.load_state_dict(tensors["scheduler"])
        best_weights = tensors.get("best_weights")
        set_rng_state(tensors["rng"])
    else:
        state = State()
        shutil.rmtree(paths.checkpoint, ignore_errors=True)
        paths.manifest.unlink(missing_ok=True)
    state.sessions += 1
    # `auto` is resolved once per run: a resumed run keeps the precision it started with.
    precision = state.precision = state.precision or resolve_precision(cfg.precision, device)
    probe = matmul_probe() if cfg.precision == "auto" and device.type == "cpu" and cpu_has_bf16() else None
    write_jsonl(paths.metrics_log, state.history)  # drops rows logged after the checkpoint
    write_json(paths.config, {
        "train": train_settings(cfg), "model": model_spec, "model_path": str(folder),
        "data_dir": str(data_dir), "data_hash": hash_obj(inputs), "config_hash": config_hash,
        "precision": precision, "precision_probe": probe, "device": str(device), "threads": threads,
        "total_steps": total_steps, "warmup_steps": warmup, "train_examples": len(train_ex),
        "val_examples": len(val_ex), "batches_per_epoch": stream.per_epoch,
        "max_grad_norm": MAX_GRAD_NORM, "train_version": TRAIN_VERSION,
    })

    loss_fn = LossFn(model, device, precision)
    val_batches = [collate(val_ex, pos, tokenized.pad_id) for pos in eval_batches(val_ex, cfg.batch_size)]
    val_targets = sum(b.n_targets for b in val_batches)
    phases = PhaseMeter(meter if meter is not None else default_meter(), state.energy)
    setup_s = time.perf_counter() - t_start

    def validate() -> float:
        t0 = time.perf_counter()
        phases.begin("validation")
        model.eval()
        total = torch.zeros((), dtype=torch.float64)
        with torch.inference_mode():
            for b in val_batches:
                total += loss_fn(b.input_ids, b.targets).double().cpu()
        model.train()
        phases.begin("training")
        state.val_time_s += time.perf_counter() - t0
        return float(total) / val_targets

    session_start = time.perf_counter()
    duration_before = state.duration_s
    label = paths.root.name
    try:
        phases.begin("training")
        with JsonlAppender(paths.metrics_log) as log, \
                StepProgress(label, total_steps, state.step, enabled=progress) as bar:
            while state.step < total_steps and not state.stopped_early:
                t0 = time.perf_counter()
                first = state.step * cfg.grad_accum
                batches = [stream.batch(first + j) for j in range(cfg.grad_accum)]
                n_targets = sum(b.n_targets for b in batches)
                lr = scheduler.get_last_lr()[0]
                loss_sum = torch.zeros((), dtype=torch.float64)
                for b in batches:
                    loss = loss_fn(b.input_ids, b.targets)
                    (loss / n_targets).backward()
                    loss_sum += loss.detach().double().cpu()
                grad_norm = torch.nn.utils.clip_grad_norm_(list(params.values()), MAX_GRAD_NORM)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                state.step += 1
                dt = time.perf_counter() - t0
                tokens = sum(b.n_tokens for b in batches)
                state.train_time_s += dt
                state.tokens_seen += tokens
                state.target_tokens += n_targets
                state.padded_tokens += sum(b.input_ids.numel() - b.n_tokens for b in batches)
                row: dict[str, Any] = {
                    "step": state.step, "train_loss": float(loss_sum) / n_targets, "lr": lr,
                    "grad_norm": float(grad_norm), "tokens_seen": state.tokens_seen,
                    "tokens_per_s": tokens / dt if dt > 0 else None,
                }
                if state.step % cfg.eval_every == 0 or state.step == total_steps:
                    val_loss = validate()
                    row["val_loss"] = val_loss
                    row["val_perplexity"] = _exp(val_loss)
                    if state.best_val_loss is None or val_loss < state.best_val_loss:
                        state.best_val_loss, state.best_step, state.bad_evals = val_loss, state.step, 0
                        if cfg.early_stopping:
                            best_weights = {n: p.detach().cpu().clone() for n, p in params.items()}
                    else:
                        state.bad_evals += 1
                        if cfg.early_stopping and state.bad_evals >= cfg.early_stopping:
                            state.stopped_early = True
                state.history.append(row)
                log.write(row)
                bar.update(state.step, row["train_loss"], row["tokens_per_s"] or 0.0, row.get("val_loss"))
                if state.step % cfg.save_every == 0 and state.step < total_steps and not state.stopped_early:
                    phases.end()
                    state.energy = phases.to_json()
                    state.duration_s = duration_before + time.perf_counter() - session_start
                    save_checkpoint(paths, identity, state, model, optimizer, scheduler, best_weights)
                    phases.begin("training")
                if on_step is not None:
                    on_step(state.step)
        phases.end()
    except BaseException:
        phases.abandon()
        raise

    if cfg.early_stopping and best_weights is not None and state.best_step != state.step:
        with torch.no_grad():
            for n, t in best_weights.items():
                params[n].copy_(t)
        adapter_step = state.best_step
    else:
        adapter_step = state.step
    tmp = Path(tempfile.mkdtemp(prefix=".adapter.", dir=paths.root))
    try:
        model.save_pretrained(tmp)
        replace_dir(tmp, paths.adapter)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    state.duration_s = duration_before + time.perf_counter() - session_start

    final_val = next((r["val_loss"] for r in reversed(state.history) if "val_loss" in r), None)
    metrics = {
        "best_val_loss": state.best_val_loss,
        "best_step": state.best_step,
        "final_val_loss": final_val,
        "val_perplexity": _exp(state.best_val_loss),
        "final_val_perplexity": _exp(final_val),
        "adapter_step": adapter_step,
        "train_tokens": state.tokens_seen,
        "train_target_tokens": state.target_tokens,
        "pad_fraction": state.padded_tokens / max(1, state.padded_tokens + state.tokens_seen),
        "val_tokens": val_targets,
        "trainable_params": trainable_params,
        "total_params": total_params,
        "duration_s": state.duration_s,
        "train_time_s": state.train_time_s,
        "val_time_s": state.val_time_s,
        "setup_s": setup_s,
        "tokens_per_s": state.tokens_seen / state.train_time_s if state.train_time_s > 0 else None,
        "steps": state.step,
        "total_steps": total_steps,
        "stopped_early": state.stopped_early,
        "precision": precision,
        "precision_probe": probe,
        "device": str(device),
        "threads": threads,
        "train_examples": len(train_ex),
        "val_examples": len(val_ex),
        "sessions": state.sessions,
    }
    write_json(paths.metrics, metrics)
    energy = write_run_energy(paths.energy, phases, state.tokens_seen)
    write_manifest(
        paths.root, STAGE, config_hash, inputs, started_at,
        outputs=["adapter", "metrics.jsonl", "metrics.json", "energy.json", "config.json"],
        extra={"model": model_spec, "steps": state.step, "energy_method": energy.get("method")},
    )
    shutil.rmtree(paths.checkpoint, ignore_errors=True)
    return metrics


def _exp(x: float | None) -> float | None:
    if x is None:
        return None
    return math.exp(x) if x < 700 else float("inf")
