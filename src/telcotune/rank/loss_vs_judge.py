"""Does a lower validation loss go with better judged answers?

Both sides are turned into "higher is better" scores (the loss is negated), so a positive
correlation means "lower loss, better judged". The interval comes from a bootstrap over
prompts: on each resample the judge's per-run scores are recomputed while the losses, which
do not depend on the judged prompts, stay fixed. The intervals are t-scaled bootstrap
intervals (interval.py), clipped to [-1, 1]: with a judge unrelated to the loss they include 0
at about the nominal rate even at 6 prompts, which the plain percentile interval did not (88%).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .bootstrap import bootstrap_draws
from .interval import Interval, scaled_bootstrap_interval
from .correlation import Correlation, batch_correlations, correlate_scores
from .finding import LossVerdict, loss_verdict, plain_finding
from .inputs import RankInputError
from .judge_source import JudgeInput, JudgeScores, judge_scores, select_columns
from .ranks import competition_ranks, order_by

__all__ = ["LossJudgeComparison", "loss_vs_judge", "plain_finding"]


@dataclass(frozen=True)
class LossJudgeComparison:
    judge_name: str
    judge_kind: str
    """What the judge's per-run score is, e.g. "mean pointwise score"."""
    n_runs: int
    """Runs with both a validation loss and a judge score; everything below is over these."""
    runs_without_judgment: tuple[str, ...]
    runs_without_loss: tuple[str, ...]
    val_loss: dict[str, float]
    judge_scores: dict[str, float]
    loss_ranks: dict[str, int]
    """1 = lowest loss; ties share the minimum rank."""
    judge_ranks: dict[str, int]
    """1 = best judged; ties share the minimum rank."""
    correlation: Correlation
    """Between loss order and judged order; positive = lower loss, better judged."""
    spearman_ci: Interval | None
    kendall_ci: Interval | None
    ci_missing_reason: str | None
    best_loss_run: str | None
    """Lowest loss (ties: first by name)."""
    best_loss_judge_rank: int | None
    best_loss_judged_best_share: float | None
    """Share of bootstrap resamples in which the lowest-loss run is judged best (ties count)."""
    worst_loss_run: str | None
    worst_loss_judge_rank: int | None
    best_judged_run: str | None
    """Best judge score (ties: first by name)."""
    best_judged_loss_rank: int | None
    runs_missing_reason: str | None
    """Why the best/worst run fields are None."""
    n_prompts: int
    n_resamples: int
    seed: int
    verdict: LossVerdict = "untested"
    """What the Spearman interval says (rank.finding.loss_verdict)."""
    finding: str = ""
    """The comparison's conclusion in words (rank.finding.plain_finding)."""

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["correlation"] = self.correlation.to_dict()
        for key in ("spearman_ci", "kendall_ci"):
            out[key] = None if out[key] is None else out[key].to_dict()
        for key in ("runs_without_judgment", "runs_without_loss"):
            out[key] = list(out[key])
        return out


def _check_losses(val_loss: Mapping[str, float]) -> dict[str, float]:
    bad = {run: v for run, v in val_loss.items() if not math.isfinite(v)}
    if bad:
        raise RankInputError(f"validation losses must be finite numbers: {bad}")
    return {run: float(v) for run, v in val_loss.items()}


@dataclass(frozen=True)
class _Intervals:
    spearman: Interval | None
    kendall: Interval | None
    missing_reason: str | None
    best_loss_judged_best_share: float | None


def _bootstrap(
    judge: JudgeScores, common: list[str], losses: Mapping[str, float], best_loss_run: str | None,
    n_resamples: int, seed: int, alpha: float,
) -> _Intervals:
    resample = judge.resample
    if resample is None:
        return _Intervals(None, None, judge.no_resample_reason, None)
    if len(common) < 2 or best_loss_run is None:
        return _Intervals(None, None, f"{len(common)} run(s) to correlate; need 2", None)

    def common_scores(weights: np.ndarray) -> np.ndarray:
        return select_columns(resample(weights), judge.runs, common)

    draws = bootstrap_draws(common_scores, n_resamples, seed, n_prompts=judge.n_prompts)
    fixed = -np.array([losses[r] for r in common])
    corr = batch_correlations(fixed, draws)
    kendall, k_reason = scaled_bootstrap_interval(corr[:, 0], judge.n_prompts, alpha, bounds=(-1, 1))
    spearman, s_reason = scaled_bootstrap_interval(corr[:, 1], judge.n_prompts, alpha, bounds=(-1, 1))
    defined = draws[~np.isnan(draws).any(axis=1)]
    best_col = common.index(best_loss_run)
    share = float(np.mean(defined[:, best_col] >= defined.max(axis=1))) if len(defined) else None
    return _Intervals(spearman, kendall, s_reason or k_reason, share)


def loss_vs_judge(
    val_loss: Mapping[str, float], judge: JudgeInput, n_resamples: int = 1000, seed: int = 0, *,
    judge_name: str = "the judge", alpha: float = 0.05,
) -> LossJudgeComparison:
    """`judge`: ScoreRows, PairVerdicts, or a fixed ordering (see judge_source.py)."""
    losses = _check_losses(val_loss)
    source = judge_scores(judge)
    common = sorted(set(losses) & set(source.scores))
    loss_c = {r: losses[r] for r in common}
    judged_c = {r: source.scores[r] for r in common}
    loss_ranks = competition_ranks(loss_c, higher_is_better=False)
    judge_ranks = competition_ranks(judged_c, higher_is_better=True)
    best_loss, worst_loss, best_judged = (
        (order_by(loss_c, higher_is_better=False)[0], order_by(loss_c, higher_is_better=True)[0],
         order_by(judged_c, higher_is_better=True)[0]) if common else (None, None, None))
    intervals = _bootstrap(source, common, losses, best_loss, n_resamples, seed, alpha)
    comparison = LossJudgeComparison(
        judge_name=judge_name, judge_kind=source.kind, n_runs=len(common),
        runs_without_judgment=tuple(sorted(set(losses) - set(common))),
        runs_without_loss=tuple(sorted(set(source.scores) - set(common))),
        val_loss=loss_c, judge_scores=judged_c, loss_ranks=loss_ranks, judge_ranks=judge_ranks,
        correlation=correlate_scores({r: -v for r, v in loss_c.items()}, judged_c),
        spearman_ci=intervals.spearman, kendall_ci=intervals.kendall,
        ci_missing_reason=intervals.missing_reason,
        best_loss_run=best_loss, best_loss_judge_rank=judge_ranks.get(best_loss),
        best_loss_judged_best_share=intervals.best_loss_judged_best_share,
        worst_loss_run=worst_loss, worst_loss_judge_rank=judge_ranks.get(worst_loss),
        best_judged_run=best_judged, best_judged_loss_rank=loss_ranks.get(best_judged),
        runs_missing_reason=None if common else "no run has both a validation loss and a judge score",
        n_prompts=source.n_prompts, n_resamples=n_resamples, seed=seed,
    )
    return replace(comparison, verdict=loss_verdict(comparison), finding=plain_finding(comparison))
