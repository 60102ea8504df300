"""Length control: pairwise strengths and pointwise means as they would be if every answer had
the same length (AlpacaEval 2's length-controlled win rate, Dubois et al. 2024).

Pairwise. Each merged outcome (both orders of a pair on a prompt, `consistent_outcomes`) is
modelled as

    P(a beats b) = logistic(theta_a - theta_b + beta * tanh(delta / sd(delta)))

with delta the answers' length difference in characters (a minus b) and sd its standard
deviation over the games; ties count half a win each. The length-controlled strengths are the
thetas (the prediction at zero length difference); beta > 0 means the judge prefers longer
answers. AlpacaEval's GLM also has an instruction-difficulty term for its fixed baseline; with
runs compared among themselves the Bradley-Terry strengths take that place. The thetas get the
same weak prior as `bt_fit` (PRIOR_GAMES virtual ties against strength 0) and beta a Gaussian
prior of scale BETA_PRIOR_SD, so a judge that always picks the longer answer stays finite.
A run's length-controlled win rate is its mean predicted chance of winning its games at zero
length difference.

Pointwise. score = mu_run + alpha_prompt + gamma * z + noise, z the answer's length in
characters standardised over all answers, fitted by least squares; a run's length-adjusted mean
is its predicted score at the average length, averaged over the prompts. gamma is the score
change per standard deviation of length.

Both come with percentile intervals from the prompt bootstrap (bootstrap.py), and say that a
judge's preferences *track length* when the interval of beta (gamma) excludes 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from scipy.special import expit, log_expit

from .bootstrap import Interval, cluster_weights, percentile_interval, run_interval
from .bt_fit import PRIOR_GAMES
from .inputs import PairVerdict, RankInputError, ScoreRow
from .orders import PairOutcome, consistent_outcomes
from .ranks import RankedEntries, competition_ranks, order_by

Lengths = Mapping[tuple[str, str], float]
"""(run, prompt_id) -> the answer's length in characters."""

BETA_PRIOR_SD = 5.0
"""Scale of the Gaussian prior on the length coefficient (log-odds per unit of the tanh feature)."""
TOLERANCE = 1e-9
MAX_ITERATIONS = 100
MAX_HALVINGS = 30
RIDGE = 1e-6
"""Keeps the pointwise least squares solvable: run and prompt dummies are collinear (each row has
one of each), and a resample may miss a prompt. The adjusted means do not depend on how the
collinear part is split between run and prompt effects."""


def _length(lengths: Lengths, run: str, prompt_id: str) -> float:
    try:
        return float(lengths[(run, prompt_id)])
    except KeyError:
        raise RankInputError(f"no answer length for run {run!r} on prompt {prompt_id!r}") from None


# ------------------------------------------------------------------------------------- pairwise

@dataclass(frozen=True)
class LengthControlledEntry:
    run: str
    raw_strength: float
    strength: float
    """Length-controlled log-strength (mean 0)."""
    ci: Interval | None
    raw_win_rate: float
    """(wins + ties / 2) / games, over merged outcomes."""
    win_rate: float
    """Mean predicted chance of winning its games at zero length difference."""
    win_rate_ci: Interval | None
    n_games: int
    n_prompts: int
    rank: int
    missing_reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run, "raw_strength": self.raw_strength, "strength": self.strength,
                "ci": None if self.ci is None else self.ci.to_dict(), "raw_win_rate": self.raw_win_rate,
                "win_rate": self.win_rate, "win_rate_ci": None if self.win_rate_ci is None else self.win_rate_ci.to_dict(),
                "n_games": self.n_games, "n_prompts": self.n_prompts, "rank": self.rank,
                "missing_reason": self.missing_reason}


