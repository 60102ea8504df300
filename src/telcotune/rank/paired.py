"""Which runs one judge can tell apart: paired differences between runs on the same prompts,
the tier of runs not significantly worse than the best, separability, and each run's
probability of being the best.

Paired, because every run answers the same prompts. The difference of two runs is computed
prompt by prompt, or for Bradley-Terry strengths on the same prompt-bootstrap resample, so
the prompts' difficulty cancels. That gives far more power than asking whether the two runs'
own intervals overlap. Non-overlap of two t intervals implies that the paired t interval
excludes 0, never the reverse.

- Pointwise (mean score): per-prompt differences on the prompts both runs answered, with the
  t interval (interval.py).
- Pairwise (Bradley-Terry): differences of log-strengths on each prompt-bootstrap resample,
  with the t-scaled bootstrap interval.

Tier rule (Bonferroni over all pairs): the best run is the one with the highest estimate.
Another run is left out of the tier only if its paired gap to the best run is above 0 at
one-sided level alpha / (k (k - 1)). The best run is picked by the data, so any of the
k (k - 1) / 2 pairs could become a claim "this run is worse", in either direction. Sharing
alpha among all of them keeps the chance of any false claim at or below alpha. With k equal
runs the judge then separates nothing in at least 1 - alpha of studies. The tier also holds
the truly best run with probability at least 1 - alpha, however close the runs are. The
cheaper correction over only the k - 1 comparisons with the best keeps the true best, but it
"separates" 16 equal runs in 24-32% of simulated studies (6 and 20 prompts), because the
best is the luckiest of 16. The price is a larger tier: telling runs apart takes more prompts.

Separability (as Arena-Hard reports it): the share of run pairs whose two-sided paired
(1 - alpha) interval excludes 0. The share of pairs whose own intervals do not overlap is
reported beside it for comparison.

P(best): the share of prompt-bootstrap resamples in which a run has the top estimate, with
ties split. It is the usual bootstrap share, not a calibrated probability. With few prompts
it overstates the leader's chance, so the tier, not P(best), is what a decision should rest on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

from .bootstrap import bootstrap_draws
from .bt_fit import PRIOR_GAMES
from .interval import (
    Interval, SMALL_SAMPLE_PROMPTS, scaled_bootstrap_interval, scaled_bootstrap_lower_bound,
    t_interval, t_lower_bound,
)
from .inputs import PairVerdict, ScoreRow
from .orders import consistent_outcomes
from .pairwise import batch_strengths, bradley_terry
from .prompt_means import cell_means, paired_differences, run_means
from .ranks import order_by
from .tables import Game, ScoreTable, WinTable

TIER_RULE = ("runs whose paired difference to the best run is not above 0 at one-sided level "
             "alpha/(k(k-1)) (Bonferroni over all k(k-1)/2 pairs, either direction)")


@dataclass(frozen=True)
class PairDifference:
    """The difference between two runs, the one ranked higher first."""

    higher: str
    lower: str
    difference: float | None
    """Estimate of higher minus lower. Pointwise: mean per-prompt difference on the prompts
    both answered (with missing prompts this can differ from the difference of the means)."""
    ci: Interval | None
    n_prompts: int
    missing_reason: str | None

    @property
    def separated(self) -> bool:
        return self.ci is not None and self.ci.excludes_zero()

    def to_dict(self) -> dict[str, Any]:
        return {"higher": self.higher, "lower": self.lower, "difference": self.difference,
                "ci": None if self.ci is None else self.ci.to_dict(), "n_prompts": self.n_prompts,
                "separated": self.separated, "missing_reason": self.missing_reason}


@dataclass(frozen=True)
class TierEntry:
    run: str
    estimate: float
    ci: Interval | None
    """The run's own interval."""
    gap_to_best: float | None
    """Best minus this run, paired; 0 for the best itself."""
    gap_lower_bound: float | None
    """One-sided lower confidence bound of the gap at level alpha/(k(k-1)); None for the best and
    for a gap that cannot be tested (then the run stays in the tier)."""
    in_tier: bool
    p_best: float | None
    note: str
    """Why the run is in or out of the tier, in words."""

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run, "estimate": self.estimate,
                "ci": None if self.ci is None else self.ci.to_dict(),
                "gap_to_best": self.gap_to_best, "gap_lower_bound": self.gap_lower_bound,
                "in_tier": self.in_tier, "p_best": self.p_best, "note": self.note}


