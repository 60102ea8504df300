"""Means over prompts, with the prompts as the independent units: each run's mean score and
its standard error, and the paired difference of two runs on the prompts both answered.

Why prompts and not scores: a hard prompt lowers every run's score together, and a judge
that scored one answer twice gives two correlated scores. The standard error therefore comes
from the spread between prompt totals (a cluster-robust, or linearised ratio, variance):
with one score per prompt it is the familiar s / sqrt(n).

Paired differences are taken prompt by prompt (run A's mean score on prompt p minus run B's),
so the prompt's difficulty cancels. That is why a paired interval is far narrower than the
two runs' own intervals when prompts differ more than runs do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .tables import ScoreTable


@dataclass(frozen=True)
class ClusterMean:
    """A mean over prompt clusters."""

    mean: float
    se: float | None
    """None below 2 prompts, where no spread between prompts exists."""
    n_prompts: int


def run_means(table: ScoreTable) -> list[ClusterMean]:
    """Per run (in `table.runs` order): total score / number of scores, and the cluster-robust
    standard error n/(n-1) * sum_p (S_p - mean * C_p)^2 / (sum_p C_p)^2 over its n prompts."""
    out = []
    for r in range(len(table.runs)):
        seen = table.counts[:, r] > 0
        sums, counts = table.sums[seen, r], table.counts[seen, r]
        n, total = int(seen.sum()), float(counts.sum())
        mean = float(sums.sum() / total)  # every run of a table has a score
        se = None
        if n >= 2:
            residuals = sums - mean * counts
            se = math.sqrt(n / (n - 1) * float(residuals @ residuals)) / total
        out.append(ClusterMean(mean, se, n))
    return out


def cell_means(table: ScoreTable) -> np.ndarray:
    """(n_prompts, n_runs): run r's mean score on prompt p; NaN where r has no score on p."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(table.counts > 0, table.sums / np.where(table.counts > 0, table.counts, 1), np.nan)


@dataclass(frozen=True, eq=False)
class PairedDifferences:
    """Every pair at once: [a, b] is run a minus run b over the prompts both answered."""

    mean: np.ndarray
    """(n_runs, n_runs); NaN where the two runs share no prompt."""
    se: np.ndarray
    """(n_runs, n_runs); NaN below 2 shared prompts."""
    n_prompts: np.ndarray
    """(n_runs, n_runs) shared prompts."""

    def get(self, a: int, b: int) -> ClusterMean | None:
        """Run a minus run b; None when they share no prompt."""
        n = int(self.n_prompts[a, b])
        if n == 0:
            return None
        se = float(self.se[a, b]) if n >= 2 else None
        return ClusterMean(float(self.mean[a, b]), se, n)


def paired_differences(cells: np.ndarray) -> PairedDifferences:
    """From `cell_means`: the mean and standard error of the per-prompt differences of every
    pair of runs, vectorised (a study has up to a few hundred pairs)."""
    seen = ~np.isnan(cells)
    values = np.where(seen, cells, 0.0)
    both = seen[:, :, None] & seen[:, None, :]
    diffs = np.where(both, values[:, :, None] - values[:, None, :], 0.0)
    n = both.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = diffs.sum(axis=0) / n
        centred = np.where(both, diffs - mean[None], 0.0)
        se = np.sqrt((centred ** 2).sum(axis=0) / (n - 1) / n)
    return PairedDifferences(np.where(n > 0, mean, np.nan), np.where(n >= 2, se, np.nan), n)
