"""Krippendorff's alpha at the interval and the ordinal level, from the definition.

    alpha = 1 - D_o / D_e

Only items rated by at least two judges ("pairable" values) count; n is the number of
pairable values, m_u the number of ratings of item u.

    D_o = 1/n * sum_u 1/(m_u - 1) * sum_{i != j in u} (v_i - v_j)^2      (within items)
    D_e = 1/(n (n - 1)) * sum_{i != j over all pairable values} (v_i - v_j)^2

(sums over ordered pairs). alpha = 1 is perfect agreement, 0 is agreement at chance level,
below 0 is systematic disagreement. Reference: Krippendorff (2011), "Computing Krippendorff's
alpha-reliability".

The ordinal level uses only the order of the values: with the coincidence matrix o_ck (pairs of
values c, k within items, each item's pairs weighted 1/(m_u - 1)), n_c = sum_k o_ck and

    delta_ck^2 = (sum_{g=c..k} n_g - (n_c + n_k) / 2)^2
    alpha = 1 - (n - 1) * sum o_ck delta_ck^2 / sum n_c n_k delta_ck^2

so distances count the ratings that lie between two values, not their numeric difference: a
judge's uneven use of its scale (G-Eval expectations crowding between 6 and 7) is not taken for
disagreement. Both levels still compare values on one common scale.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class KrippendorffAlpha:
    alpha: float | None
    n_items: int
    """Items rated by at least two judges."""
    n_values: int
    """Pairable ratings (n in the formula)."""
    n_judges: int
    missing_reason: str | None
    level: str = "interval"
    """`interval` or `ordinal`."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _sum_sq_diffs(values: np.ndarray) -> float:
    """Sum over ordered pairs i != j of (v_i - v_j)^2, in O(n): 2 (n sum v^2 - (sum v)^2)."""
    return float(2 * (values.size * np.sum(values ** 2) - np.sum(values) ** 2))


def _pairable(ratings: Mapping[str, Mapping[Hashable, float]]) -> list[np.ndarray]:
    by_item: dict[Hashable, list[float]] = defaultdict(list)
    for judge_ratings in ratings.values():
        for item, score in judge_ratings.items():
            by_item[item].append(float(score))
    return [np.array(v) for v in by_item.values() if len(v) >= 2]


def krippendorff_alpha_interval(ratings: Mapping[str, Mapping[Hashable, float]]) -> KrippendorffAlpha:
    """`ratings`: judge -> item -> score. An item a judge did not rate is simply absent."""
    pairable = _pairable(ratings)
    n = sum(v.size for v in pairable)
    if not pairable:
        return KrippendorffAlpha(None, 0, 0, len(ratings), "no item was rated by two judges")
    observed = sum(_sum_sq_diffs(v) / (v.size - 1) for v in pairable) / n
    expected = _sum_sq_diffs(np.concatenate(pairable)) / (n * (n - 1))
    if expected == 0:
        return KrippendorffAlpha(None, len(pairable), n, len(ratings),
                                 "all pairable ratings are equal, so chance disagreement is 0")
    return KrippendorffAlpha(1 - observed / expected, len(pairable), n, len(ratings), None)


def krippendorff_alpha_ordinal(ratings: Mapping[str, Mapping[Hashable, float]]) -> KrippendorffAlpha:
    """Alpha with the ordinal metric; `ratings` as for `krippendorff_alpha_interval`."""
    pairable = _pairable(ratings)
    if not pairable:
        return KrippendorffAlpha(None, 0, 0, len(ratings), "no item was rated by two judges", "ordinal")
    values = np.unique(np.concatenate(pairable))
    coincidence = np.zeros((values.size, values.size))
    for item in pairable:
        index = np.searchsorted(values, item)
        first, second = np.meshgrid(index, index, indexing="ij")
        off_diagonal = ~np.eye(item.size, dtype=bool)
        np.add.at(coincidence, (first[off_diagonal], second[off_diagonal]), 1.0 / (item.size - 1))
    counts = coincidence.sum(axis=1)
    n = counts.sum()
    cumulative = np.cumsum(counts)
    low, high = np.minimum.outer(np.arange(values.size), np.arange(values.size)), \
        np.maximum.outer(np.arange(values.size), np.arange(values.size))
    between = cumulative[high] - cumulative[low] + counts[low]  # sum of n_g for g from low to high
    delta = (between - (counts[low] + counts[high]) / 2) ** 2
    expected = float((np.outer(counts, counts) * delta).sum())
    n_values = int(round(n))
    if expected == 0:
        return KrippendorffAlpha(None, len(pairable), n_values, len(ratings),
                                 "all pairable ratings are equal, so chance disagreement is 0", "ordinal")
    alpha = 1 - (n - 1) * float((coincidence * delta).sum()) / expected
    return KrippendorffAlpha(alpha, len(pairable), n_values, len(ratings), None, "ordinal")