@dataclass(frozen=True)
class LengthControlledRanking(RankedEntries):
    entries: tuple[LengthControlledEntry, ...]
    """Strongest (length-controlled) first."""
    length_coefficient: float
    """beta: log-odds of winning per unit of tanh(length difference / sd)."""
    length_coefficient_ci: Interval | None
    tracks_length: bool
    """The interval of beta excludes 0: the judge's verdicts follow answer length."""
    length_sd_chars: float
    n_games: int
    n_prompts: int
    n_resamples: int
    seed: int
    level: float
    missing_reason: str | None
    """Why beta could not be estimated (it is then 0 and the strengths are the raw ones)."""

    def scores(self) -> dict[str, float]:
        return {e.run: e.strength for e in self.entries}

    def to_dict(self) -> dict[str, Any]:
        return {"method": "Bradley-Terry with a length term, logistic(theta_a - theta_b + beta tanh(delta_chars / sd)); "
                          "strengths at zero length difference; percentile CI from a bootstrap over prompts",
                "length_coefficient": self.length_coefficient,
                "length_coefficient_ci": None if self.length_coefficient_ci is None else self.length_coefficient_ci.to_dict(),
                "tracks_length": self.tracks_length, "length_sd_chars": self.length_sd_chars,
                "n_games": self.n_games, "n_prompts": self.n_prompts, "n_resamples": self.n_resamples,
                "seed": self.seed, "level": self.level, "missing_reason": self.missing_reason,
                "order": list(self.order), "entries": [e.to_dict() for e in self.entries]}


@dataclass(frozen=True, eq=False)
class _Games:
    runs: tuple[str, ...]
    prompts: tuple[str, ...]
    design: sparse.csr_matrix
    """(n_games, n_runs + 1): +1 for run a, -1 for run b, the length feature last."""
    outcome: np.ndarray
    """1 a won, 0 b won, 0.5 tie."""
    prompt_of: np.ndarray
    run_a: np.ndarray
    run_b: np.ndarray


def _games(outcomes: Sequence[PairOutcome], lengths: Lengths) -> tuple[_Games, float]:
    runs = tuple(sorted({o.run_a for o in outcomes} | {o.run_b for o in outcomes}))
    prompts = tuple(sorted({o.prompt_id for o in outcomes}))
    run_ix, prompt_ix = {r: i for i, r in enumerate(runs)}, {p: i for i, p in enumerate(prompts)}
    delta = np.array([_length(lengths, o.run_a, o.prompt_id) - _length(lengths, o.run_b, o.prompt_id)
                      for o in outcomes])
    sd = float(delta.std()) if delta.size else 0.0
    feature = np.tanh(delta / sd) if sd > 0 else np.zeros_like(delta)
    a = np.array([run_ix[o.run_a] for o in outcomes], dtype=int)
    b = np.array([run_ix[o.run_b] for o in outcomes], dtype=int)
    n, k = len(outcomes), len(runs) + 1
    rows = np.repeat(np.arange(n), 3)
    cols = np.stack([a, b, np.full(n, k - 1)], axis=1).ravel()
    values = np.stack([np.ones(n), -np.ones(n), feature], axis=1).ravel()
    design = sparse.csr_matrix((values, (rows, cols)), shape=(n, k))
    outcome = np.array([0.5 if o.winner is None else float(o.winner == o.run_a) for o in outcomes])
    prompt_of = np.array([prompt_ix[o.prompt_id] for o in outcomes], dtype=int)
    return _Games(runs, prompts, design, outcome, prompt_of, a, b), sd


