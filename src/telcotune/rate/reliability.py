"""Agreement statistics with prompt-bootstrap intervals: Cohen's kappa (plain or weighted), raw
agreement with and without ties, and Krippendorff's alpha (nominal, ordinal, interval).

Each statistic is a function of per-prompt count tables, so a bootstrap resample (a weight per
prompt, see rank/bootstrap.py) is one matrix product and all resamples are computed at once:

- a *confusion* table C[p, i, j] counts the units of prompt p labelled i by the first coder and
  j by the second (Cohen's kappa, raw agreement);
- a *coincidence* table O[p, c, k] is Krippendorff's: each unit u with m_u >= 2 values adds
  n_uc n_uk / (m_u - 1) for c != k and n_uc (n_uc - 1) / (m_u - 1) for c == k.

Definitions (Krippendorff 2011, "Computing Krippendorff's alpha-reliability"; Cohen 1960/1968):

    kappa   = 1 - sum(w * C) / sum(w * E),  E = outer(row totals, column totals) / N,
              w = 0 on the diagonal and 1 elsewhere (plain), |i - j| (linear), (i - j)^2 (quadratic)
    alpha   = 1 - (n - 1) sum(O * d2) / sum(outer(n_c, n_c) * d2),  n_c = row sums of O, n = sum(n_c)
    d2      = nominal: [c != k]; interval: (v_c - v_k)^2;
              ordinal: (sum of n_g for g from c to k - (n_c + n_k) / 2)^2

Prompts are the resampling unit because all ratings of one prompt share its difficulty (see
rank/bootstrap.py). A statistic that is undefined on a resample (no variation) is dropped there.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ..rank.bootstrap import Interval, cluster_weights, percentile_interval

Level = Literal["nominal", "ordinal", "interval"]
KappaWeights = Literal["none", "linear", "quadratic"]
MIN_PROMPTS = 2
"""A prompt bootstrap needs at least two prompts to vary anything."""


@dataclass(frozen=True)
class Estimate:
    value: float | None
    ci: Interval | None
    n_units: int
    """Units the statistic is computed on (items, or pairs of answers)."""
    n_prompts: int
    missing_reason: str | None
    """Why value or ci is None."""

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "ci": None if self.ci is None else self.ci.to_dict(),
                "n_units": self.n_units, "n_prompts": self.n_prompts, "missing_reason": self.missing_reason}


# ---------------------------------------------------------------- statistics of count tables


def kappa_from_confusion(confusion: np.ndarray, weights: KappaWeights = "none") -> np.ndarray:
    """Cohen's kappa of confusion tables (..., K, K); NaN where undefined."""
    confusion = np.asarray(confusion, dtype=float)
    k = confusion.shape[-1]
    i, j = np.indices((k, k))
    w = {"none": (i != j).astype(float), "linear": np.abs(i - j).astype(float),
         "quadratic": ((i - j) ** 2).astype(float)}[weights]
    total = confusion.sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = confusion.sum(axis=-1)[..., :, None] * confusion.sum(axis=-2)[..., None, :] / total[..., None, None]
        observed_d, expected_d = (w * confusion).sum(axis=(-2, -1)), (w * expected).sum(axis=(-2, -1))
        return np.where(expected_d > 0, 1 - observed_d / expected_d, np.nan)


def agreement_from_confusion(confusion: np.ndarray, ignore: Sequence[int] = ()) -> np.ndarray:
    """Share of units on the diagonal, among units neither coder labelled with a category in
    `ignore` (e.g. ties); NaN where no unit is left."""
    confusion = np.array(confusion, dtype=float)
    for c in ignore:
        confusion[..., c, :] = 0
        confusion[..., :, c] = 0
    total = confusion.sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, np.trace(confusion, axis1=-2, axis2=-1) / total, np.nan)


def _ordinal_d2(marginals: np.ndarray) -> np.ndarray:
    """(..., K) category totals (categories in order) -> (..., K, K) squared ordinal distances."""
    cum = np.cumsum(marginals, axis=-1)
    low_cum = cum - marginals  # sum of n_g for g < c
    c, k = np.indices((marginals.shape[-1],) * 2)
    lo, hi = np.minimum(c, k), np.maximum(c, k)
    between = cum[..., hi] - low_cum[..., lo]
    return (between - (marginals[..., c] + marginals[..., k]) / 2) ** 2


def alpha_from_coincidence(coincidence: np.ndarray, level: Level, values: Sequence[float] | None = None) -> np.ndarray:
    """Krippendorff's alpha of coincidence tables (..., K, K); categories are in `values`
    order (needed for interval and ordinal). NaN where chance disagreement is 0."""
    coincidence = np.asarray(coincidence, dtype=float)
    k = coincidence.shape[-1]
    marginals = coincidence.sum(axis=-1)
    n = marginals.sum(axis=-1)
    if level == "nominal":
        d2 = np.broadcast_to(1.0 - np.eye(k), coincidence.shape)
    elif level == "interval":
        v = np.asarray(values, dtype=float)
        d2 = np.broadcast_to((v[:, None] - v[None, :]) ** 2, coincidence.shape)
    else:
        d2 = _ordinal_d2(marginals)
    observed = (coincidence * d2).sum(axis=(-2, -1))
    expected = (marginals[..., :, None] * marginals[..., None, :] * d2).sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(expected > 0, 1 - (n - 1) * observed / expected, np.nan)


