"""The order in which one rater meets the items.

Among the items this rater has not rated, the next one is the first by:

1. coverage: items that other people rated, but fewer than `MIN_RATERS` times, first (so that
   every item people rate gets a second rating, which inter-rater agreement needs); then items
   nobody rated; items already rated `MIN_RATERS` times or more last;
2. informativeness, coarsely: the item's priority (see pool.py) in blocks of `block_size`, so a
   rater works on the most informative block first;
3. a hash of (seed, rater, item): inside a block every rater has an order of their own, and the
   same rater gets the same order on every start.

So one rater alone works through the most informative block in their own order, a second rater
then gets the first rater's items (in a different order), and a third starts the next block.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .pool import stable_int

MIN_RATERS = 2
"""Raters per item before an item counts as covered."""


@dataclass(frozen=True)
class Option:
    """An item this rater has not rated, as the chooser sees it."""

    item_id: int
    priority: int
    n_ratings: int
    """Ratings by other people."""


def coverage_group(n_ratings: int, min_raters: int = MIN_RATERS) -> int:
    if 0 < n_ratings < min_raters:
        return 0
    return 1 if n_ratings == 0 else 2


def choose_item(options: Sequence[Option], rater_key: str, seed: int, block_size: int,
                min_raters: int = MIN_RATERS) -> int | None:
    """The id of the item to show next, or None when nothing is left. Only the items of the
    first (coverage, block) tier are hashed, so a pool of many thousands stays fast."""
    if not options:
        return None
    block = max(1, block_size)
    tier_of = {o.item_id: (coverage_group(o.n_ratings, min_raters), o.priority // block) for o in options}
    first = min(tier_of.values())
    tier = [o for o in options if tier_of[o.item_id] == first]
    return min(tier, key=lambda o: stable_int(seed, "rater", rater_key, o.item_id)).item_id
