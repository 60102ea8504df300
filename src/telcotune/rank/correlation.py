"""Rank correlation between two orderings of runs: Kendall tau-b and Spearman rho.

An ordering is either a list of runs best first, or a mapping run -> score where higher is
better (then tied scores are ties; both statistics handle ties with average ranks). Only runs
present in both orderings are compared.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

Ordering = Sequence[str] | Mapping[str, float]


@dataclass(frozen=True)
class Correlation:
    kendall_tau_b: float | None
    spearman_rho: float | None
    n: int
    """Runs in both orderings."""
    missing_reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def as_scores(ordering: Ordering) -> dict[str, float]:
    """Higher is better: a list best first becomes -position."""
    if isinstance(ordering, Mapping):
        return {run: float(v) for run, v in ordering.items()}
    if len(set(ordering)) != len(ordering):
        raise ValueError("an ordering lists a run twice")
    return {run: -float(pos) for pos, run in enumerate(ordering)}


def correlate_scores(a: Mapping[str, float], b: Mapping[str, float]) -> Correlation:
    common = sorted(set(a) & set(b))
    if len(common) < 2:
        return Correlation(None, None, len(common), f"{len(common)} run(s) in both orderings; need 2")
    x, y = np.array([a[r] for r in common]), np.array([b[r] for r in common])
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return Correlation(None, None, len(common), "an ordering ranks all common runs equal")
    tau = stats.kendalltau(x, y, variant="b").statistic
    rho = stats.spearmanr(x, y).statistic
    return Correlation(float(tau), float(rho), len(common), None)


def rank_correlation(order_a: Ordering, order_b: Ordering) -> Correlation:
    return correlate_scores(as_scores(order_a), as_scores(order_b))


def batch_correlations(fixed: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Kendall tau-b and Spearman rho between `fixed` (n_runs,) and each row of `draws`
    (n_batch, n_runs), vectorised for the bootstrap: (n_batch, 2). NaN (see bootstrap.py) where
    a row has a NaN or no variation. Matches scipy; the tests check it."""
    upper = np.triu_indices(fixed.size, k=1)
    sx = np.sign(fixed[:, None] - fixed[None, :])[upper]
    sy = np.sign(draws[:, :, None] - draws[:, None, :])[:, upper[0], upper[1]]
    with np.errstate(invalid="ignore", divide="ignore"):
        # tau-b = sum(sx*sy) / sqrt(#pairs untied in x * #pairs untied in y)
        tau = (sy @ sx) / np.sqrt((sx != 0).sum() * (sy != 0).sum(axis=1))
        rx = stats.rankdata(fixed)
        ry = stats.rankdata(draws, axis=1)
        rx_c, ry_c = rx - rx.mean(), ry - ry.mean(axis=1, keepdims=True)
        rho = (ry_c @ rx_c) / np.sqrt((rx_c ** 2).sum() * (ry_c ** 2).sum(axis=1))
    out = np.stack([tau, rho], axis=1)
    undefined = np.isnan(draws).any(axis=1) | (np.ptp(draws, axis=1) == 0) | (np.ptp(fixed) == 0)
    out[undefined] = np.nan
    return out
