"""Agreement between judges: rank correlation of their run orderings, and Krippendorff's
alpha (interval) of their pointwise scores on the same (run, prompt) answers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

from .correlation import Correlation, Ordering, rank_correlation
from .inputs import ScoreRow
from .krippendorff import KrippendorffAlpha, krippendorff_alpha_interval

__all__ = [
    "Correlation", "JudgeAgreement", "JudgePairAgreement", "KrippendorffAlpha",
    "judge_agreement", "krippendorff_alpha_interval", "rank_correlation", "ratings_from_rows",
]

Ratings = Mapping[str, Mapping[Hashable, float]]


def ratings_from_rows(
    rows_by_judge: Mapping[str, Sequence[ScoreRow]],
) -> dict[str, dict[tuple[str, str], float]]:
    """judge -> (run, prompt_id) -> score. A judge that scored one answer several times
    contributes the mean, because alpha needs one value per judge and item."""
    out: dict[str, dict[tuple[str, str], float]] = {}
    for judge, rows in rows_by_judge.items():
        scores: dict[tuple[str, str], list[float]] = defaultdict(list)
        for row in rows:
            scores[(row.run, row.prompt_id)].append(row.score)
        out[judge] = {item: float(np.mean(v)) for item, v in scores.items()}
    return out


@dataclass(frozen=True)
class JudgePairAgreement:
    judge_a: str
    judge_b: str
    rank_correlation: Correlation
    krippendorff_alpha: KrippendorffAlpha

    def to_dict(self) -> dict[str, Any]:
        return {"judge_a": self.judge_a, "judge_b": self.judge_b,
                "rank_correlation": self.rank_correlation.to_dict(),
                "krippendorff_alpha": self.krippendorff_alpha.to_dict()}


@dataclass(frozen=True)
class JudgeAgreement:
    pairs: tuple[JudgePairAgreement, ...]
    """Every pair of judges, judge names sorted."""
    overall_alpha: KrippendorffAlpha
    """Alpha over all judges with pointwise ratings."""

    def pair(self, judge_a: str, judge_b: str) -> JudgePairAgreement:
        a, b = sorted((judge_a, judge_b))
        return next(p for p in self.pairs if (p.judge_a, p.judge_b) == (a, b))

    def to_dict(self) -> dict[str, Any]:
        return {"pairs": [p.to_dict() for p in self.pairs],
                "overall_krippendorff_alpha": self.overall_alpha.to_dict()}


def _pair_correlation(rankings: Mapping[str, Ordering], a: str, b: str) -> Correlation:
    absent = [j for j in (a, b) if j not in rankings]
    if absent:
        return Correlation(None, None, 0, f"no ranking for judge {absent[0]!r}")
    return rank_correlation(rankings[a], rankings[b])


def _pair_alpha(ratings: Ratings | None, a: str, b: str) -> KrippendorffAlpha:
    if ratings is None:
        return KrippendorffAlpha(None, 0, 0, 2, "no pointwise ratings were given")
    absent = [j for j in (a, b) if j not in ratings]
    if absent:
        return KrippendorffAlpha(None, 0, 0, 2, f"no pointwise ratings for judge {absent[0]!r}")
    return krippendorff_alpha_interval({a: ratings[a], b: ratings[b]})


def judge_agreement(
    rankings: Mapping[str, Ordering], pointwise_ratings: Ratings | None = None,
) -> JudgeAgreement:
    """`rankings`: judge -> run list best first (or run -> score, higher better);
    `pointwise_ratings`: judge -> item -> score, e.g. from `ratings_from_rows`."""
    judges = sorted(set(rankings) | set(pointwise_ratings or {}))
    pairs = tuple(
        JudgePairAgreement(a, b, _pair_correlation(rankings, a, b),
                           _pair_alpha(pointwise_ratings, a, b))
        for a, b in combinations(judges, 2)
    )
    overall = (krippendorff_alpha_interval(pointwise_ratings) if pointwise_ratings is not None
               else KrippendorffAlpha(None, 0, 0, 0, "no pointwise ratings were given"))
    return JudgeAgreement(pairs, overall)
