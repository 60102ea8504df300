"""Reading ranking.json's judge sections: per-judge rankings and the loss-versus-judge
comparisons, as small records the sections and figures share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PROTOCOL_KEYS = (("pointwise", "loss_vs_judge"), ("pairwise", "loss_vs_judge_pairwise"))


@dataclass(frozen=True)
class RankedRun:
    run: str
    value: float | None
    """Pointwise: mean score. Pairwise: Bradley-Terry log-strength."""
    low: float | None
    high: float | None
    rank: int | None


@dataclass(frozen=True)
class Comparison:
    """One loss-versus-judge comparison (ranking.json's loss_vs_judge of one judge/protocol)."""

    judge: str
    protocol: str
    data: dict[str, Any]

    @property
    def label(self) -> str:
        return self.judge if self.protocol == "pointwise" else f"{self.judge} (pairwise)"

    @property
    def rho(self) -> float | None:
        return (self.data.get("correlation") or {}).get("spearman_rho")

    @property
    def tau(self) -> float | None:
        return (self.data.get("correlation") or {}).get("kendall_tau_b")

    @property
    def spearman_ci(self) -> dict[str, Any] | None:
        return self.data.get("spearman_ci")

    @property
    def kendall_ci(self) -> dict[str, Any] | None:
        return self.data.get("kendall_ci")


def judges(ranking: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    return dict((ranking or {}).get("judges") or {})


def ranked(section: dict[str, Any], protocol: str) -> list[RankedRun]:
    """A judge's ranking for `protocol` (best first), empty if that protocol was not run."""
    block = section.get(protocol) or {}
    key = "mean" if protocol == "pointwise" else "strength"
    out = []
    for e in block.get("entries", []):
        ci = e.get("ci") or {}
        out.append(RankedRun(e["run"], e.get(key), ci.get("low"), ci.get("high"), e.get("rank")))
    return out


def comparisons(ranking: dict[str, Any] | None) -> list[Comparison]:
    out = []
    for judge, section in judges(ranking).items():
        for protocol, key in PROTOCOL_KEYS:
            if section.get(key):
                out.append(Comparison(judge, protocol, section[key]))
    return out


def level_of(ranking: dict[str, Any] | None) -> float:
    """The CI level the judges' rankings were computed at (0.95 unless recorded otherwise)."""
    for section in judges(ranking).values():
        for protocol in ("pointwise", "pairwise"):
            if (section.get(protocol) or {}).get("level"):
                return float(section[protocol]["level"])
    return 0.95
