"""Regularised Bradley-Terry fit by Newton's method, batched over win matrices.

Model: P(i beats j) = 1 / (1 + exp(-(theta_i - theta_j))), theta = log-strength. Ties count
half a win for each side.

Regularisation (why): with plain maximum likelihood a run that never loses has infinite
strength, and a run that never wins has strength 0. Each run is therefore given `prior_games`
virtual games against a virtual opponent of fixed log-strength 0, scored as ties (half a win,
half a loss). That is a weak prior pulling strengths towards the opponent; it makes the
penalised log-likelihood strictly concave, so the estimate is finite and unique, and its pull
fades as real games accumulate. Strengths are reported shifted to mean 0 over the fitted runs
(only differences are meaningful).

Why Newton rather than the classic MM iteration: MM converges linearly and needs thousands of
iterations when one run dominates; Newton needs about ten, which keeps a 1000-resample
bootstrap well under a second. Each step is halved until the objective does not decrease, so
the iteration cannot overshoot. The tests check the result against an MM reference.

Batched: one fit runs on many win matrices at once (one per bootstrap resample).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

PRIOR_GAMES = 1.0
TOLERANCE = 1e-10
MAX_ITERATIONS = 100
MAX_HALVINGS = 30


@dataclass(frozen=True, eq=False)
class BatchFit:
    log_strengths: np.ndarray
    """(n_batch, n_runs), mean 0 in each row."""
    iterations: int
    converged: np.ndarray
    """(n_batch,) bool: the last Newton step of that row was below the tolerance."""


def _objective(theta: np.ndarray, wins: np.ndarray, prior: float) -> np.ndarray:
    """Penalised log-likelihood per batch row (to be maximised)."""
    diff = theta[:, :, None] - theta[:, None, :]
    games = (wins * -np.logaddexp(0, -diff)).sum(axis=(1, 2))
    virtual = prior * (0.5 * theta - np.logaddexp(0, theta)).sum(axis=1)
    return games + virtual


def _newton_step(theta: np.ndarray, won: np.ndarray, games: np.ndarray, prior: float) -> np.ndarray:
    p = expit(theta[:, :, None] - theta[:, None, :])
    q = expit(theta)
    gradient = won - (games * p).sum(axis=2) + prior * (0.5 - q)
    curvature = games * p * (1 - p)
    information = -curvature
    diag = curvature.sum(axis=2) + prior * q * (1 - q)
    idx = np.arange(theta.shape[1])
    information[:, idx, idx] = diag
    return np.linalg.solve(information, gradient[:, :, None])[:, :, 0]


def fit_log_strengths(wins: np.ndarray, prior_games: float = PRIOR_GAMES) -> BatchFit:
    """`wins` is (n_batch, n_runs, n_runs) or (n_runs, n_runs): wins[i, j] = games i won vs j."""
    if prior_games <= 0:
        raise ValueError("prior_games must be > 0: without it a run that never loses diverges")
    wins = np.asarray(wins, dtype=float)
    wins = wins[None] if wins.ndim == 2 else wins
    won = wins.sum(axis=2)
    games = wins + wins.transpose(0, 2, 1)
    theta = np.zeros(wins.shape[:2])
    if theta.size == 0:
        return BatchFit(theta, 0, np.ones(theta.shape[0], dtype=bool))
    value = _objective(theta, wins, prior_games)
    for iteration in range(1, MAX_ITERATIONS + 1):
        step = _newton_step(theta, won, games, prior_games)
        scale = np.ones((theta.shape[0], 1))
        for _ in range(MAX_HALVINGS):
            trial = theta + scale * step
            trial_value = _objective(trial, wins, prior_games)
            worse = trial_value < value - 1e-12 * np.abs(value)
            if not worse.any():
                break
            scale[worse] /= 2
        theta, value = trial, trial_value
        converged = np.max(np.abs(scale * step), axis=1) < TOLERANCE
        if converged.all():
            break
    return BatchFit(theta - theta.mean(axis=1, keepdims=True), iteration, converged)


def win_prob_vs_average(log_strength: np.ndarray) -> np.ndarray:
    """P(beat a run of average log-strength, i.e. 0, once strengths have mean 0)."""
    return expit(log_strength)
