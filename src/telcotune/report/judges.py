"""Reading ranking.json's judge sections: per-judge rankings and the loss-versus-judge
comparisons, as small records the sections and figures share."""

from __future__ import annotations

from dataclasses import dataclass

from ..artifacts.ranking import JudgeSection, Ranking
from ..rank import LossJudgeComparison


@dataclass(frozen=True)
class RankedRun:
    run: str
    value: float | None
    """Pointwise: mean score. Pairwise: Bradley-Terry log-strength."""
    low: float | None
    high: float | None
    rank: int | None


def judges(ranking: Ranking | None) -> dict[str, JudgeSection]:
    return dict(ranking.judges) if ranking else {}


def ranked(section: JudgeSection, protocol: str) -> list[RankedRun]:
    """A judge's ranking for `protocol` (best first), empty if that protocol was not run."""
    if protocol == "pointwise":
        block = section.pointwise
        return [RankedRun(e.run, e.mean, e.ci.low if e.ci else None, e.ci.high if e.ci else None, e.rank)
                for e in (block.entries if block else ())]
    block = section.pairwise
    return [RankedRun(e.run, e.strength, e.ci.low if e.ci else None, e.ci.high if e.ci else None, e.rank)
            for e in (block.entries if block else ())]


def comparisons(ranking: Ranking | None) -> list[LossJudgeComparison]:
    return ranking.comparisons() if ranking else []


def level_of(ranking: Ranking | None) -> float:
    """The CI level the judges' rankings were computed at (0.95 unless recorded otherwise)."""
    for section in judges(ranking).values():
        for block in (section.pointwise, section.pairwise):
            if block is not None:
                return float(block.level)
    return 0.95
