"""Length-grouped micro-batches with a deterministic, resumable order.

Each epoch: a seeded permutation of the examples is cut into mega-chunks of `GROUP` batches;
inside a chunk the examples are sorted by length and cut into batches of `batch_size`, so a
batch holds sequences of nearly the same length; then the batch order is shuffled (seeded).
The order of epoch `e` depends only on (seed, e), so the position in the stream is just the
global micro-batch index, `step * grad_accum`, which is what a checkpoint records.

Batches are right-padded and sent WITHOUT an attention mask: with causal attention a real token
only attends to earlier positions, which are all real, so the padding changes nothing for real
tokens (exactly, not approximately), and sdpa takes its mask-free causal path. Padded positions
are never targets. Packing several conversations into one row would need a per-document mask,
which the eager/sdpa paths only get as a dense 4D mask: length grouping wastes a few percent of
padding instead (reported as `pad_fraction`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from .tokenize import Split

GROUP = 64
"""Batches per mega-chunk sorted by length: large enough to find similar lengths, small enough
that consecutive batches are not all long or all short."""


@dataclass
class Batch:
    input_ids: torch.Tensor  # int64 [B, L], right-padded
    targets: torch.Tensor  # bool [B, L - 1]: position t predicts token t + 1 and is in the loss
    n_tokens: int  # real (non-padding) tokens
    n_targets: int  # tokens the loss is computed on


@dataclass
class Examples:
    """A split after per-run subsetting and truncation: example views into the flat split."""

    split: Split
    index: torch.Tensor  # int64 [n]: which examples of the split
    lengths: torch.Tensor  # int64 [n]: truncated lengths
    n_targets: torch.Tensor  # int64 [n]: target tokens after truncation

    def __len__(self) -> int:
        return len(self.index)


def select(split: Split, max_length: int, limit: int | None, seed: int) -> Examples:
    """Truncate to `max_length`, drop examples left without a target token, and keep a seeded
    subset of at most `limit` examples."""
    index = torch.arange(len(split))
    if limit is not None and limit < len(index):
        g = torch.Generator().manual_seed(seed)
        index = torch.randperm(len(index), generator=g)[:limit].sort().values
    lengths = split.lengths()[index].clamp(max=max_length)
    counts = []
    for i, n in zip(index.tolist(), lengths.tolist()):
        a = int(split.offsets[i])
        counts.append(int(split.targets[a + 1:a + n].sum()))  # the first token predicts nothing
    n_targets = torch.tensor(counts, dtype=torch.int64)
    keep = n_targets > 0
    return Examples(split, index[keep], lengths[keep], n_targets[keep])


def epoch_batches(ex: Examples, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """Batches (lists of positions into `ex`) of one epoch, length-grouped and shuffled."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    perm = torch.randperm(len(ex), generator=g)
    batches: list[list[int]] = []
    chunk = batch_size * GROUP
    for c in range(0, len(perm), chunk):
        part = perm[c:c + chunk]
        order = part[torch.argsort(ex.lengths[part], descending=True, stable=True)].tolist()
        batches.extend(order[b:b + batch_size] for b in range(0, len(order), batch_size))
    shuffle = torch.randperm(len(batches), generator=g).tolist()
    return [batches[i] for i in shuffle]


def eval_batches(ex: Examples, batch_size: int) -> list[list[int]]:
    """Validation batches: sorted by length (least padding), fixed order."""
    order = torch.argsort(ex.lengths, descending=True, stable=True).tolist()
    return [order[b:b + batch_size] for b in range(0, len(order), batch_size)]


def collate(ex: Examples, positions: list[int], pad_id: int) -> Batch:
    lengths = ex.lengths[positions]
    width = int(lengths.max())
    ids = torch.full((len(positions), width), pad_id, dtype=torch.int64)
    targets = torch.zeros((len(positions), width), dtype=torch.bool)
    for row, p in enumerate(positions):
        a = int(ex.split.offsets[int(ex.index[p])])
        n = int(lengths[row])
        ids[row, :n] = ex.split.ids[a:a + n]
        targets[row, :n] = ex.split.targets[a:a + n]
    return Batch(ids, targets[:, 1:], n_tokens=int(lengths.sum()), n_targets=int(ex.n_targets[positions].sum()))


class MicroBatchStream:
    """The run's micro-batches in order, across epochs, starting at any global index."""

    def __init__(self, ex: Examples, batch_size: int, seed: int, pad_id: int):
        self.ex, self.batch_size, self.seed, self.pad_id = ex, batch_size, seed, pad_id
        self.per_epoch = (len(ex) + batch_size - 1) // batch_size
        self._epoch: int | None = None
        self._batches: list[list[int]] = []

    def positions(self, index: int) -> list[int]:
        epoch, i = divmod(index, self.per_epoch)
        if epoch != self._epoch:
            self._epoch, self._batches = epoch, epoch_batches(self.ex, self.batch_size, self.seed, epoch)
        return self._batches[i]

    def batch(self, index: int) -> Batch:
        return collate(self.ex, self.positions(index), self.pad_id)

    def iterate(self, start: int) -> Iterator[Batch]:
        index = start
        while True:
            yield self.batch(index)
            index += 1
