"""The validation set and its per-conversation losses, one definition for every run's validation
and for the base model's reference measurement, so both score the same tokens the same way."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..artifacts.run import ExampleLosses
from ..artifacts.sweep import ValSelection
from ..config import TrainConfig
from .batching import Batch, Examples, collate, eval_batches, select
from .loss import LossFn
from .tokenize import Split


def val_selection(cfg: TrainConfig) -> ValSelection:
    return ValSelection(max_length=cfg.max_length, max_val_examples=cfg.max_val_examples, seed=cfg.seed)


def select_val(split: Split, cfg: TrainConfig) -> Examples:
    """The validation conversations a run with `cfg` scores (truncated, seeded subset)."""
    sel = val_selection(cfg)
    return select(split, sel.max_length, sel.max_val_examples, sel.seed)


@dataclass
class ValSet:
    """Validation batches (length-sorted) and, for each, which positions of `examples` it holds."""

    examples: Examples
    batches: list[Batch]
    positions: list[list[int]]

    @property
    def n_targets(self) -> int:
        return sum(b.n_targets for b in self.batches)


def build_val_set(examples: Examples, batch_size: int, pad_id: int) -> ValSet:
    positions = eval_batches(examples, batch_size)
    return ValSet(examples, [collate(examples, pos, pad_id) for pos in positions], positions)


def example_losses(loss_fn: LossFn, val: ValSet, step: int | None) -> ExampleLosses:
    """Summed loss of every validation conversation, in `val.examples` order."""
    out = torch.zeros(len(val.examples), dtype=torch.float64)
    with torch.inference_mode():
        for batch, pos in zip(val.batches, val.positions):
            out[pos] = loss_fn.per_example(batch.input_ids, batch.targets)
    return ExampleLosses(examples=val.examples.index.tolist(), targets=val.examples.n_targets.tolist(),
                         loss_sum=out.tolist(), step=step)