@dataclass(frozen=True)
class Separation:
    """What one judge (one protocol) can tell apart."""

    statistic: str
    """What is compared, e.g. "mean pointwise score"."""
    entries: tuple[TierEntry, ...]
    """Best estimate first (ties by run name)."""
    differences: tuple[PairDifference, ...]
    """Every pair of runs."""
    n_prompts: int
    level: float
    n_resamples: int
    seed: int
    p_best_missing_reason: str | None

    @property
    def best(self) -> str | None:
        return self.entries[0].run if self.entries else None

    @property
    def tier(self) -> tuple[str, ...]:
        return tuple(e.run for e in self.entries if e.in_tier)

    @property
    def n_runs(self) -> int:
        return len(self.entries)

    @property
    def tier_alpha(self) -> float | None:
        """One-sided level of each comparison with the best (module docstring)."""
        return tier_level(1 - self.level, self.n_runs) if self.n_runs >= 2 else None

    @property
    def discriminates(self) -> bool:
        """Some run is significantly worse than the best."""
        return len(self.tier) < self.n_runs

    def _share(self, hits: list[bool]) -> float | None:
        return sum(hits) / len(hits) if hits else None

    @property
    def separability(self) -> float | None:
        """Share of pairs (with an interval) whose paired interval excludes 0."""
        return self._share([d.separated for d in self.differences if d.ci is not None])

    @property
    def marginal_separability(self) -> float | None:
        """Share of pairs (both with an interval) whose own intervals do not overlap."""
        ci = {e.run: e.ci for e in self.entries}
        pairs = [(ci[d.higher], ci[d.lower]) for d in self.differences
                 if ci[d.higher] is not None and ci[d.lower] is not None]
        return self._share([a.low > b.high or b.low > a.high for a, b in pairs])

    @property
    def small_sample(self) -> bool:
        return self.n_prompts < SMALL_SAMPLE_PROMPTS

    def entry(self, run: str) -> TierEntry:
        return next(e for e in self.entries if e.run == run)

    def difference(self, run_a: str, run_b: str) -> PairDifference:
        return next(d for d in self.differences if {d.higher, d.lower} == {run_a, run_b})

    def to_dict(self) -> dict[str, Any]:
        return {"statistic": self.statistic, "best": self.best, "tier": list(self.tier),
                "tier_rule": TIER_RULE, "tier_alpha": self.tier_alpha,
                "discriminates": self.discriminates, "separability": self.separability,
                "marginal_separability": self.marginal_separability,
                "n_pairs": len(self.differences),
                "n_separated_pairs": sum(d.separated for d in self.differences),
                "n_runs": self.n_runs, "n_prompts": self.n_prompts,
                "small_sample": self.small_sample, "level": self.level,
                "n_resamples": self.n_resamples, "seed": self.seed,
                "p_best_missing_reason": self.p_best_missing_reason,
                "entries": [e.to_dict() for e in self.entries],
                "differences": [d.to_dict() for d in self.differences]}


def tier_level(alpha: float, n_runs: int) -> float:
    """One-sided level of each comparison with the best (module docstring)."""
    return alpha / (n_runs * (n_runs - 1))


def best_shares(draws: np.ndarray) -> np.ndarray | None:
    """Per column, the share of rows in which it holds the maximum, ties split; rows that are
    all NaN (undefined resamples) are dropped, a NaN column never wins. None if no row is left."""
    rows = draws[~np.isnan(draws).all(axis=1)]
    if len(rows) == 0:
        return None
    values = np.where(np.isnan(rows), -np.inf, rows)
    winners = values == values.max(axis=1, keepdims=True)
    return (winners / winners.sum(axis=1, keepdims=True)).mean(axis=0)


@dataclass(frozen=True)
class _Gap:
    estimate: float | None
    ci: Interval | None
    lower_bound: float | None
    """One-sided, at the tier level."""
    n_prompts: int
    reason: str | None


GapFn = Callable[[int, int, float], _Gap]
"""(index of the higher run, index of the lower run, one-sided tier alpha) -> the gap."""


def _tier_entry(run: str, estimate: float, ci: Interval | None, gap: _Gap | None,
                p_best: float | None) -> TierEntry:
    if gap is None:
        return TierEntry(run, estimate, ci, 0.0, None, True, p_best, "the best estimate")
    if gap.lower_bound is None:
        return TierEntry(run, estimate, ci, gap.estimate, None, True, p_best,
                         f"kept in the tier: the gap to the best cannot be tested ({gap.reason})")
    worse = gap.lower_bound > 0
    note = "significantly worse than the best" if worse else "not significantly worse than the best"
    return TierEntry(run, estimate, ci, gap.estimate, gap.lower_bound, not worse, p_best, note)


