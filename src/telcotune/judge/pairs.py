"""Which pairs of runs a pairwise judge compares: all of them, or a Swiss-style subset.

With 17 runs all pairs are 136 per prompt (x2 orders). A Swiss tournament compares runs of
similar standing round by round, so a few rounds rank the field with far fewer judge calls.
"""

from __future__ import annotations

import itertools
import random


def all_pairs(runs: list[str]) -> list[tuple[str, str]]:
    return list(itertools.combinations(sorted(runs), 2))


class SwissTournament:
    """Rounds of pairings between runs with similar points; a pair meets at most once."""

    def __init__(self, runs: list[str], seed: int = 0, initial: dict[str, float] | None = None):
        self.rng = random.Random(seed)
        self.points = {r: 0.0 for r in runs}
        # Seeding by an earlier score (e.g. pointwise) makes round one informative already.
        self.seed_score = initial or {}
        self.met: set[frozenset[str]] = set()

    def next_round(self) -> list[tuple[str, str]]:
        ranked = sorted(self.points, key=lambda r: (-self.points[r], -self.seed_score.get(r, 0.0),
                                                    self.rng.random()))
        pairs, waiting = [], list(ranked)
        while len(waiting) >= 2:
            first = waiting.pop(0)
            partner = next((r for r in waiting if frozenset((first, r)) not in self.met), None)
            if partner is None:
                continue  # met everyone left; sits this round out
            waiting.remove(partner)
            self.met.add(frozenset((first, partner)))
            pairs.append(tuple(sorted((first, partner))))
        return pairs

    def record(self, winner: str | None, pair: tuple[str, str]) -> None:
        """Add a result: a win is 1 point, a tie half a point each."""
        if winner is None:
            for run in pair:
                self.points[run] += 0.5
        else:
            self.points[winner] += 1.0
