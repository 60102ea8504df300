"""Which pairs of runs a pairwise judge compares: all of them, or a Swiss-style subset, and
whether the comparisons connect every run (`comparison_components`).

With 17 runs all pairs are 136 per prompt (x2 orders). A Swiss tournament compares runs of
similar standing round by round, so a few rounds rank the field with far fewer judge calls.
Pairing follows the Dutch system: the field, ordered by points (then by the seeding score),
is cut into a top and a bottom half and the i-th of the top half meets the i-th of the bottom
half (round 1 with 16 runs: 1 v 9, 2 v 10, ...), so every round links distant parts of the
table; no pair meets twice. With an odd number of runs one run sits out each round with a bye:
the lowest-placed run that has not had one yet (rotating), recorded in `byes` and worth half a
point (a bye is no result, so it neither helps nor hurts its standing much), so every run plays.

A ranking from pairwise verdicts is only defined within a connected group of runs: two runs
that were never linked by a chain of comparisons cannot be ordered. `comparison_components`
finds the groups; a few Dutch rounds connect the field (4 rounds connect 16 or 17 runs).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable
from dataclasses import dataclass

BYE_POINTS = 0.5
MAX_SEARCH_STEPS = 20_000
"""Bound on the pairing search (a complete pairing is found in a few steps in practice)."""


def all_pairs(runs: list[str]) -> list[tuple[str, str]]:
    return list(itertools.combinations(sorted(runs), 2))


@dataclass(frozen=True)
class Bye:
    round: int
    """1-based round number."""
    run: str


class SwissTournament:
    """Rounds of Dutch-system pairings; a pair meets at most once, a rotating bye when odd."""

    def __init__(self, runs: list[str], seed: int = 0, initial: dict[str, float] | None = None):
        self.rng = random.Random(seed)
        self.points = {r: 0.0 for r in runs}
        # Seeding by an earlier score (e.g. pointwise) makes round one informative already;
        # runs without one are seeded in a seeded random order.
        self.seed_score = initial or {}
        self.tiebreak = {r: self.rng.random() for r in sorted(runs)}
        self.met: set[frozenset[str]] = set()
        self.byes: list[Bye] = []
        self.rounds = 0

    def standings(self) -> list[str]:
        """Runs by points, then seeding score, then the seeded random order."""
        return sorted(self.points, key=lambda r: (-self.points[r], -self.seed_score.get(r, 0.0), self.tiebreak[r]))

    def next_round(self) -> list[tuple[str, str]]:
        """This round's pairs (each sorted by name); empty when no new pair is possible."""
        field = self.standings()
        had_bye = {b.run for b in self.byes}
        bye = None
        if len(field) % 2:
            # the lowest-placed run without a bye yet (everyone had one: start again from the bottom)
            bye = next((r for r in reversed(field) if r not in had_bye), field[-1])
            field.remove(bye)
        pairs = self._pair(field)
        if not pairs:
            return []
        self.rounds += 1
        if bye is not None:
            self.byes.append(Bye(self.rounds, bye))
            self.points[bye] += BYE_POINTS
        for a, b in pairs:
            self.met.add(frozenset((a, b)))
        return [tuple(sorted(p)) for p in pairs]  # type: ignore[misc]

    def _pair(self, field: list[str]) -> list[tuple[str, str]]:
        """Top half against bottom half. Where the Dutch opponent was already met, the nearest
        unmet one; a search with backtracking finds a pairing of the whole field whenever one
        exists, else the largest one found within MAX_SEARCH_STEPS."""
        half = len(field) // 2
        position = {run: i for i, run in enumerate(field)}
        best: list[tuple[str, str]] = []
        steps = 0

        def search(free: list[str], pairs: list[tuple[str, str]]) -> bool:
            nonlocal best, steps
            steps += 1
            if len(pairs) > len(best):
                best = list(pairs)
            if len(free) < 2:
                return True
            if steps > MAX_SEARCH_STEPS:
                return False
            first, rest = free[0], free[1:]
            target = position[first] + half  # the Dutch opponent's place
            for partner in sorted(rest, key=lambda r: (abs(position[r] - target), position[r])):
                if frozenset((first, partner)) in self.met:
                    continue
                if search([r for r in rest if r != partner], pairs + [(first, partner)]):
                    return True
            return False

        search(list(field), [])
        return best  # without a complete pairing, the largest found: the others sit this round out

    def record(self, winner: str | None, pair: tuple[str, str]) -> None:
        """Add a result: a win is 1 point, a tie half a point each."""
        if winner is None:
            for run in pair:
                self.points[run] += 0.5
        else:
            self.points[winner] += 1.0


@dataclass(frozen=True)
class Components:
    """The connected groups of the comparison graph (runs as nodes, compared pairs as edges)."""

    groups: tuple[tuple[str, ...], ...]
    """Each group's runs sorted by name; the largest group first, then by first name."""

    @property
    def connected(self) -> bool:
        return len(self.groups) <= 1

    def group_of(self, run: str) -> tuple[str, ...]:
        return next(g for g in self.groups if run in g)

    def to_dict(self) -> dict[str, object]:
        return {"connected": self.connected, "n_groups": len(self.groups), "groups": [list(g) for g in self.groups]}


def comparison_components(runs: Iterable[str], pairs: Iterable[tuple[str, str]]) -> Components:
    """Connected groups of `runs` given the compared `pairs` (union-find); a run in no pair is a
    group of its own."""
    parent = {r: r for r in runs}

    def root(run: str) -> str:
        while parent[run] != run:
            parent[run] = parent[parent[run]]
            run = parent[run]
        return run

    for a, b in pairs:
        parent.setdefault(a, a)
        parent.setdefault(b, b)
        parent[root(a)] = root(b)
    groups: dict[str, list[str]] = {}
    for run in parent:
        groups.setdefault(root(run), []).append(run)
    ordered = sorted((tuple(sorted(g)) for g in groups.values()), key=lambda g: (-len(g), g[0]))
    return Components(tuple(ordered))
