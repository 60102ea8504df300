"""Can this judge tell the runs apart? Diagnostics computed for every judge, and a verdict
(`discriminates`) with the reasons when it cannot.

Per protocol (pointwise scores, pairwise verdicts):

- usable share: judgments that produced a score or verdict, of all asked for;
- spread: the standard deviation across runs of the run means (pointwise) or Bradley-Terry
  strengths (pairwise, orders merged);
- split-half reliability of the run ranking: the prompts are split into two random halves, the
  runs scored on each, and the Spearman correlation of the two halves is Spearman-Brown
  corrected to the full set, 2r / (1 + r) (a negative r is kept as it is: the correction is
  meant for positive reliabilities). The estimate is the mean over RELIABILITY_SPLITS random
  splits; its interval comes from the prompt bootstrap (bootstrap.py), one random split of the
  drawn prompts per resample (a prompt drawn twice stays in one half);
- position bias (pairwise): `orders.position_bias`;
- length: the Spearman correlation of scores with answer length in characters (pointwise), or
  of the outcome for the first-named run (1 win, 0.5 tie, 0 loss) with the length difference
  (pairwise), with a prompt-bootstrap interval.

A protocol *cannot discriminate* when its usable share is below MIN_USABLE_SHARE, its scores
have no spread (below MIN_SPREAD), or its reliability is undefined or its interval includes 0.
Position bias and length preference are warnings, shown but not disqualifying (length control,
`rank.length`, corrects the latter). A judge discriminates when every protocol it ran does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import stats

from .bootstrap import Interval, cluster_weights, percentile_interval
from .bt_fit import PRIOR_GAMES
from .inputs import PairVerdict, ScoreRow
from .orders import PositionBias, consistent_outcomes, position_bias
from .pairwise import batch_strengths
from .tables import ScoreTable, WinTable

Protocol = Literal["pointwise", "pairwise"]
Lengths = Mapping[tuple[str, str], float]
"""(run, prompt_id) -> answer length in characters."""

MIN_USABLE_SHARE = 0.5
"""Below this share of usable judgments a judge mostly failed to answer."""
MIN_SPREAD = 1e-6
"""Run means (strengths) whose standard deviation is below this are all the same."""
MIN_PROMPTS = 4
"""Split-half reliability needs two prompts in each half."""
RELIABILITY_SPLITS = 200
POSITION_BIAS_WARN = 0.7
"""Warn when this share of decisive verdicts goes to the same position (first or second)..."""
MIN_DECISIVE_FOR_BIAS = 10
"""...among at least this many decisive verdicts."""


@dataclass(frozen=True)
class Estimate:
    """A statistic with its bootstrap interval, or the reason it is undefined."""

    value: float | None
    ci: Interval | None
    missing_reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "ci": None if self.ci is None else self.ci.to_dict(),
                "missing_reason": self.missing_reason}


@dataclass(frozen=True)
class ProtocolDiagnostics:
    protocol: Protocol
    n_judgments: int
    n_usable: int
    usable_share: float | None
    n_runs: int
    n_prompts: int
    spread: float | None
    """Standard deviation across runs of their mean scores (pointwise) or strengths (pairwise)."""
    reliability: Estimate
    """Spearman-Brown corrected split-half rank correlation of the run scores."""
    length_correlation: Estimate
    position_bias: PositionBias | None
    discriminates: bool
    reasons: tuple[str, ...]
    """Why it cannot discriminate (empty when it can)."""
    warnings: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {"protocol": self.protocol, "n_judgments": self.n_judgments, "n_usable": self.n_usable,
                "usable_share": self.usable_share, "n_runs": self.n_runs, "n_prompts": self.n_prompts,
                "spread": self.spread, "reliability": self.reliability.to_dict(),
                "length_correlation": self.length_correlation.to_dict(),
                "position_bias": None if self.position_bias is None else self.position_bias.to_dict(),
                "discriminates": self.discriminates, "reasons": list(self.reasons), "warnings": list(self.warnings)}


@dataclass(frozen=True)
class JudgeDiagnostics:
    judge: str
    pointwise: ProtocolDiagnostics | None
    pairwise: ProtocolDiagnostics | None

    @property
    def protocols(self) -> tuple[ProtocolDiagnostics, ...]:
        return tuple(p for p in (self.pointwise, self.pairwise) if p is not None)

    @property
    def discriminates(self) -> bool:
        return bool(self.protocols) and all(p.discriminates for p in self.protocols)

    @property
    def reasons(self) -> tuple[str, ...]:
        if not self.protocols:
            return ("no judgments",)
        return tuple(f"{p.protocol}: {r}" for p in self.protocols for r in p.reasons)

    def to_dict(self) -> dict[str, Any]:
        return {"judge": self.judge, "discriminates": self.discriminates, "reasons": list(self.reasons),
                "pointwise": None if self.pointwise is None else self.pointwise.to_dict(),
                "pairwise": None if self.pairwise is None else self.pairwise.to_dict()}


# ------------------------------------------------------------------------------ the statistics

def spearman_brown(r: np.ndarray) -> np.ndarray:
    """2r / (1 + r) for r >= 0; r itself below 0; NaN stays NaN."""
    r = np.asarray(r, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(r >= 0, 2 * r / (1 + r), r)


def rowwise_spearman(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman rho of each row of x with the same row of y, (n_rows,); NaN where a row has a NaN
    or no variation."""
    undefined = np.isnan(x).any(axis=1) | np.isnan(y).any(axis=1)
    rx = stats.rankdata(np.nan_to_num(x), axis=1)
    ry = stats.rankdata(np.nan_to_num(y), axis=1)
    rx, ry = rx - rx.mean(axis=1, keepdims=True), ry - ry.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = (rx * ry).sum(axis=1) / np.sqrt((rx ** 2).sum(axis=1) * (ry ** 2).sum(axis=1))
    rho[undefined | ~np.isfinite(rho)] = np.nan
    return rho


