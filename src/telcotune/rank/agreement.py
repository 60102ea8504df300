"""Agreement between judges: rank correlation of their per-run scores, and Krippendorff's alpha
(interval and ordinal) of their pointwise scores on the same (run, prompt) answers.

Correlations come from each judge's run -> score mapping, never from a run order: an order
breaks ties by name, so a judge that scored every run alike would get a made-up correlation;
from the scores its correlation is undefined, and stays so. A judge that cannot discriminate
(`rank.diagnostics`) may be named in `excluded`: its pairs then carry the reason, not a number."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

from .correlation import Correlation, correlate_scores, rank_correlation
from .inputs import RankInputError, ScoreRow
from .krippendorff import KrippendorffAlpha, krippendorff_alpha_interval, krippendorff_alpha_ordinal

__all__ = [
    "Correlation", "JudgeAgreement", "JudgePairAgreement", "KrippendorffAlpha",
    "judge_agreement", "krippendorff_alpha_interval", "krippendorff_alpha_ordinal", "rank_correlation",
    "ratings_from_rows",
]

Ratings = Mapping[str, Mapping[Hashable, float]]
RunScores = Mapping[str, Mapping[str, float]]
"""judge -> run -> score (higher is better): a pointwise mean or a Bradley-Terry strength."""


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
    """Interval level."""
    krippendorff_alpha_ordinal: KrippendorffAlpha

    def to_dict(self) -> dict[str, Any]:
        return {"judge_a": self.judge_a, "judge_b": self.judge_b,
                "rank_correlation": self.rank_correlation.to_dict(),
                "krippendorff_alpha": self.krippendorff_alpha.to_dict(),
                "krippendorff_alpha_ordinal": self.krippendorff_alpha_ordinal.to_dict()}


@dataclass(frozen=True)
class JudgeAgreement:
    pairs: tuple[JudgePairAgreement, ...]
    """Every pair of judges, judge names sorted."""
    overall_alpha: KrippendorffAlpha
    """Interval alpha over all judges with pointwise ratings (excluded judges left out)."""
    overall_alpha_ordinal: KrippendorffAlpha

    def pair(self, judge_a: str, judge_b: str) -> JudgePairAgreement:
        a, b = sorted((judge_a, judge_b))
        return next(p for p in self.pairs if (p.judge_a, p.judge_b) == (a, b))

    def to_dict(self) -> dict[str, Any]:
        return {"pairs": [p.to_dict() for p in self.pairs],
                "overall_krippendorff_alpha": self.overall_alpha.to_dict(),
                "overall_krippendorff_alpha_ordinal": self.overall_alpha_ordinal.to_dict()}


def _pair_correlation(scores: RunScores, a: str, b: str) -> Correlation:
    absent = [j for j in (a, b) if j not in scores]
    if absent:
        return Correlation(None, None, 0, f"no scores for judge {absent[0]!r}")
    return correlate_scores(scores[a], scores[b])


def _pair_alpha(ratings: Ratings | None, a: str, b: str, level: str) -> KrippendorffAlpha:
    if ratings is None:
        return KrippendorffAlpha(None, 0, 0, 2, "no pointwise ratings were given", level)
    absent = [j for j in (a, b) if j not in ratings]
    if absent:
        return KrippendorffAlpha(None, 0, 0, 2, f"no pointwise ratings for judge {absent[0]!r}", level)
    return _ALPHA[level]({a: ratings[a], b: ratings[b]})


_ALPHA = {"interval": krippendorff_alpha_interval, "ordinal": krippendorff_alpha_ordinal}


def _excluded_pair(a: str, b: str, excluded: Mapping[str, str]) -> JudgePairAgreement:
    judge = a if a in excluded else b
    reason = f"{judge} cannot discriminate: {excluded[judge]}"
    return JudgePairAgreement(a, b, Correlation(None, None, 0, reason),
                              KrippendorffAlpha(None, 0, 0, 2, reason, "interval"),
                              KrippendorffAlpha(None, 0, 0, 2, reason, "ordinal"))


def _check_scores(scores: RunScores) -> None:
    for judge, per_run in scores.items():
        if not isinstance(per_run, Mapping):
            raise RankInputError(f"judge {judge!r}: agreement needs run -> score, not a run order "
                                 "(an order breaks ties by name)")


def judge_agreement(
    scores: RunScores, pointwise_ratings: Ratings | None = None, *, excluded: Mapping[str, str] | None = None,
) -> JudgeAgreement:
    """`scores`: judge -> run -> score, higher better (`PointwiseRanking.scores()`,
    `PairwiseRanking.scores()`); `pointwise_ratings`: judge -> item -> score, e.g. from
    `ratings_from_rows`; `excluded`: judge -> why it cannot discriminate."""
    _check_scores(scores)
    excluded = excluded or {}
    judges = sorted(set(scores) | set(pointwise_ratings or {}) | set(excluded))
    pairs = tuple(
        _excluded_pair(a, b, excluded) if a in excluded or b in excluded else
        JudgePairAgreement(a, b, _pair_correlation(scores, a, b), _pair_alpha(pointwise_ratings, a, b, "interval"),
                           _pair_alpha(pointwise_ratings, a, b, "ordinal"))
        for a, b in combinations(judges, 2)
    )
    kept = {j: r for j, r in (pointwise_ratings or {}).items() if j not in excluded}
    if pointwise_ratings is None:
        none = "no pointwise ratings were given"
        return JudgeAgreement(pairs, KrippendorffAlpha(None, 0, 0, 0, none), KrippendorffAlpha(None, 0, 0, 0, none, "ordinal"))
    return JudgeAgreement(pairs, krippendorff_alpha_interval(kept), krippendorff_alpha_ordinal(kept))
