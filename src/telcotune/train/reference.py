"""The base model's validation loss, measured once per sweep on the runs' validation set with the
training loss's exact mask: the reference every adapter's improvement is measured against.

SWEEP_DIR/_base/base.json (`artifacts.sweep.BaseValidation`) with its manifest: skipped when
current (same validation selection, batch size, precision setting, model spec, data files and
procedure version), measured again otherwise. A LoRA adapter starts with B = 0, so it equals
the base model before its first step (tested)."""

from __future__ import annotations

import time
from pathlib import Path

from ..artifacts.io import read_record, write_record
from ..artifacts.sweep import BaseValidation
from ..config import TrainConfig
from ..errors import DataError
from ..manifest import StageRun, hash_obj
from ..models import ModelRef
from ..paths import DataPaths, SweepPaths
from .loss import LossFn
from .precision import keep_freed_memory, pick_device, resolve_precision, use_threads
from .lora import count_params
from .run import TRAIN_VERSION, data_inputs
from .tokenize import TokenizedData, tokenize_data
from .validation import build_val_set, example_losses, select_val, val_selection

STAGE = "base"


def base_stage(sweep: SweepPaths, cfg: TrainConfig, model_spec: str, data_dir: Path) -> StageRun:
    identity = {"selection": val_selection(cfg).model_dump(), "batch_size": cfg.batch_size,
                "precision": cfg.precision, "model": model_spec, "version": TRAIN_VERSION}
    return StageRun(sweep.base, STAGE, hash_obj(identity), data_inputs(data_dir, sweep.base))


def measure_base(data_dir: Path, sweep: SweepPaths, cfg: TrainConfig, model: ModelRef,
                 tokenized: TokenizedData | None = None) -> BaseValidation:
    """The base model's validation losses for runs validated like `cfg` (read back when current)."""
    data_dir = Path(data_dir).resolve()
    stage = base_stage(sweep, cfg, model.spec, data_dir)
    if stage.current:
        return read_record(sweep.base_record, BaseValidation)
    with stage:
        t0 = time.perf_counter()
        model_dir = model.resolve()
        device = pick_device()
        net = model.load_model(model_dir)
        if device.type == "cpu":
            use_threads(count_params(net)[1])
            keep_freed_memory()
        net.config.use_cache = False
        net = net.to(device).eval()
        if tokenized is None:
            tokenized = tokenize_data(data_dir, model.load_tokenizer(model_dir), cache=sweep)
        examples = select_val(tokenized.val, cfg)
        if len(examples) == 0:
            raise DataError(f"{DataPaths(data_dir).split('val')}: no conversation has an assistant token "
                            f"within max_length={cfg.max_length}")
        val = build_val_set(examples, cfg.batch_size, tokenized.pad_id)
        precision = resolve_precision(cfg.precision, device)
        losses = example_losses(LossFn(net, device, precision), val, None)
        record = BaseValidation(model=model.spec, selection=val_selection(cfg), val_loss=losses.mean_loss,
                                val_tokens=val.n_targets, val_examples=len(val.examples), precision=precision,
                                duration_s=time.perf_counter() - t0, losses=losses)
        write_record(sweep.base_record, record)
        stage.complete([sweep.base_record.name], extra={"model": model.spec})
    return record
