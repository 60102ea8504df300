"""An adapter's improvement over the base model, paired over the same validation conversations.

A validation loss is a ratio of sums, sum(loss) / sum(tokens), whose tokens come in clusters
(conversations), so conversations are the unit of resampling. The interval is R +- t_{n-1} SE
with R = sum(y) / sum(x) and the delete-one-conversation jackknife SE, which keeps close to its
nominal coverage at 16 conversations where the linearised (delta-method) SE undercovers
(tested by simulation). Pairing: the difference uses y_i = base_i - adapter_i for the same
conversation i and x_i = its tokens, so the large spread in difficulty between conversations
cancels; the ratio uses y = adapter, x = base.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from ..artifacts.run import ExampleLosses
from ..artifacts.sweep import Improvement

LEVEL = 0.95
METHOD = "paired over validation conversations: ratio of sums, jackknife SE over conversations, t with n-1 df"


def ratio_interval(y: np.ndarray, x: np.ndarray, level: float = LEVEL) -> tuple[float, float, float]:
    """sum(y) / sum(x) and its `level` interval, conversations as clusters (n >= 2)."""
    n = len(y)
    r = float(y.sum() / x.sum())
    leave_one_out = (y.sum() - y) / (x.sum() - x)
    se = math.sqrt((n - 1) / n * float(((leave_one_out - leave_one_out.mean()) ** 2).sum()))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * se
    return r, r - half, r + half


def paired(base: ExampleLosses, adapter: ExampleLosses) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(base loss sums, adapter loss sums, tokens) on the same conversations, or None when the
    two were not measured on the same conversations with the same tokens."""
    if base.examples != adapter.examples or base.targets != adapter.targets:
        return None
    return np.asarray(base.loss_sum), np.asarray(adapter.loss_sum), np.asarray(base.targets, dtype=np.float64)


def improvement(base: ExampleLosses, adapter: ExampleLosses, level: float = LEVEL) -> Improvement | None:
    """The adapter's loss against the base's with paired intervals; None when not comparable
    (other conversations) or when there are fewer than 2 conversations to estimate a spread."""
    sums = paired(base, adapter)
    if sums is None or len(sums[0]) < 2:
        return None
    b, a, n = sums
    delta, d_low, d_high = ratio_interval(b - a, n, level)
    ratio, r_low, r_high = ratio_interval(a, b, level)
    return Improvement(base_loss=float(b.sum() / n.sum()), adapter_loss=float(a.sum() / n.sum()), delta=delta,
                       delta_low=d_low, delta_high=d_high, ratio=ratio, ratio_low=r_low, ratio_high=r_high,
                       level=level, n_examples=len(b), method=METHOD)
