"""Accuracy with a Wilson interval, and the paired difference of two models on the same
questions with Newcombe's interval, the exact McNemar test, Holm's correction and a verdict.
Pure Python: no torch, no numpy, no stage code.

Why these: Wilson's interval keeps its coverage near 0% and 100% and at small n, where the
normal one does not. Two models answering the same questions are paired; their difference is
carried by the questions only one of them gets right (the discordant pairs), so the interval is
Newcombe's hybrid score interval for paired proportions (his 1998 method 10, built from the two
Wilson intervals and the correlation of the pairs) and the test is the exact McNemar test on the
discordant pairs. With the few discordant pairs a short fine-tune leaves, an interval alone
overclaims: at 4 questions gained and none lost out of 120, Newcombe's interval (0.2% to 6.5%)
and a percentile bootstrap over questions (0.8% to 6.7%) both exclude zero, while the exact test
gives p = 0.125. A verdict therefore needs both, and the test is Holm-corrected over the
adapters, since 16 comparisons at 5% each would call about one change by chance.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Z95 = 1.959963984540054
"""Standard normal quantile for a two-sided 95% interval."""
ALPHA = 0.05

Verdict = Literal["gained", "forgot", "no evidence either way"]
VERDICT_RULE = ("gained (forgot): the 95% interval of the paired difference to the base lies above "
                "(below) zero and the exact McNemar test stays below 0.05 after Holm's correction "
                "over the adapters compared; otherwise no evidence either way")


@dataclass(frozen=True)
class Proportion:
    successes: int
    total: int
    value: float
    low: float
    high: float
    """`low`-`high`: the 95% Wilson interval."""


@dataclass(frozen=True)
class PairedDifference:
    """First model minus second model on the same questions (here: adapter minus base)."""

    both: int
    """Questions both models get right."""
    first_only: int
    """Right by the first model only (for an adapter: gained)."""
    second_only: int
    """Right by the second model only (for an adapter: forgotten)."""
    neither: int
    diff: float
    low: float
    high: float
    """`low`-`high`: Newcombe's 95% interval for the difference."""
    p_value: float
    """Exact two-sided McNemar test of no difference."""

    @property
    def total(self) -> int:
        return self.both + self.first_only + self.second_only + self.neither


def wilson(successes: int, total: int, z: float = Z95) -> Proportion:
    if total <= 0 or not 0 <= successes <= total:
        raise ValueError(f"wilson: need 0 <= successes <= total and total > 0, got {successes}/{total}")
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    # Exact ends: at 0 or n successes the interval touches 0 or 1 (rounding would leave 1e-17).
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == total else min(1.0, centre + half)
    return Proportion(successes, total, p, low, high)


def accuracy(correct: Sequence[bool]) -> Proportion:
    return wilson(sum(map(bool, correct)), len(correct))


def paired_difference(first: Sequence[bool], second: Sequence[bool], z: float = Z95) -> PairedDifference:
    """Newcombe's (1998) method 10 interval for p_first - p_second on paired binary outcomes."""
    if len(first) != len(second) or not first:
        raise ValueError(f"paired_difference: need two equally long, non-empty sequences, "
                         f"got {len(first)} and {len(second)}")
    a = sum(1 for x, y in zip(first, second) if x and y)
    b = sum(1 for x, y in zip(first, second) if x and not y)
    c = sum(1 for x, y in zip(first, second) if not x and y)
    d = len(first) - a - b - c
    n = len(first)
    p1, p2 = (a + b) / n, (a + c) / n
    one, two = wilson(a + b, n, z), wilson(a + c, n, z)
    marginals = (a + b) * (c + d) * (a + c) * (b + d)
    phi = (a * d - b * c) / math.sqrt(marginals) if marginals else 0.0
    below = math.sqrt(max(0.0, (p1 - one.low) ** 2 - 2 * phi * (p1 - one.low) * (two.high - p2)
                          + (two.high - p2) ** 2))
    above = math.sqrt(max(0.0, (one.high - p1) ** 2 - 2 * phi * (one.high - p1) * (p2 - two.low)
                          + (p2 - two.low) ** 2))
    diff = p1 - p2
    return PairedDifference(a, b, c, d, diff, max(-1.0, diff - below), min(1.0, diff + above),
                            mcnemar_exact(b, c))


def mcnemar_exact(first_only: int, second_only: int) -> float:
    """Two-sided exact McNemar p-value: the discordant pairs split as Binomial(b + c, 1/2)."""
    n = first_only + second_only
    if n == 0:
        return 1.0
    k = min(first_only, second_only)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error over all the comparisons)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def verdict(difference: PairedDifference, adjusted_p: float, alpha: float = ALPHA) -> Verdict:
    """See `VERDICT_RULE`: both the interval and the corrected test must agree."""
    if adjusted_p < alpha and difference.low > 0:
        return "gained"
    if adjusted_p < alpha and difference.high < 0:
        return "forgot"
    return "no evidence either way"
