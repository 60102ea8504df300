"""Scenario-level splits: every conversation of a scenario lands in the same split, so no
scenario leaks from training into evaluation. Held-out terms form an out-of-distribution set."""

from __future__ import annotations

import random

from ..config import SplitConfig
from .glossary import slugify

SPLITS = ("train", "val", "test", "test_ood")


def assign_splits(scenario_ids: list[str], term_of: dict[str, str], split: SplitConfig,
                  seed: int, ood_terms: list[str]) -> dict[str, str]:
    """Map each scenario id to `train`, `val`, `test` or `test_ood`, deterministically."""
    ood = {slugify(t) for t in ood_terms}
    assignment = {sid: "test_ood" for sid in scenario_ids if slugify(term_of[sid]) in ood}
    rest = sorted(sid for sid in scenario_ids if sid not in assignment)
    random.Random(seed).shuffle(rest)
    n_val = max(1, round(len(rest) * split.val)) if len(rest) >= 3 else 0
    n_test = max(1, round(len(rest) * split.test)) if len(rest) >= 3 else 0
    for i, sid in enumerate(rest):
        assignment[sid] = "val" if i < n_val else "test" if i < n_val + n_test else "train"
    return assignment