def _fit(games: _Games, weights: np.ndarray, prior_games: float, with_length: bool) -> tuple[np.ndarray, np.ndarray]:
    """Penalised maximum likelihood by Newton's method with step halving, batched over prompt
    weightings (n_batch, n_prompts). Returns (n_batch, n_runs + 1) parameters (thetas mean 0,
    beta last; beta 0 without length) and (n_batch,) converged flags."""
    n_runs = len(games.runs)
    k = n_runs + (1 if with_length else 0)
    design = games.design[:, :k].tocsr()
    game_weights = weights[:, games.prompt_of]  # (B, G)
    y = games.outcome
    products = _outer_products(design)

    def objective(phi: np.ndarray) -> np.ndarray:
        eta = (design @ phi.T).T
        ll = (game_weights * (y * log_expit(eta) + (1 - y) * log_expit(-eta))).sum(axis=1)
        theta = phi[:, :n_runs]
        prior = prior_games * (0.5 * theta - np.logaddexp(0, theta)).sum(axis=1)
        if with_length:
            prior = prior - 0.5 * (phi[:, -1] / BETA_PRIOR_SD) ** 2
        return ll + prior

    phi = np.zeros((weights.shape[0], k))
    value = objective(phi)
    converged = np.zeros(weights.shape[0], dtype=bool)
    for _ in range(MAX_ITERATIONS):
        eta = (design @ phi.T).T
        p = expit(eta)
        gradient = (design.T @ (game_weights * (y - p)).T).T
        curvature = game_weights * p * (1 - p)
        information = (products.T @ curvature.T).T.reshape(-1, k, k)
        q = expit(phi[:, :n_runs])
        gradient[:, :n_runs] += prior_games * (0.5 - q)
        idx = np.arange(n_runs)
        information[:, idx, idx] += prior_games * q * (1 - q)
        if with_length:
            gradient[:, -1] -= phi[:, -1] / BETA_PRIOR_SD ** 2
            information[:, -1, -1] += 1 / BETA_PRIOR_SD ** 2
        step = np.linalg.solve(information, gradient[:, :, None])[:, :, 0]
        scale = np.ones((phi.shape[0], 1))
        for _ in range(MAX_HALVINGS):
            trial = phi + scale * step
            trial_value = objective(trial)
            worse = trial_value < value - 1e-12 * np.abs(value)
            if not worse.any():
                break
            scale[worse] /= 2
        phi, value = trial, trial_value
        converged = np.max(np.abs(scale * step), axis=1) < TOLERANCE
        if converged.all():
            break
    phi[:, :n_runs] -= phi[:, :n_runs].mean(axis=1, keepdims=True)
    if not with_length:
        phi = np.concatenate([phi, np.zeros((phi.shape[0], 1))], axis=1)
    return phi, converged


def _outer_products(design: sparse.csr_matrix) -> sparse.csr_matrix:
    """(n_games, k * k): each game's x x^T flattened, so the information matrix of every
    weighting is one sparse product."""
    dense = design.toarray()
    outer = dense[:, :, None] * dense[:, None, :]
    return sparse.csr_matrix(outer.reshape(dense.shape[0], -1))


