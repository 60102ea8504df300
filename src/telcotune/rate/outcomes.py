"""People and LLM judges as outcomes the statistics compare: per pair of answers to one prompt,
which run is preferred, or a tie.

- A human rating is one verdict: A or B names the preferred run; tie and "both bad" are ties.
  As a judge, people give `PairVerdict`s (pairwise) or `ScoreRow`s of the overall score
  (pointwise), exactly like an LLM judge, so the rank package ranks them the same way.
- The *human majority* on a pair is the outcome more raters chose than any other; a split
  (two outcomes with the most votes) has no majority and is left out of agreement with judges.
  Pointwise, the pair's outcome is the comparison of the two answers' mean overall scores.
- An LLM judge's outcome on a pair: its verdicts merged over the presentation orders (a win
  only if all agree, see rank/orders.py), else the comparison of its two pointwise scores.

Outcome labels are relative to the pair's runs sorted by name: "first" (the run first by name
wins), "second", or "tie". Which run is "first" is arbitrary, yet it skews the label counts when
names go with quality (`base` sorts first and usually loses), and chance-corrected statistics
(kappa, alpha) depend on those counts. So they are computed on every pair in both orientations
(`both_orientations`): the counts of "first" and "second" are then equal and the result does not
depend on how runs are named.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from statistics import fmean
from typing import Literal

from ..rank import PairVerdict, ScoreRow, consistent_outcomes
from .records import StoredRating
from .study import JudgeEvidence

Label = Literal["first", "second", "tie"]
LABELS: tuple[Label, ...] = ("first", "second", "tie")
PairKey = tuple[str, str, str]
"""(prompt id, run, run) with the runs sorted by name."""


def label_of(winner: str | None, low: str, high: str) -> Label:
    return "tie" if winner is None else "first" if winner == low else "second"


MIRROR: dict[Label, Label] = {"first": "second", "second": "first", "tie": "tie"}


def both_orientations(pairs: Sequence[tuple[str, Label, Label]]) -> list[tuple[str, Label, Label]]:
    """(prompt, label, label) units plus each one with the pair's runs swapped."""
    return [*pairs, *((p, MIRROR[a], MIRROR[b]) for p, a, b in pairs)]


@dataclass(frozen=True)
class JudgeOutcome:
    label: Label
    consistent: bool
    """False when the judge's verdicts on the pair disagreed across presentation orders."""
    source: Literal["pairwise", "pointwise"]


def _mean_scores(rows: Iterable[ScoreRow]) -> dict[str, dict[str, float]]:
    """prompt -> run -> mean score."""
    scores: dict[tuple[str, str], list[float]] = defaultdict(list)
    for row in rows:
        scores[(row.prompt_id, row.run)].append(row.score)
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for (prompt_id, run), values in scores.items():
        out[prompt_id][run] = fmean(values)
    return out


def _score_label(scores: dict[str, float], low: str, high: str) -> Label:
    if scores[low] == scores[high]:
        return "tie"
    return "first" if scores[low] > scores[high] else "second"


def judge_pair_outcomes(judge: JudgeEvidence) -> dict[PairKey, JudgeOutcome]:
    out: dict[PairKey, JudgeOutcome] = {}
    for prompt_id, runs in _mean_scores(judge.rows).items():
        for low, high in combinations(sorted(runs), 2):
            out[(prompt_id, low, high)] = JudgeOutcome(_score_label(runs, low, high), True, "pointwise")
    for o in consistent_outcomes(judge.verdicts):
        out[(o.prompt_id, o.run_a, o.run_b)] = JudgeOutcome(label_of(o.winner, o.run_a, o.run_b), o.consistent,
                                                           "pairwise")
    return out


def human_verdicts(ratings: Sequence[StoredRating]) -> list[PairVerdict]:
    """Each pairwise rating as one verdict, with the order the rater saw."""
    out = []
    for r in ratings:
        if r.protocol == "pairwise":
            low, high = r.pair
            out.append(PairVerdict(r.prompt_id, low, high, "ab" if r.runs[0] == low else "ba", r.winner))
    return out


def human_score_rows(ratings: Sequence[StoredRating]) -> list[ScoreRow]:
    return [ScoreRow(r.runs[0], r.prompt_id, r.overall) for r in ratings
            if r.protocol == "pointwise" and r.overall is not None]


def majority(labels: Sequence[Label]) -> Label | None:
    """The label with more votes than any other; None for a split."""
    (top, n_top), *rest = Counter(labels).most_common() or [(None, 0)]
    return None if top is None or (rest and rest[0][1] == n_top) else top


@dataclass(frozen=True)
class HumanOutcomes:
    outcomes: dict[PairKey, Label]
    """Pairs with a human majority."""
    n_split: int
    """Pairs people rated without a majority (left out)."""


def human_pair_outcomes(ratings: Sequence[StoredRating]) -> HumanOutcomes:
    pairwise = [r for r in ratings if r.protocol == "pairwise"]
    if pairwise:
        votes: dict[PairKey, list[Label]] = defaultdict(list)
        for r in pairwise:
            low, high = r.pair
            votes[(r.prompt_id, low, high)].append(label_of(r.winner, low, high))
        decided = {key: majority(v) for key, v in votes.items()}
        return HumanOutcomes({k: v for k, v in decided.items() if v is not None},
                             sum(v is None for v in decided.values()))
    outcomes: dict[PairKey, Label] = {}
    for prompt_id, runs in _mean_scores(human_score_rows(ratings)).items():
        for low, high in combinations(sorted(runs), 2):
            outcomes[(prompt_id, low, high)] = _score_label(runs, low, high)
    return HumanOutcomes(outcomes, 0)
