"""Building a stage's energy.json record: every phase's reading, the total, and energy per
unit of work named by its unit (`artifacts.energy`).

One missing phase makes the total missing (energy, CO2, power, J per unit all None): a partial
sum is never presented as a total. Duration is always summed, since time is always known.
"""

from __future__ import annotations

from typing import Any

from ..artifacts.energy import AnswersEnergy, DataEnergy, JudgeEnergy
from .base import J_PER_KWH, EnergyReading, combine_methods
from .capabilities import machine_energy_note

__all__ = ["answers_energy", "data_energy", "judge_energy", "machine_energy_note", "per_unit", "summarize"]


def summarize(readings: list[EnergyReading]) -> dict[str, Any]:
    """The fields every energy.json has: phases, total, method, missing_reason."""
    phases = _phases(readings)  # validates before anything is added up
    method = combine_methods(r.method for r in readings)
    return {
        "phases": phases,
        "total": _total(readings, complete=method != "missing"),
        "method": method,
        "missing_reason": _missing_reason(readings) if method == "missing" else None,
    }


def per_unit(energy_j: float | None, count: int | None) -> float | None:
    if count is not None and count < 0:
        raise ValueError(f"a unit count must be >= 0, got {count}")
    return energy_j / count if energy_j is not None and count else None


def data_energy(readings: list[EnergyReading], conversations: int) -> DataEnergy:
    common = summarize(readings)
    return DataEnergy(**common, conversations=conversations,
                      j_per_conversation=per_unit(common["total"]["energy_j"], conversations))


def answers_energy(readings: list[EnergyReading], generated_tokens: int) -> AnswersEnergy:
    common = summarize(readings)
    return AnswersEnergy(**common, generated_tokens=generated_tokens,
                         j_per_generated_token=per_unit(common["total"]["energy_j"], generated_tokens))


def judge_energy(readings: list[EnergyReading], judgments: int) -> JudgeEnergy:
    common = summarize(readings)
    return JudgeEnergy(**common, judgments=judgments, j_per_judgment=per_unit(common["total"]["energy_j"], judgments))


def _phases(readings: list[EnergyReading]) -> dict[str, Any]:
    phases: dict[str, Any] = {}
    for reading in readings:
        if reading.phase in phases:
            raise ValueError(f"energy phase {reading.phase!r} appears twice; "
                             "phase names must be unique")
        if (reading.method == "missing") != (reading.energy_j is None):
            raise ValueError(f"energy phase {reading.phase!r}: method {reading.method!r} with "
                             f"energy_j={reading.energy_j!r} (missing iff no figure)")
        phases[reading.phase] = reading
    return phases


def _total(readings: list[EnergyReading], complete: bool) -> dict[str, Any]:
    duration_s = sum(r.duration_s for r in readings)
    energy_j = sum(r.energy_j for r in readings if r.energy_j is not None) if complete else None
    co2 = [r.co2_kg for r in readings]
    co2_kg = sum(c for c in co2 if c is not None) if complete and None not in co2 else None
    return {
        "energy_j": energy_j,
        "energy_kwh": None if energy_j is None else energy_j / J_PER_KWH,
        "co2_kg": co2_kg,
        "duration_s": duration_s,
        "avg_power_w": energy_j / duration_s if energy_j is not None and duration_s > 0 else None,
    }


def _missing_reason(readings: list[EnergyReading]) -> str:
    if not readings:
        return "no phase was metered"
    return "; ".join(f"{r.phase}: {r.missing_reason or 'no reason given'}"
                     for r in readings if r.method == "missing")
