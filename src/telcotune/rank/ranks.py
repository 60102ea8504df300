"""Turning per-run values into an order and 1-based ranks.

Tie rule: equal values share the best rank of their group and the next rank is skipped
("competition" ranking: 1, 2, 2, 4). It reads naturally in prose ("ranked 2nd of 16" for both
tied runs). Correlations do not use these ranks: scipy assigns average ranks to ties there.
Within a tie, the order lists runs by name so the output is deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping


def _key(value: float, higher_is_better: bool) -> float:
    return -value if higher_is_better else value


def order_by(values: Mapping[str, float], *, higher_is_better: bool) -> list[str]:
    """Runs best first; ties broken by run name."""
    return sorted(values, key=lambda run: (_key(values[run], higher_is_better), run))


def competition_ranks(values: Mapping[str, float], *, higher_is_better: bool) -> dict[str, int]:
    """1 = best; tied runs share the minimum rank of their group."""
    keys = {run: _key(v, higher_is_better) for run, v in values.items()}
    return {run: 1 + sum(other < k for other in keys.values()) for run, k in keys.items()}



class RankedEntries:
    """For ranking results holding `entries` (best first, each with a `run`)."""

    entries: tuple

    @property
    def order(self) -> tuple[str, ...]:
        return tuple(e.run for e in self.entries)

    def entry(self, run: str):
        return next(e for e in self.entries if e.run == run)
