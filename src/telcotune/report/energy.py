"""Energy per run for the energy-versus-quality comparison: training (training + validation
phases of sweep/<run>/energy.json) plus inference (generating that run's evaluation answers,
eval/answers/<run>.energy.json). Judging is left out: judges judge all runs together, so its
energy belongs to no single run.

A run's total exists only when both parts do (a partial sum is never shown as a total), and
its method is the weaker of the two (missing < estimated < measured).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..artifacts.energy import EnergyFile
from .load import StudyArtifacts

METHOD_STRENGTH = {"missing": 0, "estimated": 1, "measured": 2}


def weakest(methods: list[str | None]) -> str:
    known = [m if m in METHOD_STRENGTH else "missing" for m in methods]
    return min(known, key=METHOD_STRENGTH.get) if known else "missing"


def total_j(energy: EnergyFile | None) -> float | None:
    return energy.total.energy_j if energy is not None else None


@dataclass(frozen=True)
class RunEnergy:
    run: str
    train_j: float | None
    inference_j: float | None
    method: str
    trained: bool
    """False for the base model (no training energy; it has none to spend)."""

    @property
    def total_j(self) -> float | None:
        if self.inference_j is None or (self.trained and self.train_j is None):
            return None
        return (self.train_j or 0.0) + self.inference_j


def _inference(study: StudyArtifacts, run: str) -> tuple[float | None, str | None]:
    energy = study.answer_energy.get(run)
    if energy is not None:
        return total_j(energy), energy.method
    summary = study.ranking.inference.get(run) if study.ranking else None
    return (summary.energy_j, summary.energy_method) if summary else (None, None)


def run_energy(study: StudyArtifacts, run: str) -> RunEnergy:
    inference_j, inference_method = _inference(study, run)
    artifacts = study.run(run)
    if artifacts is None:  # the base model, or an answered run whose folder is gone
        return RunEnergy(run, None, inference_j, weakest([inference_method]), trained=False)
    energy = artifacts.energy
    return RunEnergy(run, total_j(energy), inference_j,
                     weakest([energy.method if energy else None, inference_method]), trained=True)


def all_run_energy(study: StudyArtifacts, runs: list[str]) -> dict[str, RunEnergy]:
    return {run: run_energy(study, run) for run in runs}
