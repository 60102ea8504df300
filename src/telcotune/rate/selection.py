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

Steps 1 and 2 run in SQLite (`FIRST_TIER`, one query over the rater's open items, so a pool of
many thousand items costs milliseconds); step 3 in Python (`choose_item`).
"""

from __future__ import annotations

from collections.abc import Sequence

from .pool import stable_int

MIN_RATERS = 2
"""Raters per item before an item counts as covered."""

FIRST_TIER = """
WITH rated AS MATERIALIZED (
    SELECT item_id, count(*) AS n_ratings, max(rater_id = :rater) AS mine FROM ratings GROUP BY item_id
), tiered AS MATERIALIZED (
    SELECT i.id,
           CASE WHEN rated.n_ratings IS NULL THEN 1 WHEN rated.n_ratings < :min_raters THEN 0 ELSE 2 END AS coverage,
           i.priority / :block AS block
    FROM items i LEFT JOIN rated ON rated.item_id = i.id
    WHERE i.protocol = :protocol AND i.active = 1 AND coalesce(rated.mine, 0) = 0
)
SELECT id FROM tiered WHERE (coverage, block) = (SELECT coverage, block FROM tiered ORDER BY coverage, block LIMIT 1)
"""
"""The ids of the first (coverage, block) tier among the items the rater `:rater` has not rated."""


def first_tier_params(rater_id: int, protocol: str, block_size: int, min_raters: int = MIN_RATERS) -> dict[str, object]:
    return {"rater": rater_id, "protocol": protocol, "block": max(1, block_size), "min_raters": min_raters}


def choose_item(tier: Sequence[int], rater_key: str, seed: int) -> int | None:
    """The id to show next among the first tier's ids, or None when nothing is left."""
    return min(tier, key=lambda item_id: stable_int(seed, "rater", rater_key, item_id)) if tier else None
