"""A deterministic meter for tests: other stages' tests assert energy arithmetic with it.

Either a constant power (`energy_j = power_w * duration_s`; pass `duration_s` to make the
duration fixed too, else the real window length is used), or a scripted list of readings
returned in order (renamed to the window's name). Every reading returned is kept in `readings`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable

from .base import EnergyReading, Method


class ReplayMeter:
    def __init__(self, power_w: float | None = None, *,
                 readings: Iterable[EnergyReading] | None = None,
                 duration_s: float | None = None, method: Method = "measured",
                 component: str = "cpu", missing_reason: str = "replay: scripted missing"):
        if (power_w is None) == (readings is None):
            raise ValueError("ReplayMeter takes either power_w or readings")
        if power_w is not None and power_w < 0:
            raise ValueError(f"power_w must be >= 0, got {power_w}")
        self.power_w = power_w
        self.duration_s = duration_s
        self.method: Method = method
        self.component = component
        self.missing_reason = missing_reason
        self._script = None if readings is None else list(readings)
        self._started: dict[str, float] = {}
        self.readings: list[EnergyReading] = []

    def begin_window(self, name: str) -> None:
        if name in self._started:
            raise ValueError(f"energy window {name!r} is already open")
        self._started[name] = time.perf_counter()

    def end_window(self, name: str) -> EnergyReading:
        if name not in self._started:
            raise ValueError(f"energy window {name!r} was not begun")
        elapsed_s = time.perf_counter() - self._started.pop(name)
        if self._script is not None:
            reading = self._next_scripted(name)
        else:
            fixed_s = self.duration_s
            reading = self._from_power(name, fixed_s if fixed_s is not None else elapsed_s)
        self.readings.append(reading)
        return reading

    def _next_scripted(self, name: str) -> EnergyReading:
        if not self._script:
            raise ValueError(f"ReplayMeter script exhausted at window {name!r}")
        return dataclasses.replace(self._script.pop(0), phase=name)

    def _from_power(self, name: str, duration_s: float) -> EnergyReading:
        if self.method == "missing":
            return EnergyReading(phase=name, duration_s=duration_s, method="missing",
                                 source="replay", missing_reason=self.missing_reason)
        assert self.power_w is not None
        energy_j = self.power_w * duration_s
        return EnergyReading(phase=name, duration_s=duration_s, method=self.method,
                             energy_j=energy_j, source=f"replay:{self.power_w:g}W",
                             components_j={self.component: energy_j},
                             components_method={self.component: self.method})
