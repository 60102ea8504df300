"""Presentation order in pairwise judging: merging both orders of a pair, and position bias.

FastChat-style judging shows each pair of answers on a prompt twice, once in each order. A
judge with position bias prefers whichever answer it saw first (or second), so one verdict
per order can disagree. Terms used below:

- a *pair* is one unordered pair of runs on one prompt; it may have several verdicts;
- a pair is *judged in both orders* when each run was shown first at least once;
- a pair is *consistent* when all its verdicts name the same winner (or all are ties).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from .inputs import PairVerdict

PairKey = tuple[str, str, str]
"""(prompt_id, run, run) with the two runs sorted by name."""


@dataclass(frozen=True)
class PairOutcome:
    """One merged outcome per pair; run_a/run_b are sorted by name."""

    prompt_id: str
    run_a: str
    run_b: str
    winner: str | None
    """None: a tie, or the verdicts disagreed (see consistent_outcomes)."""
    n_verdicts: int
    both_orders: bool
    consistent: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def group_pairs(verdicts: Iterable[PairVerdict]) -> dict[PairKey, list[PairVerdict]]:
    groups: dict[PairKey, list[PairVerdict]] = defaultdict(list)
    for v in verdicts:
        low, high = sorted((v.run_a, v.run_b))
        groups[(v.prompt_id, low, high)].append(v)
    return dict(sorted(groups.items()))


def is_consistent(group: Sequence[PairVerdict]) -> bool:
    return len({v.winner for v in group}) == 1


def judged_in_both_orders(group: Sequence[PairVerdict]) -> bool:
    return len({v.first_shown for v in group}) == 2


def consistent_outcomes(verdicts: Iterable[PairVerdict]) -> list[PairOutcome]:
    """One outcome per pair: a win only if every verdict on the pair names that winner,
    otherwise a tie (the MT-bench convention). A win in one order and a tie in the other is
    thus a tie. This cancels position bias: a judge that always picks the first answer
    produces only ties. A pair judged in one order only cannot be checked and keeps its
    verdict (`both_orders` False says so)."""
    outcomes = []
    for (prompt_id, low, high), group in group_pairs(verdicts).items():
        consistent = is_consistent(group)
        outcomes.append(PairOutcome(
            prompt_id=prompt_id, run_a=low, run_b=high,
            winner=group[0].winner if consistent else None,
            n_verdicts=len(group), both_orders=judged_in_both_orders(group), consistent=consistent,
        ))
    return outcomes


@dataclass(frozen=True)
class PositionBias:
    n_pairs_both_orders: int
    n_inconsistent_pairs: int
    inconsistency_rate: float | None
    """Share of pairs judged in both orders whose verdicts disagree."""
    inconsistency_missing_reason: str | None
    n_decisive_verdicts: int
    n_first_position_wins: int
    n_second_position_wins: int
    first_position_share: float | None
    """Among all decisive (non-tie) verdicts, the share won by the answer shown first;
    0.5 is no position preference."""
    second_position_share: float | None
    position_share_missing_reason: str | None
    n_ties: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def position_bias(verdicts: Iterable[PairVerdict]) -> PositionBias:
    verdicts = list(verdicts)
    both = [g for g in group_pairs(verdicts).values() if judged_in_both_orders(g)]
    n_inconsistent = sum(not is_consistent(g) for g in both)
    decisive = [v for v in verdicts if v.winner is not None]
    n_first = sum(v.winner == v.first_shown for v in decisive)
    n_second = len(decisive) - n_first
    return PositionBias(
        n_pairs_both_orders=len(both),
        n_inconsistent_pairs=n_inconsistent,
        inconsistency_rate=n_inconsistent / len(both) if both else None,
        inconsistency_missing_reason=None if both else "no pair was judged in both orders",
        n_decisive_verdicts=len(decisive),
        n_first_position_wins=n_first,
        n_second_position_wins=n_second,
        first_position_share=n_first / len(decisive) if decisive else None,
        second_position_share=n_second / len(decisive) if decisive else None,
        position_share_missing_reason=None if decisive else "no decisive (non-tie) verdict",
        n_ties=len(verdicts) - len(decisive),
    )
