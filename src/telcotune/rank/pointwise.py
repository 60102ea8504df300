"""Ranking runs by their mean pointwise score, with t intervals over prompts.

The interval is the t interval of a mean over prompt clusters (prompt_means.py, interval.py):
it holds its level at few prompts, where the percentile bootstrap this replaced covered only
about 85% at 6 prompts. It needs no resampling; `n_resamples` and `seed` are kept in the
signature and the record for the callers that pass them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .interval import Interval, t_interval
from .inputs import ScoreRow
from .prompt_means import ClusterMean, run_means
from .ranks import RankedEntries, competition_ranks, order_by
from .tables import ScoreTable

NO_SCORES = "no scores for this run"


@dataclass(frozen=True)
class PointwiseEntry:
    run: str
    mean: float | None
    ci: Interval | None
    n_scores: int
    n_prompts: int
    rank: int | None
    """1 = best; tied means share the minimum rank (see ranks.py); None if unscored."""
    missing_reason: str | None
    """Why mean or ci is None."""

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run, "mean": self.mean, "ci": None if self.ci is None else self.ci.to_dict(),
                "n_scores": self.n_scores, "n_prompts": self.n_prompts, "rank": self.rank,
                "missing_reason": self.missing_reason}


@dataclass(frozen=True)
class PointwiseRanking(RankedEntries):
    entries: tuple[PointwiseEntry, ...]
    """Best first; runs without scores last, by name."""
    n_prompts: int
    n_resamples: int
    seed: int
    level: float

    def scores(self) -> dict[str, float]:
        """Mean score of each scored run (higher is better)."""
        return {e.run: e.mean for e in self.entries if e.mean is not None}

    def to_dict(self) -> dict[str, Any]:
        return {"method": "mean score; t interval over prompts (clusters)",
                "n_prompts": self.n_prompts, "n_resamples": self.n_resamples, "seed": self.seed,
                "level": self.level, "order": list(self.order),
                "entries": [e.to_dict() for e in self.entries]}


def _unscored(run: str) -> PointwiseEntry:
    return PointwiseEntry(run, None, None, 0, 0, None, NO_SCORES)


def _interval(m: ClusterMean, alpha: float) -> tuple[Interval | None, str | None]:
    """A run seen on a single prompt gets none: one prompt shows no spread between prompts."""
    if m.se is None:
        return None, f"run appears on {m.n_prompts} prompt(s); an interval over prompts needs 2"
    return t_interval(m.mean, m.se, m.n_prompts, alpha)


def rank_pointwise(
    rows: Sequence[ScoreRow], n_resamples: int = 1000, seed: int = 0, *,
    runs: Iterable[str] = (), alpha: float = 0.05,
) -> PointwiseRanking:
    """Rank runs by mean score. `runs` names runs that should be listed even without scores."""
    table = ScoreTable.from_rows(rows)
    means = dict(zip(table.runs, run_means(table)))
    n_scores = table.counts.sum(axis=0)
    mean_of = {run: m.mean for run, m in means.items()}
    ranks = competition_ranks(mean_of, higher_is_better=True)
    entries = []
    for run in order_by(mean_of, higher_is_better=True):
        ci, reason = _interval(means[run], alpha)
        entries.append(PointwiseEntry(run, mean_of[run], ci, int(n_scores[table.runs.index(run)]),
                                      means[run].n_prompts, ranks[run], reason))
    entries += [_unscored(run) for run in sorted(set(runs) - set(table.runs))]
    return PointwiseRanking(tuple(entries), len(table.prompts), n_resamples, seed, 1 - alpha)
