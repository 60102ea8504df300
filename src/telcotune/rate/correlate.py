"""Spearman correlation between two judges' run rankings (e.g. people and an LLM judge), with a
bootstrap interval that resamples prompts jointly for both: one weight per prompt of either
judge, so a prompt drawn twice counts twice for both (their errors on a prompt are correlated).

A judge's per-run scores are computed as the rank package does: Bradley-Terry log-strength on
merged verdicts, or the mean pointwise score.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..rank import Correlation, PairVerdict, ScoreRow, bradley_terry, consistent_outcomes
from ..rank.bootstrap import Interval, cluster_weights, percentile_interval
from ..rank.correlation import correlate_scores
from ..rank.pairwise import batch_strengths
from ..rank.tables import ScoreTable, WinTable
from .reliability import MIN_PROMPTS


@dataclass(frozen=True, eq=False)
class RunScores:
    kind: str
    scores: dict[str, float]
    """Higher is better."""
    runs: tuple[str, ...]
    """Columns of `resample`'s output."""
    prompts: tuple[str, ...]
    """Columns of `resample`'s input weights."""
    resample: Callable[[np.ndarray], np.ndarray]


def run_scores(verdicts: Sequence[PairVerdict], rows: Sequence[ScoreRow]) -> RunScores | None:
    """From verdicts when there are any, else from scores; None without either."""
    if verdicts:
        games = consistent_outcomes(verdicts)
        table, fit = WinTable.from_games(games), bradley_terry(games)
        return RunScores("Bradley-Terry strength (orders merged)", fit.strengths, table.runs, table.prompts,
                         lambda w: batch_strengths(table, w, fit.prior_games))
    if rows:
        table = ScoreTable.from_rows(rows)
        return RunScores("mean pointwise score", dict(zip(table.runs, map(float, table.means()))), table.runs,
                         table.prompts, table.weighted_means)
    return None


def rowwise_spearman(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman rho of each row pair (average ranks for ties); NaN where a row has a NaN or no
    variation."""
    with np.errstate(invalid="ignore", divide="ignore"):
        rx, ry = stats.rankdata(x, axis=1), stats.rankdata(y, axis=1)
        rx, ry = rx - rx.mean(axis=1, keepdims=True), ry - ry.mean(axis=1, keepdims=True)
        rho = (rx * ry).sum(axis=1) / np.sqrt((rx ** 2).sum(axis=1) * (ry ** 2).sum(axis=1))
    undefined = np.isnan(x).any(axis=1) | np.isnan(y).any(axis=1) | (np.ptp(x, axis=1) == 0) | (np.ptp(y, axis=1) == 0)
    return np.where(undefined, np.nan, rho)


@dataclass(frozen=True)
class RankingCorrelation:
    correlation: Correlation
    spearman_ci: Interval | None
    missing_reason: str | None


def ranking_correlation(a: RunScores, b: RunScores, n_resamples: int = 1000, seed: int = 0,
                        alpha: float = 0.05) -> RankingCorrelation:
    corr = correlate_scores(a.scores, b.scores)
    if corr.spearman_rho is None:
        return RankingCorrelation(corr, None, corr.missing_reason)
    fewest = min(len(a.prompts), len(b.prompts))
    if fewest < MIN_PROMPTS:
        return RankingCorrelation(corr, None, f"one ranking rests on {fewest} prompt(s); a prompt bootstrap "
                                              f"needs {MIN_PROMPTS}")
    common = sorted(set(a.scores) & set(b.scores))
    union = sorted(set(a.prompts) | set(b.prompts))
    index = {p: i for i, p in enumerate(union)}
    weights = cluster_weights(len(union), n_resamples, seed)

    def draws(source: RunScores) -> np.ndarray:
        out = source.resample(weights[:, [index[p] for p in source.prompts]])
        return out[:, [source.runs.index(r) for r in common]]

    ci, reason = percentile_interval(rowwise_spearman(draws(a), draws(b)), alpha)
    return RankingCorrelation(corr, ci, reason)
