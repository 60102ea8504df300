"""Krippendorff's alpha with the interval metric, from the definition.

    alpha = 1 - D_o / D_e

Only items rated by at least two judges ("pairable" values) count; n is the number of
pairable values, m_u the number of ratings of item u.

    D_o = 1/n * sum_u 1/(m_u - 1) * sum_{i != j in u} (v_i - v_j)^2      (within items)
    D_e = 1/(n (n - 1)) * sum_{i != j over all pairable values} (v_i - v_j)^2

(sums over ordered pairs). alpha = 1 is perfect agreement, 0 is agreement at chance level,
below 0 is systematic disagreement. Reference: Krippendorff (2011), "Computing Krippendorff's
alpha-reliability".
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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _sum_sq_diffs(values: np.ndarray) -> float:
    """Sum over ordered pairs i != j of (v_i - v_j)^2, in O(n): 2 (n sum v^2 - (sum v)^2)."""
    return float(2 * (values.size * np.sum(values ** 2) - np.sum(values) ** 2))


def krippendorff_alpha_interval(ratings: Mapping[str, Mapping[Hashable, float]]) -> KrippendorffAlpha:
    """`ratings`: judge -> item -> score. An item a judge did not rate is simply absent."""
    by_item: dict[Hashable, list[float]] = defaultdict(list)
    for judge_ratings in ratings.values():
        for item, score in judge_ratings.items():
            by_item[item].append(float(score))
    pairable = [np.array(v) for v in by_item.values() if len(v) >= 2]
    n = sum(v.size for v in pairable)
    if not pairable:
        return KrippendorffAlpha(None, 0, 0, len(ratings), "no item was rated by two judges")
    observed = sum(_sum_sq_diffs(v) / (v.size - 1) for v in pairable) / n
    expected = _sum_sq_diffs(np.concatenate(pairable)) / (n * (n - 1))
    if expected == 0:
        return KrippendorffAlpha(None, len(pairable), n, len(ratings),
                                 "all pairable ratings are equal, so chance disagreement is 0")
    return KrippendorffAlpha(1 - observed / expected, len(pairable), n, len(ratings), None)