# ---------------------------------------------------------------- tables from labelled units


@dataclass(frozen=True, eq=False)
class PromptTables:
    """Per-prompt count tables (n_prompts, K, K) over `categories`."""

    prompts: tuple[Hashable, ...]
    categories: tuple[Hashable, ...]
    counts: np.ndarray
    n_units: int

    def totals(self, weights: np.ndarray | None = None) -> np.ndarray:
        """(n_weightings, K, K) weighted sums; the plain sum without weights."""
        w = np.ones((1, len(self.prompts))) if weights is None else weights
        k = len(self.categories)
        return (w @ self.counts.reshape(len(self.prompts), k * k)).reshape(-1, k, k)


def confusion_tables(pairs: Sequence[tuple[Hashable, Hashable, Hashable]],
                     categories: Sequence[Hashable]) -> PromptTables:
    """`pairs`: (prompt, first coder's label, second coder's label) per unit."""
    prompts = tuple(sorted({p for p, _, _ in pairs}, key=str))
    p_ix, c_ix = {p: i for i, p in enumerate(prompts)}, {c: i for i, c in enumerate(categories)}
    counts = np.zeros((len(prompts), len(categories), len(categories)))
    for prompt, a, b in pairs:
        counts[p_ix[prompt], c_ix[a], c_ix[b]] += 1
    return PromptTables(prompts, tuple(categories), counts, len(pairs))


def coincidence_tables(units: Sequence[tuple[Hashable, Sequence[Hashable]]],
                       categories: Sequence[Hashable] | None = None) -> PromptTables:
    """`units`: (prompt, the unit's values); units with fewer than two values are not pairable
    and left out. Categories default to the sorted distinct values."""
    pairable = [(p, list(v)) for p, v in units if len(v) >= 2]
    cats = tuple(categories) if categories is not None else tuple(sorted({x for _, v in pairable for x in v}))
    prompts = tuple(sorted({p for p, _ in pairable}, key=str))
    p_ix, c_ix = {p: i for i, p in enumerate(prompts)}, {c: i for i, c in enumerate(cats)}
    counts = np.zeros((len(prompts), len(cats), len(cats)))
    for prompt, values in pairable:
        n_u = np.bincount([c_ix[x] for x in values], minlength=len(cats)).astype(float)
        counts[p_ix[prompt]] += (np.outer(n_u, n_u) - np.diag(n_u)) / (len(values) - 1)
    return PromptTables(prompts, cats, counts, len(pairable))


# ---------------------------------------------------------------- estimates with intervals


def estimate(tables: PromptTables, statistic, n_resamples: int, seed: int, alpha: float = 0.05) -> Estimate:
    """`statistic`: (n, K, K) tables -> (n,) values (NaN where undefined)."""
    if tables.n_units == 0:
        return Estimate(None, None, 0, 0, "no units to compare")
    value = float(statistic(tables.totals())[0])
    if not np.isfinite(value):
        return Estimate(None, None, tables.n_units, len(tables.prompts),
                        "undefined: the labels do not vary (no disagreement is possible by chance)")
    if len(tables.prompts) < MIN_PROMPTS:
        return Estimate(value, None, tables.n_units, len(tables.prompts),
                        f"units from {len(tables.prompts)} prompt(s); a prompt bootstrap needs {MIN_PROMPTS}")
    draws = statistic(tables.totals(cluster_weights(len(tables.prompts), n_resamples, seed)))
    ci, reason = percentile_interval(draws, alpha)
    return Estimate(value, ci, tables.n_units, len(tables.prompts), reason)


def cohen_kappa(pairs: Sequence[tuple[Hashable, Hashable, Hashable]], categories: Sequence[Hashable],
                weights: KappaWeights = "none", n_resamples: int = 1000, seed: int = 0,
                alpha: float = 0.05) -> Estimate:
    """Kappa between two coders; `pairs` as in `confusion_tables` (categories in order for
    weighted kappa)."""
    return estimate(confusion_tables(pairs, categories), lambda c: kappa_from_confusion(c, weights),
                    n_resamples, seed, alpha)


def raw_agreement(pairs: Sequence[tuple[Hashable, Hashable, Hashable]], categories: Sequence[Hashable],
                  ignore: Sequence[Hashable] = (), n_resamples: int = 1000, seed: int = 0,
                  alpha: float = 0.05) -> Estimate:
    """Share of units both coders label alike, leaving out units where either used a category
    in `ignore`."""
    kept = [(p, a, b) for p, a, b in pairs if a not in ignore and b not in ignore]
    tables = confusion_tables(kept, categories)
    return estimate(tables, agreement_from_confusion, n_resamples, seed, alpha)


def krippendorff_alpha(units: Sequence[tuple[Hashable, Sequence[Hashable]]], level: Level,
                       n_resamples: int = 1000, seed: int = 0, alpha: float = 0.05) -> Estimate:
    """Alpha over `units` (prompt, values by every coder who rated the unit); values are labels
    (nominal) or numbers (ordinal, interval)."""
    tables = coincidence_tables(units)
    values = tables.categories if level == "interval" else None
    return estimate(tables, lambda o: alpha_from_coincidence(o, level, values), n_resamples, seed, alpha)
