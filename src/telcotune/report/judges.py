"""Reading ranking.json's judge sections: per-judge rankings, the loss-versus-judge
comparisons, and which judge protocols may enter a conclusion (those that can discriminate,
`JudgeSection.discriminates`), as small records the sections, figures and summary share."""

from __future__ import annotations

from dataclasses import dataclass

from ..artifacts.ranking import JudgeSection, Protocol, Ranking
from ..rank import LossJudgeComparison, Separation


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


@dataclass(frozen=True)
class JudgedProtocol:
    """One protocol one judge ran: `label` is the judge, or `judge (pairwise)`, as the finding
    names it."""

    label: str
    judge: str
    protocol: Protocol
    section: JudgeSection
    separation: Separation | None
    comparison: LossJudgeComparison | None

    @property
    def discriminates(self) -> bool:
        return self.section.discriminates(self.protocol)

    @property
    def reasons(self) -> tuple[str, ...]:
        return self.section.reasons(self.protocol)


def judged_protocols(ranking: Ranking | None) -> list[JudgedProtocol]:
    return [JudgedProtocol(label, judge, protocol, section, separation, comparison)
            for judge, section in judges(ranking).items()
            for label, protocol, separation, comparison in section.protocols(judge)]


def kept(ranking: Ranking | None) -> list[JudgedProtocol]:
    """The protocols that can discriminate: the only ones any conclusion rests on."""
    return [p for p in judged_protocols(ranking) if p.discriminates]


def left_out(ranking: Ranking | None) -> list[JudgedProtocol]:
    return [p for p in judged_protocols(ranking) if not p.discriminates]


def left_out_sentence(ranking: Ranking | None) -> str | None:
    """"Left out ...: judge (why); ..." or None when every judge can discriminate."""
    out = left_out(ranking)
    if not out:
        return None
    return ("Left out as unable to discriminate: "
            + "; ".join(f"{p.label} ({'; '.join(p.reasons)})" for p in out) + ".")