def _assemble(statistic: str, runs: tuple[str, ...], estimates: dict[str, float],
              own_ci: dict[str, Interval | None], gap: GapFn, draws: np.ndarray, n_prompts: int,
              alpha: float, n_resamples: int, seed: int) -> Separation:
    order = order_by(estimates, higher_is_better=True)
    ix = {run: i for i, run in enumerate(runs)}
    one_sided = tier_level(alpha, len(order)) if len(order) >= 2 else alpha
    shares = best_shares(draws) if draws.size else None
    p_best = {run: None if shares is None else float(shares[ix[run]]) for run in order}
    entries = tuple(
        _tier_entry(run, estimates[run], own_ci[run],
                    None if pos == 0 else gap(ix[order[0]], ix[run], one_sided), p_best[run])
        for pos, run in enumerate(order))
    differences = []
    for a, b in combinations(order, 2):
        g = gap(ix[a], ix[b], one_sided)
        differences.append(PairDifference(a, b, g.estimate, g.ci, g.n_prompts, g.reason))
    reason = None if shares is not None else (
        "no bootstrap resamples were requested" if not draws.size else "no resample defined an estimate")
    return Separation(statistic, entries, tuple(differences), n_prompts, 1 - alpha, n_resamples,
                      seed, reason if order else None)


def separate_pointwise(rows: Sequence[ScoreRow], n_resamples: int = 1000, seed: int = 0, *,
                       alpha: float = 0.05) -> Separation:
    """Paired comparison of mean scores (t intervals); P(best) from a prompt bootstrap."""
    table = ScoreTable.from_rows(rows)
    means = dict(zip(table.runs, run_means(table)))
    paired = paired_differences(cell_means(table))

    def gap(a: int, b: int, one_sided: float) -> _Gap:
        d = paired.get(a, b)
        if d is None:
            return _Gap(None, None, None, 0, "the two runs share no prompt")
        if d.se is None:
            return _Gap(d.mean, None, None, d.n_prompts,
                        f"the two runs share {d.n_prompts} prompt; a paired interval needs 2")
        ci, _ = t_interval(d.mean, d.se, d.n_prompts, alpha)
        return _Gap(d.mean, ci, t_lower_bound(d.mean, d.se, d.n_prompts, one_sided), d.n_prompts, None)

    own = {run: t_interval(m.mean, m.se, m.n_prompts, alpha)[0] if m.se is not None else None
           for run, m in means.items()}
    draws = bootstrap_draws(table.weighted_means, n_resamples, seed, n_prompts=len(table.prompts))
    return _assemble("mean pointwise score", table.runs, {r: m.mean for r, m in means.items()}, own,
                     gap, draws, len(table.prompts), alpha, n_resamples, seed)


def separate_pairwise(verdicts: Sequence[PairVerdict], n_resamples: int = 1000, seed: int = 0, *,
                      alpha: float = 0.05, merge_orders: bool = True,
                      prior_games: float = PRIOR_GAMES) -> Separation:
    """Paired comparison of Bradley-Terry log-strengths: every difference and P(best) from the
    same prompt-bootstrap resamples (t-scaled intervals). Orders are merged as in pairwise.py."""
    games: Sequence[Game] = consistent_outcomes(verdicts) if merge_orders else list(verdicts)
    fit = bradley_terry(games, prior_games)
    table = WinTable.from_games(games)
    n_prompts = len(table.prompts)
    draws = bootstrap_draws(lambda w: batch_strengths(table, w, prior_games), n_resamples, seed,
                            n_prompts=n_prompts)
    strengths = {run: fit.strengths[run] for run in table.runs}

    def gap(a: int, b: int, one_sided: float) -> _Gap:
        diffs = draws[:, a] - draws[:, b]
        ci, reason = scaled_bootstrap_interval(diffs, n_prompts, alpha)
        estimate = strengths[table.runs[a]] - strengths[table.runs[b]]
        return _Gap(estimate, ci, scaled_bootstrap_lower_bound(diffs, n_prompts, one_sided),
                    n_prompts, reason)

    own = {run: scaled_bootstrap_interval(draws[:, i], n_prompts, alpha)[0] for i, run in enumerate(table.runs)}
    kind = "Bradley-Terry strength" + (" (orders merged)" if merge_orders else "")
    return _assemble(kind, table.runs, strengths, own, gap, draws, n_prompts, alpha, n_resamples, seed)
