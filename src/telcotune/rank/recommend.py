"""Recommendation that respects uncertainty: the cheapest configuration (by total energy)
among those a judge finds not significantly worse than its best.

Why not the Pareto front of point estimates: score differences far inside the noise make any
run look like a trade-off worth taking. The tier (paired.py) says which runs the judge cannot
tell from the best. Among those, the one that cost least is the sensible choice. When the tier
holds every candidate, the judge cannot tell them apart, and recommending the cheapest would
be choosing on energy alone while claiming quality. Then no recommendation is made, and the
reason says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .paired import Separation


@dataclass(frozen=True)
class Recommendation:
    judge: str
    run: str
    energy_j: float
    best: str
    """The judge's best run (which may cost more, or not be a candidate, e.g. the base model)."""
    tier: tuple[str, ...]
    """Candidates not significantly worse than the best, cheapest first."""
    reason: str
    kind: Literal["recommendation"] = "recommendation"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "judge": self.judge, "run": self.run, "energy_j": self.energy_j,
                "best": self.best, "tier": list(self.tier), "reason": self.reason}


@dataclass(frozen=True)
class NoRecommendation:
    judge: str
    reason: str
    kind: Literal["none"] = "none"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "judge": self.judge, "reason": self.reason}


def recommend(energy_j: Mapping[str, float], separation: Separation, *,
              judge: str) -> Recommendation | NoRecommendation:
    """`energy_j`: total energy of each candidate run (e.g. every trained run with a complete
    energy figure); runs the judge did not compare are ignored."""
    compared = {e.run for e in separation.entries}
    candidates = {run: float(j) for run, j in energy_j.items() if run in compared}
    best = separation.best
    if best is None or not candidates:
        return NoRecommendation(judge, f"{judge} compared none of the runs with an energy figure")
    in_tier = sorted((run for run in candidates if run in separation.tier),
                     key=lambda run: (candidates[run], run))
    level = f"{separation.level:.0%}"
    if len(in_tier) == len(candidates):
        return NoRecommendation(judge, (
            f"{judge} cannot tell the {len(candidates)} candidate runs apart: none is significantly "
            f"worse than the best ({best}) on {separation.n_prompts} prompts at {level}, so no "
            f"configuration is recommended; more prompts are needed (see `telcotune plan`)"))
    if not in_tier:
        return NoRecommendation(judge, (
            f"every candidate run is significantly worse than {judge}'s best ({best}), "
            f"which is not a candidate"))
    choice = in_tier[0]
    others = len(in_tier) - 1
    reason = (f"the cheapest of the {len(in_tier)} candidate runs that {judge} does not find "
              f"significantly worse than its best ({best}) on {separation.n_prompts} prompts"
              if others else
              f"the only candidate run {judge} does not find significantly worse than its best "
              f"({best}) on {separation.n_prompts} prompts")
    return Recommendation(judge, choice, candidates[choice], best, tuple(in_tier), reason)


def no_judge_separates(separations: Mapping[str, Separation]) -> bool:
    """True when every judge's tier holds every run it compared (nothing to recommend from)."""
    return not any(s.discriminates for s in separations.values())
