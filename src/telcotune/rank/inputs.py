"""The plain-data inputs of the rank package: pointwise scores and pairwise verdicts.

They are validated on construction so that every statistic downstream can trust them; a bad
row is an upstream bug (a parser let through garbage), so it raises rather than being skipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from ..errors import TelcotuneError

Order = Literal["ab", "ba"]


class RankInputError(TelcotuneError, ValueError):
    """Scores or verdicts handed to the rank package are malformed."""


@dataclass(frozen=True)
class ScoreRow:
    """One judge's score for one run's answer to one prompt (scale 1-10 in this study; the
    statistics do not assume a range). An unparseable judgment is simply not a row."""

    run: str
    prompt_id: str
    score: float

    def __post_init__(self) -> None:
        if not isinstance(self.score, (int, float)) or not math.isfinite(self.score):
            raise RankInputError(
                f"score for run {self.run!r} on prompt {self.prompt_id!r} is not a finite "
                f"number: {self.score!r}"
            )


@dataclass(frozen=True)
class PairVerdict:
    """One pairwise judgment. `order` "ab" means run_a was shown first, "ba" that run_b was.
    `winner` is run_a, run_b or None for a tie."""

    prompt_id: str
    run_a: str
    run_b: str
    order: Order
    winner: str | None

    def __post_init__(self) -> None:
        where = f"prompt {self.prompt_id!r}, {self.run_a!r} vs {self.run_b!r}"
        if self.run_a == self.run_b:
            raise RankInputError(f"a run cannot be compared with itself ({where})")
        if self.order not in ("ab", "ba"):
            raise RankInputError(f"order must be 'ab' or 'ba', got {self.order!r} ({where})")
        if self.winner is not None and self.winner not in (self.run_a, self.run_b):
            raise RankInputError(f"winner {self.winner!r} is neither run ({where})")

    @property
    def first_shown(self) -> str:
        return self.run_a if self.order == "ab" else self.run_b

    @property
    def second_shown(self) -> str:
        return self.run_b if self.order == "ab" else self.run_a