def random_halves(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(B, P) bool: a random half of each row's drawn prompts (weight > 0)."""
    keys = rng.random(weights.shape)
    keys[weights <= 0] = np.inf
    ranks = keys.argsort(axis=1).argsort(axis=1)
    drawn = (weights > 0).sum(axis=1, keepdims=True)
    return ranks < drawn // 2


def split_half(score_fn, n_prompts: int, n_resamples: int, seed: int, alpha: float) -> Estimate:
    """Split-half reliability of `score_fn(weights) -> (B, n_runs)` run scores."""
    if n_prompts < MIN_PROMPTS:
        return Estimate(None, None, f"{n_prompts} prompts; a split half needs {MIN_PROMPTS}")
    rng = np.random.default_rng(seed)

    def reliability(weights: np.ndarray) -> np.ndarray:
        half = random_halves(weights, rng)
        return spearman_brown(rowwise_spearman(score_fn(weights * half), score_fn(weights * ~half)))

    splits = reliability(np.ones((RELIABILITY_SPLITS, n_prompts)))
    if np.isnan(splits).all():
        return Estimate(None, None, "the run scores of the halves do not vary (or a run is missing from a half)")
    ci, reason = percentile_interval(reliability(cluster_weights(n_prompts, n_resamples, seed)), alpha)
    return Estimate(float(np.nanmean(splits)), ci, reason)


def _weighted_spearman(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Pearson correlation of the ranks of x and y (ranks of the full data) under each row of
    `weights`, (B,)."""
    rx, ry = stats.rankdata(x), stats.rankdata(y)
    total = weights.sum(axis=1, keepdims=True)
    mx, my = (weights * rx).sum(axis=1, keepdims=True) / total, (weights * ry).sum(axis=1, keepdims=True) / total
    cov = (weights * (rx - mx) * (ry - my)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return cov / np.sqrt((weights * (rx - mx) ** 2).sum(axis=1) * (weights * (ry - my) ** 2).sum(axis=1))


def length_correlation(values: np.ndarray, lengths: np.ndarray, prompt_of: np.ndarray, n_prompts: int,
                       n_resamples: int, seed: int, alpha: float) -> Estimate:
    if values.size < 3 or np.ptp(values) == 0 or np.ptp(lengths) == 0:
        return Estimate(None, None, "scores or lengths do not vary")
    value = float(stats.spearmanr(values, lengths).statistic)
    weights = cluster_weights(n_prompts, n_resamples, seed)[:, prompt_of]
    ci, reason = percentile_interval(_weighted_spearman(values, lengths, weights), alpha)
    return Estimate(value, ci, reason)


# ------------------------------------------------------------------------------ per protocol

def _verdict(usable_share: float | None, spread: float | None, reliability: Estimate) -> tuple[str, ...]:
    reasons = []
    if usable_share is None or usable_share < MIN_USABLE_SHARE:
        share = "no judgments" if usable_share is None else f"{usable_share:.0%}"
        reasons.append(f"usable share {share} is below {MIN_USABLE_SHARE:.0%}")
    if spread is None or spread < MIN_SPREAD:
        reasons.append("no spread: every run got the same score")
    elif reliability.value is None:
        reasons.append(f"split-half reliability undefined ({reliability.missing_reason})")
    elif reliability.ci is None:
        reasons.append(f"split-half reliability has no interval ({reliability.missing_reason})")
    elif reliability.ci.low <= 0:
        reasons.append(f"split-half reliability {reliability.value:.2f} has a "
                       f"{reliability.ci.level:.0%} interval [{reliability.ci.low:.2f}, {reliability.ci.high:.2f}] "
                       "that includes 0")
    return tuple(reasons)


def _length_warning(estimate: Estimate) -> tuple[str, ...]:
    if estimate.ci is not None and estimate.ci.excludes_zero():
        direction = "longer" if estimate.value > 0 else "shorter"
        return (f"prefers {direction} answers: length correlation {estimate.value:.2f} "
                f"[{estimate.ci.low:.2f}, {estimate.ci.high:.2f}]",)
    return ()


def diagnose_pointwise(rows: Sequence[ScoreRow], n_judgments: int, lengths: Lengths | None = None, *,
                       n_resamples: int = 1000, seed: int = 0, alpha: float = 0.05) -> ProtocolDiagnostics:
    """`rows`: the usable scores; `n_judgments`: all pointwise judgments asked for (usable or not)."""
    share = len(rows) / n_judgments if n_judgments else None
    if not rows:
        none = Estimate(None, None, "no usable scores")
        return ProtocolDiagnostics("pointwise", n_judgments, 0, share, 0, 0, None, none, none, None, False,
                                   _verdict(share, None, none)[:1])
    table = ScoreTable.from_rows(rows)
    means = table.means()
    spread = float(np.nanstd(means)) if len(table.runs) >= 2 else None
    reliability = split_half(table.weighted_means, len(table.prompts), n_resamples, seed, alpha)
    length = Estimate(None, None, "no answer lengths were given")
    if lengths is not None:
        prompt_ix = {p: i for i, p in enumerate(table.prompts)}
        length = length_correlation(np.array([r.score for r in rows]),
                                    np.array([float(lengths[(r.run, r.prompt_id)]) for r in rows]),
                                    np.array([prompt_ix[r.prompt_id] for r in rows]), len(table.prompts),
                                    n_resamples, seed, alpha)
    reasons = _verdict(share, spread, reliability)
    return ProtocolDiagnostics("pointwise", n_judgments, len(rows), share, len(table.runs), len(table.prompts),
                               spread, reliability, length, None, not reasons, reasons, _length_warning(length))


def diagnose_pairwise(verdicts: Sequence[PairVerdict], n_judgments: int, lengths: Lengths | None = None, *,
                      n_resamples: int = 1000, seed: int = 0, alpha: float = 0.05,
                      prior_games: float = PRIOR_GAMES) -> ProtocolDiagnostics:
    """`verdicts`: the usable verdicts; `n_judgments`: all pairwise judgments asked for."""
    share = len(verdicts) / n_judgments if n_judgments else None
    if not verdicts:
        none = Estimate(None, None, "no usable verdicts")
        return ProtocolDiagnostics("pairwise", n_judgments, 0, share, 0, 0, None, none, none, None, False,
                                   _verdict(share, None, none)[:1])
    outcomes = consistent_outcomes(verdicts)
    table = WinTable.from_games(outcomes)
    strengths = batch_strengths(table, np.ones((1, len(table.prompts))), prior_games)[0]
    spread = float(np.nanstd(strengths)) if len(table.runs) >= 2 else None
    reliability = split_half(lambda w: batch_strengths(table, w, prior_games), len(table.prompts),
                             n_resamples, seed, alpha)
    bias = position_bias(verdicts)
    length = Estimate(None, None, "no answer lengths were given")
    if lengths is not None:
        prompt_ix = {p: i for i, p in enumerate(table.prompts)}
        outcome = np.array([0.5 if o.winner is None else float(o.winner == o.run_a) for o in outcomes])
        delta = np.array([float(lengths[(o.run_a, o.prompt_id)] - lengths[(o.run_b, o.prompt_id)]) for o in outcomes])
        length = length_correlation(outcome, delta, np.array([prompt_ix[o.prompt_id] for o in outcomes]),
                                    len(table.prompts), n_resamples, seed, alpha)
    warnings = _length_warning(length)
    if bias.n_decisive_verdicts >= MIN_DECISIVE_FOR_BIAS and bias.first_position_share is not None \
            and max(bias.first_position_share, 1 - bias.first_position_share) >= POSITION_BIAS_WARN:
        side = "first" if bias.first_position_share >= 0.5 else "second"
        share_side = max(bias.first_position_share, 1 - bias.first_position_share)
        warnings += (f"position bias: the {side} answer wins {share_side:.0%} of decisive verdicts",)
    reasons = _verdict(share, spread, reliability)
    return ProtocolDiagnostics("pairwise", n_judgments, len(verdicts), share, len(table.runs), len(table.prompts),
                               spread, reliability, length, bias, not reasons, reasons, warnings)
