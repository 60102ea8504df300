"""Judgments as the statistics' inputs: pointwise scores as `ScoreRow`s and pairwise verdicts as
`PairVerdict`s (only usable judgments; unparseable and failed ones are counted elsewhere)."""

from __future__ import annotations

from ..rank import PairVerdict, ScoreRow
from .base import Judgment


def score_rows(judgments: list[Judgment], prompt_ids: set[str] | None = None) -> list[ScoreRow]:
    return [ScoreRow(j.runs[0], j.prompt_id, j.overall) for j in judgments
            if j.protocol == "pointwise" and j.status == "ok" and j.overall is not None
            and (prompt_ids is None or j.prompt_id in prompt_ids)]


def pair_verdicts(judgments: list[Judgment]) -> list[PairVerdict]:
    """Judgment.runs is [shown first, shown second]; a PairVerdict names the pair in its
    canonical order and says which of the two was shown first."""
    out = []
    for j in judgments:
        if j.protocol != "pairwise" or j.status != "ok":
            continue
        first, second = j.runs
        a, b = (first, second) if j.order == "ab" else (second, first)
        out.append(PairVerdict(j.prompt_id, a, b, j.order or "ab", j.winner))
    return out
