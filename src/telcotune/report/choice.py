"""Which configuration to choose: per judge protocol that can discriminate, the cheapest trained
run (by total energy) among those it finds not significantly worse than its best
(`rank.recommend`). Shared by the energy-versus-quality section and the terminal summary, so the
two cannot recommend differently."""

from __future__ import annotations

from dataclasses import dataclass

from ..rank import NoRecommendation, Recommendation, recommend
from .energy import RunEnergy, all_run_energy
from .judges import JudgedProtocol, kept, left_out_sentence
from .load import StudyArtifacts


@dataclass(frozen=True)
class Choice:
    judged: JudgedProtocol
    outcome: Recommendation | NoRecommendation


def candidate_energy(energies: dict[str, RunEnergy]) -> dict[str, float]:
    """Trained runs with a complete energy figure (the base model is a reference, not a choice)."""
    return {run: e.total_j for run, e in energies.items() if e.trained and e.total_j is not None}


def study_energies(study: StudyArtifacts) -> dict[str, RunEnergy]:
    runs = list(study.ranking.runs) if study.ranking else [r.name for r in study.runs]
    return all_run_energy(study, runs)


def choices(study: StudyArtifacts, energies: dict[str, RunEnergy] | None = None) -> list[Choice]:
    """One per kept judge protocol with a paired separation, in panel order."""
    energy_j = candidate_energy(energies if energies is not None else study_energies(study))
    return [Choice(p, recommend(energy_j, p.separation, judge=p.label))
            for p in kept(study.ranking) if p.separation is not None]


def nothing_to_recommend(study: StudyArtifacts, found: list[Choice]) -> str | None:
    """The sentence to print instead of a recommendation, or None when some judge recommends."""
    if any(isinstance(c.outcome, Recommendation) for c in found):
        return None
    if not found:
        excluded = left_out_sentence(study.ranking)
        return ("No configuration is recommended: no judge that can discriminate compared the runs."
                + (f" {excluded}" if excluded else ""))
    finding = study.ranking.finding
    if not finding.any_discriminates:
        return ("No configuration is recommended: no judge could tell the configurations apart "
                f"on {finding.n_prompts} prompts, so choosing one would be choosing on energy alone.")
    return "No configuration is recommended: " + "; ".join(c.outcome.reason for c in found) + "."
