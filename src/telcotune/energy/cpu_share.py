"""A machine-wide meter's figure apportioned to this process by its share of the machine's CPU time.

When several runs share one machine (Ray tasks on a CPU node), a machine-wide meter (CodeCarbon
reads RAPL or estimates from TDP and load) counts the neighbours' work too. CpuShareMeter wraps
it: for each window, share = this process's CPU seconds (all its threads) / the machine's busy
CPU seconds over the same window, and energy, CO2 and components are scaled by it. The reading's
source says so (`...+cpu-share=0.48`) and energy.json's `attribution` is `cpu-time`. The share is
a model (CPU time is not power: RAM and idle power are split the same way), so a measured figure
stays `measured` only for the machine; the apportioned one is labelled `estimated`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from .base import EnergyReading, Meter


def machine_busy_cpu_s() -> float:
    """CPU seconds every core of the machine has spent not idle since boot."""
    import psutil

    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)


class CpuShareMeter:
    attribution = "cpu-time"

    def __init__(self, inner: Meter, process_cpu_s: Callable[[], float] = time.process_time,
                 machine_cpu_s: Callable[[], float] = machine_busy_cpu_s):
        self.inner, self._process, self._machine = inner, process_cpu_s, machine_cpu_s
        self._start: dict[str, tuple[float, float]] = {}

    def begin_window(self, name: str) -> None:
        self._start[name] = (self._process(), self._machine())
        self.inner.begin_window(name)

    def end_window(self, name: str) -> EnergyReading:
        reading = self.inner.end_window(name)
        process0, machine0 = self._start.pop(name)
        machine_s = self._machine() - machine0
        share = min(1.0, max(0.0, (self._process() - process0) / machine_s)) if machine_s > 0 else 1.0
        return apportion(reading, share)


def apportion(reading: EnergyReading, share: float) -> EnergyReading:
    """`reading` scaled to `share` of it (a missing reading stays missing)."""
    label = f"{reading.source}+cpu-share={share:.3f}"
    if reading.energy_j is None:
        return replace(reading, source=label)
    return replace(
        reading, energy_j=reading.energy_j * share, source=label, method="estimated",
        co2_kg=None if reading.co2_kg is None else reading.co2_kg * share,
        components_j={k: v * share for k, v in reading.components_j.items()},
        components_method={k: "estimated" for k in reading.components_method})
