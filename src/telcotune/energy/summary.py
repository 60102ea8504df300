"""The `energy.json` of a stage: every phase's reading, the total, and J per token.

Shape:
    {"phases": {name: EnergyReading.to_dict()},
     "total": {"energy_j", "energy_kwh", "co2_kg", "duration_s", "avg_power_w"},
     "method": "measured" | "estimated" | "missing",
     "missing_reason": str | None,
     "tokens": int | None, "token_label": str, "j_per_token": float | None}

One missing phase makes the total missing (energy, CO2, power, J/token all None): a partial
sum is never presented as a total. Duration is always summed, since time is always known.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..fsio import write_json
from .base import J_PER_KWH, EnergyReading, combine_methods
from .capabilities import machine_energy_note

__all__ = ["machine_energy_note", "summarize", "write_energy"]


def summarize(readings: list[EnergyReading], tokens: int | None = None,
              token_label: str = "train") -> dict[str, Any]:
    if tokens is not None and tokens < 0:
        raise ValueError(f"tokens must be >= 0, got {tokens}")
    phases = _phases(readings)  # validates before anything is added up
    method = combine_methods(r.method for r in readings)
    total = _total(readings, complete=method != "missing")
    energy_j = total["energy_j"]
    return {
        "phases": phases,
        "total": total,
        "method": method,
        "missing_reason": _missing_reason(readings) if method == "missing" else None,
        "tokens": tokens,
        "token_label": token_label,
        "j_per_token": energy_j / tokens if energy_j is not None and tokens else None,
    }


def write_energy(path: str | os.PathLike, readings: list[EnergyReading], tokens: int | None = None,
                 token_label: str = "train") -> Path:
    return write_json(path, summarize(readings, tokens, token_label))


def _phases(readings: list[EnergyReading]) -> dict[str, Any]:
    phases: dict[str, Any] = {}
    for reading in readings:
        if reading.phase in phases:
            raise ValueError(f"energy phase {reading.phase!r} appears twice; "
                             "phase names must be unique")
        if (reading.method == "missing") != (reading.energy_j is None):
            raise ValueError(f"energy phase {reading.phase!r}: method {reading.method!r} with "
                             f"energy_j={reading.energy_j!r} (missing iff no figure)")
        phases[reading.phase] = reading.to_dict()
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
