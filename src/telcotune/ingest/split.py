"""Group splits: every conversation of a group (a ticket, customer or account) lands in the same
split, so one customer never appears in training and in evaluation. Groups are shuffled with
the seed and each goes to the split furthest below its share of conversations."""

from __future__ import annotations

import random
from collections import Counter

from ..config import SplitConfig

GROUP_SPLITS = ("train", "val", "test")


def parse_split(text: str) -> SplitConfig:
    """`0.8,0.1,0.1` -> shares of train, val, test (they must sum to 1)."""
    from pydantic import ValidationError

    from .transcript import TranscriptError

    parts = [p.strip() for p in text.split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 3:
        raise TranscriptError(f"--split: {text!r} is not three shares TRAIN,VAL,TEST (e.g. 0.8,0.1,0.1)")
    try:
        return SplitConfig(train=values[0], val=values[1], test=values[2])
    except ValidationError as exc:
        raise TranscriptError(f"--split: {exc.errors()[0]['msg']}") from None


def assign_group_splits(groups: list[str], split: SplitConfig, seed: int) -> dict[str, str]:
    """Map each group key to `train`, `val` or `test`. `groups` holds one key per conversation
    (repeats give a group its weight)."""
    sizes = Counter(groups)
    order = sorted(sizes)
    random.Random(seed).shuffle(order)
    total = len(groups)
    target = {"train": split.train * total, "val": split.val * total, "test": split.test * total}
    filled = dict.fromkeys(GROUP_SPLITS, 0)
    assignment: dict[str, str] = {}
    for key in order:
        name = max(GROUP_SPLITS, key=lambda s: (target[s] - filled[s], -GROUP_SPLITS.index(s)))
        assignment[key] = name
        filled[name] += sizes[key]
    _fill_empty(assignment, sizes)
    return assignment


def _fill_empty(assignment: dict[str, str], sizes: Counter) -> None:
    """With three groups or more, val and test get at least one (the smallest from train)."""
    for name in ("val", "test"):
        if name in assignment.values() or len(assignment) < 3:
            continue
        train = [k for k, s in assignment.items() if s == "train"]
        if len(train) > 1:
            assignment[min(train, key=lambda k: (sizes[k], k))] = name
