"""A judge's per-run scores, whatever form the judgments come in, plus (when the judgments
are per prompt) a way to recompute them on prompt-bootstrap resamples.

- list of ScoreRow      -> mean score per run; resampled by reweighting prompts;
- list of PairVerdict   -> Bradley-Terry log-strength on merged orders; resampled likewise;
- ordering (run list best first, or run -> score with higher better) -> fixed; there are no
  prompts to resample, so no interval can be computed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .bootstrap import SamplesFn
from .correlation import Ordering, as_scores
from .inputs import PairVerdict, ScoreRow
from .orders import consistent_outcomes
from .pairwise import batch_strengths, bradley_terry
from .tables import ScoreTable, WinTable

JudgeInput = Sequence[ScoreRow] | Sequence[PairVerdict] | Ordering


@dataclass(frozen=True, eq=False)
class JudgeScores:
    kind: str
    scores: dict[str, float]
    """Higher is better."""
    runs: tuple[str, ...]
    """Column order of `resample`'s output."""
    resample: SamplesFn | None
    n_prompts: int
    no_resample_reason: str | None


def _from_rows(rows: Sequence[ScoreRow]) -> JudgeScores:
    table = ScoreTable.from_rows(rows)
    means = dict(zip(table.runs, map(float, table.means())))
    return JudgeScores("mean pointwise score", means, table.runs, table.weighted_means,
                       len(table.prompts), None)


def _from_verdicts(verdicts: Sequence[PairVerdict]) -> JudgeScores:
    outcomes = consistent_outcomes(verdicts)
    table = WinTable.from_games(outcomes)
    fit = bradley_terry(outcomes)
    return JudgeScores("Bradley-Terry strength (orders merged)", fit.strengths, table.runs,
                       lambda w: batch_strengths(table, w, fit.prior_games), len(table.prompts),
                       None)


def judge_scores(judge: JudgeInput) -> JudgeScores:
    items = list(judge.items()) if isinstance(judge, Mapping) else list(judge)
    if not items:
        return JudgeScores("no judgments", {}, (), None, 0, "no judgments were given")
    if items and all(isinstance(x, ScoreRow) for x in items):
        return _from_rows(items)
    if items and all(isinstance(x, PairVerdict) for x in items):
        return _from_verdicts(items)
    if isinstance(judge, Mapping) or all(isinstance(x, str) for x in items):
        scores = as_scores(judge)
        return JudgeScores("given ranking", scores, tuple(scores), None, 0,
                           "the judge was given as a fixed ranking, with no prompts to resample")
    raise TypeError("judge must be ScoreRows, PairVerdicts, a run list or a run -> score mapping")


def select_columns(draws: np.ndarray, runs: tuple[str, ...], wanted: Sequence[str]) -> np.ndarray:
    return draws[:, [runs.index(r) for r in wanted]]
