"""Per-prompt tables: the sufficient statistics a cluster bootstrap reweights.

Both tables keep one slice per prompt, so a resample (a weight per prompt) turns into the
resampled totals with one matrix product instead of a Python loop over resamples.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .inputs import ScoreRow


class Game(Protocol):
    """A pairwise outcome: a PairVerdict or a merged PairOutcome."""

    prompt_id: str
    run_a: str
    run_b: str
    winner: str | None


def _index(names: Iterable[str]) -> dict[str, int]:
    return {name: i for i, name in enumerate(names)}


@dataclass(frozen=True, eq=False)
class ScoreTable:
    runs: tuple[str, ...]
    prompts: tuple[str, ...]
    sums: np.ndarray
    """(n_prompts, n_runs): sum of the scores of run r on prompt p."""
    counts: np.ndarray
    """(n_prompts, n_runs): how many scores of run r on prompt p."""

    @classmethod
    def from_rows(cls, rows: Sequence[ScoreRow]) -> ScoreTable:
        runs = tuple(sorted({r.run for r in rows}))
        prompts = tuple(sorted({r.prompt_id for r in rows}))
        run_ix, prompt_ix = _index(runs), _index(prompts)
        sums = np.zeros((len(prompts), len(runs)))
        counts = np.zeros_like(sums)
        for row in rows:
            p, r = prompt_ix[row.prompt_id], run_ix[row.run]
            sums[p, r] += row.score
            counts[p, r] += 1
        return cls(runs, prompts, sums, counts)

    def weighted_means(self, weights: np.ndarray) -> np.ndarray:
        """Per-run mean score for each prompt weighting: (n_weightings, n_runs); NaN where a
        run has no drawn score (see bootstrap.py)."""
        totals, counts = weights @ self.sums, weights @ self.counts
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counts > 0, totals / np.where(counts > 0, counts, 1), np.nan)

    def means(self) -> np.ndarray:
        return self.weighted_means(np.ones((1, len(self.prompts))))[0]

    def prompts_per_run(self) -> np.ndarray:
        return (self.counts > 0).sum(axis=0)


@dataclass(frozen=True, eq=False)
class WinTable:
    runs: tuple[str, ...]
    prompts: tuple[str, ...]
    wins: np.ndarray
    """(n_prompts, n_runs, n_runs): games run i won against run j on prompt p; a tie counts
    half a win for each side."""

    @classmethod
    def from_games(cls, games: Sequence[Game]) -> WinTable:
        runs = tuple(sorted({g.run_a for g in games} | {g.run_b for g in games}))
        prompts = tuple(sorted({g.prompt_id for g in games}))
        run_ix, prompt_ix = _index(runs), _index(prompts)
        wins = np.zeros((len(prompts), len(runs), len(runs)))
        for g in games:
            p, a, b = prompt_ix[g.prompt_id], run_ix[g.run_a], run_ix[g.run_b]
            if g.winner is None:
                wins[p, a, b] += 0.5
                wins[p, b, a] += 0.5
            elif g.winner == g.run_a:
                wins[p, a, b] += 1
            else:
                wins[p, b, a] += 1
        return cls(runs, prompts, wins)

    def weighted_wins(self, weights: np.ndarray) -> np.ndarray:
        """(n_weightings, n_runs, n_runs) win matrices under each prompt weighting."""
        n_runs = len(self.runs)
        flat = self.wins.reshape(len(self.prompts), n_runs * n_runs)
        return (weights @ flat).reshape(-1, n_runs, n_runs)

    def total_wins(self) -> np.ndarray:
        return self.wins.sum(axis=0)
