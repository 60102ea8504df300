"""The energy/quality Pareto front and the trade-off of each configuration on it, in words."""

from __future__ import annotations

from dataclasses import dataclass

from ..fmt import energy as fmt_energy, pct


@dataclass(frozen=True)
class Point:
    run: str
    energy_j: float
    score: float


def dominates(a: Point, b: Point) -> bool:
    """a is at least as good on both axes (less energy, higher score) and better on one."""
    return (a.energy_j <= b.energy_j and a.score >= b.score
            and (a.energy_j < b.energy_j or a.score > b.score))


def pareto_front(points: list[Point]) -> list[Point]:
    """Points no other point dominates, cheapest first."""
    front = [p for p in points if not any(dominates(q, p) for q in points)]
    return sorted(front, key=lambda p: (p.energy_j, -p.score, p.run))


def best_scoring(points: list[Point]) -> Point:
    """Highest score; among equals the cheapest."""
    return min(points, key=lambda p: (-p.score, p.energy_j, p.run))


def tradeoff(p: Point, best: Point) -> str:
    """E.g. "r16-qv: 92% of the best score (r32-all's) for 31% of its energy"."""
    if p.run == best.run:
        return f"{p.run}: the best score ({p.score:.2f}), for {fmt_energy(p.energy_j)}"
    share_score = p.score / best.score if best.score > 0 else None
    share_energy = p.energy_j / best.energy_j if best.energy_j > 0 else None
    if share_score is None or share_energy is None:
        return (f"{p.run}: score {p.score:.2f} for {fmt_energy(p.energy_j)} "
                f"(the best, {best.run}, scores {best.score:.2f} for {fmt_energy(best.energy_j)})")
    return (f"{p.run}: {pct(share_score)} of the best score ({best.run}'s) "
            f"for {pct(share_energy)} of its energy")
