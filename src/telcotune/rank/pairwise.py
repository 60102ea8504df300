"""Ranking runs from pairwise verdicts with a regularised Bradley-Terry model.

By default the two presentation orders of a pair are first merged into one outcome
(`consistent_outcomes`: a win only if both orders agree, else a tie), so a judge's position
bias turns into ties instead of noise in the strengths; wins/losses/ties are then counted in
merged outcomes. With `merge_orders=False` every verdict is one game.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .bootstrap import Interval, bootstrap_draws, run_interval
from .bt_fit import PRIOR_GAMES, fit_log_strengths, win_prob_vs_average
from .inputs import PairVerdict
from .orders import PairOutcome, PositionBias, consistent_outcomes, position_bias
from .ranks import RankedEntries, competition_ranks, order_by
from .tables import Game, WinTable

__all__ = [
    "BradleyTerryFit", "PairOutcome", "PairwiseEntry", "PairwiseRanking", "PositionBias",
    "bradley_terry", "consistent_outcomes", "position_bias", "rank_pairwise",
]

NO_GAMES = "no verdicts involve this run"


@dataclass(frozen=True)
class BradleyTerryFit:
    strengths: dict[str, float]
    """Log-strength per run, mean 0; P(i beats j) = logistic(s_i - s_j)."""
    win_prob_vs_average: dict[str, float]
    """P(beating a run of average strength) = logistic(s_i)."""
    n_games: int
    prior_games: float
    converged: bool

    def to_dict(self) -> dict[str, Any]:
        return {"strengths": dict(self.strengths), "win_prob_vs_average": dict(self.win_prob_vs_average),
                "n_games": self.n_games, "prior_games": self.prior_games, "converged": self.converged}


def batch_strengths(table: WinTable, weights: np.ndarray, prior_games: float) -> np.ndarray:
    """Log-strengths per weighting; NaN (see bootstrap.py) for a run with no weighted games,
    and for a whole resample whose fit did not converge. A run without games in a resample
    still sits at the prior inside that fit and so enters the mean-0 shift; that only happens
    for runs judged on very few prompts, which the reported n_resamples_used reveals."""
    wins = table.weighted_wins(weights)
    fit = fit_log_strengths(wins, prior_games)
    usable = ((wins + wins.transpose(0, 2, 1)).sum(axis=2) > 0) & fit.converged[:, None]
    return np.where(usable, fit.log_strengths, np.nan)


def bradley_terry(games: Sequence[Game], prior_games: float = PRIOR_GAMES) -> BradleyTerryFit:
    """Fit on `games`: PairVerdicts (each verdict one game) or merged PairOutcomes. Ties count
    half a win for each side; see bt_fit.py for the regularisation."""
    table = WinTable.from_games(games)
    fit = fit_log_strengths(table.total_wins(), prior_games)
    strengths = {run: float(fit.log_strengths[0, i]) for i, run in enumerate(table.runs)}
    probs = {run: float(win_prob_vs_average(s)) for run, s in strengths.items()}
    return BradleyTerryFit(strengths, probs, len(games), prior_games, bool(fit.converged.all()))


@dataclass(frozen=True)
class PairwiseEntry:
    run: str
    strength: float | None
    ci: Interval | None
    win_prob_vs_average: float | None
    wins: int
    losses: int
    ties: int
    n_prompts: int
    rank: int | None
    """1 = strongest; tied strengths share the minimum rank; None without verdicts."""
    missing_reason: str | None
    """Why strength or ci is None."""

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run, "strength": self.strength,
                "ci": None if self.ci is None else self.ci.to_dict(),
                "win_prob_vs_average": self.win_prob_vs_average, "wins": self.wins,
                "losses": self.losses, "ties": self.ties, "n_prompts": self.n_prompts,
                "rank": self.rank, "missing_reason": self.missing_reason}


@dataclass(frozen=True)
class PairwiseRanking(RankedEntries):
    entries: tuple[PairwiseEntry, ...]
    """Strongest first; runs without verdicts last, by name."""
    merge_orders: bool
    n_games: int
    n_prompts: int
    prior_games: float
    converged: bool
    n_resamples: int
    seed: int
    level: float

    def scores(self) -> dict[str, float]:
        """Log-strength of each run with verdicts (higher is better)."""
        return {e.run: e.strength for e in self.entries if e.strength is not None}

    def to_dict(self) -> dict[str, Any]:
        return {"method": "Bradley-Terry log-strength (mean 0); t-scaled bootstrap CI over prompts",
                "merge_orders": self.merge_orders, "n_games": self.n_games,
                "n_prompts": self.n_prompts, "prior_games": self.prior_games,
                "converged": self.converged, "n_resamples": self.n_resamples, "seed": self.seed,
                "level": self.level, "order": list(self.order),
                "entries": [e.to_dict() for e in self.entries]}


def _record(games: Sequence[Game], run: str) -> tuple[int, int, int]:
    mine = [g for g in games if run in (g.run_a, g.run_b)]
    ties = sum(g.winner is None for g in mine)
    wins = sum(g.winner == run for g in mine)
    return wins, len(mine) - wins - ties, ties


def _prompts_of(games: Sequence[Game], run: str) -> int:
    return len({g.prompt_id for g in games if run in (g.run_a, g.run_b)})


def rank_pairwise(
    verdicts: Sequence[PairVerdict], n_resamples: int = 1000, seed: int = 0, *,
    runs: Iterable[str] = (), merge_orders: bool = True, prior_games: float = PRIOR_GAMES,
    alpha: float = 0.05,
) -> PairwiseRanking:
    """Rank runs by Bradley-Terry strength. `runs` names runs to list even without verdicts."""
    games: Sequence[Game] = consistent_outcomes(verdicts) if merge_orders else list(verdicts)
    fit = bradley_terry(games, prior_games)
    table = WinTable.from_games(games)
    draws = bootstrap_draws(lambda w: batch_strengths(table, w, prior_games), n_resamples, seed,
                            n_prompts=len(table.prompts))
    ranks = competition_ranks(fit.strengths, higher_is_better=True)
    entries = []
    for run in order_by(fit.strengths, higher_is_better=True):
        n_prompts = _prompts_of(games, run)
        ci, reason = run_interval(draws[:, table.runs.index(run)], n_prompts, alpha)
        entries.append(PairwiseEntry(run, fit.strengths[run], ci, fit.win_prob_vs_average[run],
                                     *_record(games, run), n_prompts, ranks[run], reason))
    entries += [PairwiseEntry(run, None, None, None, 0, 0, 0, 0, None, NO_GAMES)
                for run in sorted(set(runs) - set(fit.strengths))]
    return PairwiseRanking(tuple(entries), merge_orders, len(games), len(table.prompts),
                           prior_games, fit.converged, n_resamples, seed, 1 - alpha)