def _win_rates(games: _Games, theta: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(B, n_runs): each run's mean predicted win chance over its (weighted) games at zero
    length difference; NaN for a run without weighted games."""
    game_weights = weights[:, games.prompt_of]
    p_a = expit(theta[:, games.run_a] - theta[:, games.run_b])
    n_runs = len(games.runs)
    won = np.zeros((weights.shape[0], n_runs))
    played = np.zeros_like(won)
    for run_index, sign in ((games.run_a, 1), (games.run_b, -1)):
        chance = p_a if sign == 1 else 1 - p_a
        np.add.at(won.T, run_index, (game_weights * chance).T)
        np.add.at(played.T, run_index, game_weights.T)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(played > 0, won / np.where(played > 0, played, 1), np.nan)


def length_controlled_pairwise(
    verdicts: Sequence[PairVerdict], lengths: Lengths, n_resamples: int = 1000, seed: int = 0, *,
    prior_games: float = PRIOR_GAMES, alpha: float = 0.05,
) -> LengthControlledRanking:
    """Raw and length-controlled Bradley-Terry strengths and win rates, orders merged."""
    outcomes = consistent_outcomes(verdicts)
    if not outcomes:
        raise RankInputError("length control needs at least one pairwise verdict")
    games, sd = _games(outcomes, lengths)
    missing = None if sd > 0 else "every compared pair of answers has the same length difference (0)"
    ones = np.ones((1, len(games.prompts)))
    raw, _ = _fit(games, ones, prior_games, with_length=False)
    full, converged = _fit(games, ones, prior_games, with_length=sd > 0)
    weights = cluster_weights(len(games.prompts), n_resamples, seed)
    draws, draw_converged = _fit(games, weights, prior_games, with_length=sd > 0)
    draws[~draw_converged] = np.nan
    played = _played(games, weights)
    strengths = np.where(played, draws[:, :-1], np.nan)
    win_draws = np.where(played, _win_rates(games, draws[:, :-1], weights), np.nan)
    win_rate = _win_rates(games, full[:, :-1], ones)[0]
    beta_ci, beta_reason = percentile_interval(draws[:, -1], alpha) if sd > 0 else (None, missing)
    controlled = {run: float(full[0, i]) for i, run in enumerate(games.runs)}
    ranks = competition_ranks(controlled, higher_is_better=True)
    entries = []
    for run in order_by(controlled, higher_is_better=True):
        i = games.runs.index(run)
        mine = [o for o in outcomes if run in (o.run_a, o.run_b)]
        n_prompts = len({o.prompt_id for o in mine})
        ci, reason = run_interval(strengths[:, i], n_prompts, alpha)
        win_ci, _ = run_interval(win_draws[:, i], n_prompts, alpha)
        wins = sum(o.winner == run for o in mine) + 0.5 * sum(o.winner is None for o in mine)
        entries.append(LengthControlledEntry(run, float(raw[0, i]), controlled[run], ci, wins / len(mine),
                                             float(win_rate[i]), win_ci, len(mine), n_prompts, ranks[run],
                                             reason))
    return LengthControlledRanking(
        tuple(entries), float(full[0, -1]), beta_ci, bool(beta_ci is not None and beta_ci.excludes_zero()),
        sd, len(outcomes), len(games.prompts), n_resamples, seed, 1 - alpha,
        missing or beta_reason or (None if bool(converged.all()) else "the fit did not converge"))


def _played(games: _Games, weights: np.ndarray) -> np.ndarray:
    """(B, n_runs): the run has a weighted game in the resample."""
    game_weights = weights[:, games.prompt_of]
    out = np.zeros((weights.shape[0], len(games.runs)))
    np.add.at(out.T, games.run_a, game_weights.T)
    np.add.at(out.T, games.run_b, game_weights.T)
    return out > 0


# ------------------------------------------------------------------------------------ pointwise

@dataclass(frozen=True)
class LengthAdjustedEntry:
    run: str
    raw_mean: float
    adjusted_mean: float
    """Predicted mean score at the average answer length."""
    ci: Interval | None
    n_scores: int
    rank: int
    missing_reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run, "raw_mean": self.raw_mean, "adjusted_mean": self.adjusted_mean,
                "ci": None if self.ci is None else self.ci.to_dict(), "n_scores": self.n_scores,
                "rank": self.rank, "missing_reason": self.missing_reason}


@dataclass(frozen=True)
class LengthAdjustedPointwise(RankedEntries):
    entries: tuple[LengthAdjustedEntry, ...]
    """Highest adjusted mean first."""
    length_slope: float
    """gamma: score change per standard deviation of answer length (characters)."""
    length_slope_ci: Interval | None
    tracks_length: bool
    length_sd_chars: float
    n_scores: int
    n_prompts: int
    n_resamples: int
    seed: int
    level: float
    missing_reason: str | None

    def scores(self) -> dict[str, float]:
        return {e.run: e.adjusted_mean for e in self.entries}

    def to_dict(self) -> dict[str, Any]:
        return {"method": "least squares score ~ run + prompt + gamma * standardised length; means at the average "
                          "length; percentile CI from a bootstrap over prompts",
                "length_slope": self.length_slope,
                "length_slope_ci": None if self.length_slope_ci is None else self.length_slope_ci.to_dict(),
                "tracks_length": self.tracks_length, "length_sd_chars": self.length_sd_chars,
                "n_scores": self.n_scores, "n_prompts": self.n_prompts, "n_resamples": self.n_resamples,
                "seed": self.seed, "level": self.level, "missing_reason": self.missing_reason,
                "order": list(self.order), "entries": [e.to_dict() for e in self.entries]}


def _adjusted(design: np.ndarray, scores: np.ndarray, row_weights: np.ndarray, prompt_weights: np.ndarray,
              n_runs: int, n_prompts: int) -> np.ndarray:
    """(B, n_runs + 1): adjusted means per run, gamma last, for each weighting; NaN for a run
    without weighted scores."""
    weighted = design[None] * row_weights[:, :, None]
    normal = np.einsum("bgi,gj->bij", weighted, design)
    normal += RIDGE * np.eye(design.shape[1])[None] * max(1.0, float(row_weights.sum(axis=1).max()))
    rhs = np.einsum("bgi,g->bi", weighted, scores)
    coef = np.linalg.solve(normal, rhs[:, :, None])[:, :, 0]
    mu, prompt_effects, gamma = coef[:, :n_runs], coef[:, n_runs:n_runs + n_prompts], coef[:, -1]
    share = prompt_weights / prompt_weights.sum(axis=1, keepdims=True)
    adjusted = mu + (prompt_effects * share).sum(axis=1, keepdims=True)
    counts = np.einsum("bg,gr->br", row_weights, design[:, :n_runs])
    adjusted = np.where(counts > 0, adjusted, np.nan)
    return np.concatenate([adjusted, gamma[:, None]], axis=1)


def length_adjusted_pointwise(
    rows: Sequence[ScoreRow], lengths: Lengths, n_resamples: int = 1000, seed: int = 0, *, alpha: float = 0.05,
) -> LengthAdjustedPointwise:
    """Raw and length-adjusted mean scores per run, and the score's slope in answer length."""
    if not rows:
        raise RankInputError("length adjustment needs at least one score")
    runs = tuple(sorted({r.run for r in rows}))
    prompts = tuple(sorted({r.prompt_id for r in rows}))
    run_ix, prompt_ix = {r: i for i, r in enumerate(runs)}, {p: i for i, p in enumerate(prompts)}
    chars = np.array([_length(lengths, r.run, r.prompt_id) for r in rows])
    sd = float(chars.std())
    missing = None if sd > 0 else "every answer has the same length"
    z = (chars - chars.mean()) / sd if sd > 0 else np.zeros_like(chars)
    design = np.zeros((len(rows), len(runs) + len(prompts) + 1))
    for g, row in enumerate(rows):
        design[g, run_ix[row.run]] = 1
        design[g, len(runs) + prompt_ix[row.prompt_id]] = 1
    design[:, -1] = z
    scores = np.array([r.score for r in rows])
    prompt_of = np.array([prompt_ix[r.prompt_id] for r in rows])

    def fit(prompt_weights: np.ndarray) -> np.ndarray:
        return _adjusted(design, scores, prompt_weights[:, prompt_of], prompt_weights, len(runs), len(prompts))

    full = fit(np.ones((1, len(prompts))))[0]
    draws = fit(cluster_weights(len(prompts), n_resamples, seed))
    slope_ci, slope_reason = percentile_interval(draws[:, -1], alpha) if sd > 0 else (None, missing)
    adjusted = {run: float(full[i]) for i, run in enumerate(runs)}
    ranks = competition_ranks(adjusted, higher_is_better=True)
    entries = []
    for run in order_by(adjusted, higher_is_better=True):
        i = run_ix[run]
        mine = [r for r in rows if r.run == run]
        ci, reason = run_interval(draws[:, i], len({r.prompt_id for r in mine}), alpha)
        entries.append(LengthAdjustedEntry(run, float(np.mean([r.score for r in mine])), adjusted[run], ci,
                                           len(mine), ranks[run], reason))
    return LengthAdjustedPointwise(tuple(entries), float(full[-1]), slope_ci,
                                   bool(slope_ci is not None and slope_ci.excludes_zero()), sd, len(rows),
                                   len(prompts), n_resamples, seed, 1 - alpha, missing or slope_reason)


def answer_lengths(answers: Mapping[str, Mapping[str, str]]) -> dict[tuple[str, str], float]:
    """run -> prompt id -> answer text, as (run, prompt_id) -> length in characters."""
    return {(run, prompt_id): float(len(text)) for run, by_prompt in answers.items()
            for prompt_id, text in by_prompt.items()}
