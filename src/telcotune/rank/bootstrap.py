"""Cluster bootstrap over prompts.

Why prompts are the resampling unit: every run answers the same prompts, and a hard prompt
lowers all runs' scores together. Resampling single scores would treat those correlated
scores as independent and give intervals that are too narrow; resampling whole prompts keeps
all runs' scores (and all verdicts) on a prompt together.

A resample is represented as a weight per prompt (how many times it was drawn), so a
statistic is computed for all resamples at once as weighted sums (`weights @ per_prompt`).
Intervals from the draws are t-scaled (interval.py), which keeps their coverage with few
prompts; the plain percentile interval is too narrow there.

Internal convention: a statistic function returns NaN for a resample on which it is undefined
(e.g. a run none of whose prompts were drawn). Such resamples are dropped and counted in
`Interval.n_resamples_used`; NaN never reaches a result.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .interval import (
    MIN_DEFINED_RESAMPLES, Interval, percentile_interval, scaled_bootstrap_interval,
)

__all__ = [
    "MIN_DEFINED_RESAMPLES", "Interval", "SamplesFn", "bootstrap_ci", "bootstrap_draws",
    "cluster_weights", "percentile_interval", "run_interval",
]

SamplesFn = Callable[[np.ndarray], np.ndarray]
"""Maps prompt weights (n_resamples, n_prompts) to statistics (n_resamples,) or (n_resamples, k)."""


def cluster_weights(n_prompts: int, n_resamples: int, seed: int) -> np.ndarray:
    """How often each prompt is drawn in each resample: shape (n_resamples, n_prompts), each
    row sums to n_prompts (a resample has as many prompts as the data)."""
    rng = np.random.default_rng(seed)
    if n_prompts == 0 or n_resamples == 0:
        return np.zeros((n_resamples, n_prompts))
    probs = np.full(n_prompts, 1.0 / n_prompts)
    return rng.multinomial(n_prompts, probs, size=n_resamples).astype(float)


def bootstrap_draws(samples_fn: SamplesFn, n_resamples: int, seed: int, *, n_prompts: int) -> np.ndarray:
    """The statistic on every resample, always 2-D: (n_resamples, k)."""
    draws = np.asarray(samples_fn(cluster_weights(n_prompts, n_resamples, seed)), dtype=float)
    return draws[:, None] if draws.ndim == 1 else draws


def bootstrap_ci(
    samples_fn: SamplesFn, n_resamples: int, seed: int, alpha: float = 0.05, *, n_prompts: int,
) -> list[tuple[Interval | None, str | None]]:
    """t-scaled bootstrap intervals for each column of the statistic `samples_fn` computes
    from prompt weights; see the module docstring for the NaN convention."""
    draws = bootstrap_draws(samples_fn, n_resamples, seed, n_prompts=n_prompts)
    return [scaled_bootstrap_interval(draws[:, k], n_prompts, alpha) for k in range(draws.shape[1])]


def run_interval(
    draws: np.ndarray, n_prompts_of_run: int, alpha: float,
) -> tuple[Interval | None, str | None]:
    """Interval for one run's statistic. A run seen on a single prompt gets none: every
    resample that includes it repeats the same value, so the interval would have width 0 and
    pretend to a certainty the data cannot give."""
    if n_prompts_of_run < 2:
        return None, f"run appears on {n_prompts_of_run} prompt(s); a prompt bootstrap needs 2"
    return scaled_bootstrap_interval(draws, n_prompts_of_run, alpha)
