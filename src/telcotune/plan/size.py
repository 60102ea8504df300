"""How many prompts a target needs, given a per-prompt variance V (variance.py).

- Half-width h of a 95% interval (the t interval of interval.py): the smallest n with
  t_{n-1, 1-alpha/2} * sqrt(V / n) <= h.
- Detecting a true paired difference D with power 1 - beta, two-sided test at alpha: the
  smallest n with (t_{n-1, 1-alpha/2} + t_{n-1, 1-beta}) * sqrt(V_diff / n) <= D. This is
  the normal approximation with t quantiles in place of normal ones, which matters at small n.

A pilot's V is itself an estimate. Its chi-square interval, df * V / chi2_{df, 1-alpha/2} to
df * V / chi2_{df, alpha/2}, gives the range of prompt counts a plan reports beside its
point value.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from scipy import stats

from ..rank.interval import t_factor
from .variance import PlanInputError

MIN_PROMPTS = 2
MAX_PROMPTS = 10_000_000
"""A target needing more prompts than this is refused as unreachable."""


@dataclass(frozen=True)
class PromptCount:
    """Prompts needed, with the range that the pilot's own uncertainty allows."""

    n: int
    low: int
    """With the lower confidence limit of the pilot's variance."""
    high: int
    """With the upper confidence limit."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def halfwidth(variance: float, n_prompts: int, alpha: float = 0.05) -> float:
    """Half-width of the (1 - alpha) t interval at `n_prompts` prompts."""
    return t_factor(n_prompts, 1 - alpha / 2) * math.sqrt(variance / n_prompts)


def detectable_difference(variance_diff: float, n_prompts: int, power: float, alpha: float = 0.05) -> float:
    return ((t_factor(n_prompts, 1 - alpha / 2) + t_factor(n_prompts, power))
            * math.sqrt(variance_diff / n_prompts))


def _smallest(reaches) -> int:
    """The smallest n in [MIN_PROMPTS, MAX_PROMPTS] with reaches(n); the functions used here
    are monotone in n, so a doubling then bisection search finds it."""
    if reaches(MIN_PROMPTS):
        return MIN_PROMPTS
    low, high = MIN_PROMPTS, MIN_PROMPTS * 2
    while not reaches(high):
        if high >= MAX_PROMPTS:
            raise PlanInputError(f"the target needs more than {MAX_PROMPTS:,} prompts")
        low, high = high, min(high * 2, MAX_PROMPTS)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if reaches(mid) else (mid, high)
    return high


def prompts_for_halfwidth(variance: float, target: float, alpha: float = 0.05) -> int:
    if target <= 0:
        raise PlanInputError(f"the target half-width must be above 0, got {target:g}")
    return _smallest(lambda n: halfwidth(variance, n, alpha) <= target)


def prompts_for_detection(variance_diff: float, difference: float, power: float,
                          alpha: float = 0.05) -> int:
    if difference <= 0:
        raise PlanInputError(f"the difference to detect must be above 0, got {difference:g}")
    if not 0.5 <= power < 1:
        raise PlanInputError(f"power must be at least 0.5 and below 1, got {power:g}")
    return _smallest(lambda n: detectable_difference(variance_diff, n, power, alpha) <= difference)


def variance_interval(variance: float, df: float, alpha: float = 0.05) -> tuple[float, float]:
    """Chi-square confidence interval of a variance estimated with `df` degrees of freedom."""
    return (df * variance / stats.chi2.ppf(1 - alpha / 2, df),
            df * variance / stats.chi2.ppf(alpha / 2, df))


def with_range(size, variance: float, df: float, alpha: float = 0.05) -> PromptCount:
    """`size(variance)` at the estimate and at both confidence limits of the variance."""
    low_var, high_var = variance_interval(variance, df, alpha)
    return PromptCount(size(variance), size(low_var), size(high_var))
