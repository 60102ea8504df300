"""Energy phases of a run: `training` and `validation` through one meter.

Meters measure one window at a time (CodeCarbon does), so the two phases never overlap: a
validation ends the open training window, measures itself, then opens a new training window.
Each phase's windows are merged into one reading at the end (durations and energies summed,
method the weakest of them), so `energy.json` has exactly one entry per phase. Readings
survive a resume through the checkpoint; the work an interrupted session did after its last
checkpoint is redone, and its energy is not counted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..artifacts.energy import RunEnergy
from ..energy.base import EnergyReading, Meter, NullMeter, merge_readings

PHASES = ("training", "validation")


def default_meter() -> Meter:
    """The meter of the default energy settings (CodeCarbon, estimated where RAPL is absent)."""
    from ..config import EnergyConfig
    from ..energy.factory import make_meter

    return make_meter(EnergyConfig())


class PhaseMeter:
    def __init__(self, meter: Meter | None, readings: dict[str, list[dict]] | None = None):
        self.meter = meter if meter is not None else NullMeter()
        self.readings: dict[str, list[EnergyReading]] = {p: [] for p in PHASES}
        for phase, rows in (readings or {}).items():
            self.readings.setdefault(phase, []).extend(_reading(r) for r in rows)
        self.open: str | None = None

    def begin(self, phase: str) -> None:
        if self.open is not None:
            self.end()
        self.meter.begin_window(phase)
        self.open = phase

    def end(self) -> None:
        if self.open is None:
            return
        phase, self.open = self.open, None
        self.readings[phase].append(self.meter.end_window(phase))

    def abandon(self) -> None:
        """Close an open window after an error without keeping its reading."""
        if self.open is not None:
            phase, self.open = self.open, None
            try:
                self.meter.end_window(phase)
            except Exception:
                pass

    def to_json(self) -> dict[str, list[dict]]:
        return {p: [_plain(r) for r in rows] for p, rows in self.readings.items()}

    def merged(self) -> list[EnergyReading]:
        return [merge_readings(p, rows) for p, rows in self.readings.items() if rows]

    def phase_energy_j(self, phase: str) -> float | None:
        rows = self.readings.get(phase) or []
        return merge_readings(phase, rows).energy_j if rows else None


def _plain(r: EnergyReading) -> dict[str, Any]:
    d = r.to_dict()
    d.pop("energy_kwh", None)
    d.pop("avg_power_w", None)
    return d


def _reading(d: dict[str, Any]) -> EnergyReading:
    fields = EnergyReading.__dataclass_fields__
    return EnergyReading(**{k: v for k, v in d.items() if k in fields})


def write_run_energy(path: Path, phases: PhaseMeter, train_tokens: int) -> RunEnergy:
    """energy.json with `j_per_train_token` = training-phase energy / training tokens
    (validation is reported as its own phase and in the total, not per token)."""
    from ..artifacts.io import write_record
    from ..energy.summary import per_unit, summarize

    energy = RunEnergy(**summarize(phases.merged()), train_tokens=train_tokens,
                       j_per_train_token=per_unit(phases.phase_energy_j("training"), train_tokens),
                       windows={p: len(rows) for p, rows in phases.readings.items()},
                       attribution=getattr(phases.meter, "attribution", "machine"))
    write_record(path, energy)
    return energy
