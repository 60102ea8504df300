"""The meter interface. A meter measures named windows (zeus-style `begin_window` /
`end_window`); every reading says how it was obtained.

`method`:
- `measured`: a hardware counter was read (NVML on NVIDIA GPUs, RAPL on CPUs);
- `estimated`: derived from TDP and load (CodeCarbon's fallback, e.g. on VMs without RAPL);
- `missing`: no figure could be obtained; `missing_reason` says why. Never a silent 0.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from ..errors import TelcotuneError

Method = Literal["measured", "estimated", "missing"]
J_PER_KWH = 3.6e6


class MeterUnavailable(TelcotuneError):
    """A meter cannot work on this machine (no NVML, codecarbon failed to start, ...)."""


def combine_methods(methods: Iterable[Method]) -> Method:
    """The weakest link: one missing figure makes the whole missing, one estimate makes it
    estimated. An empty input is missing, because nothing was measured."""
    methods = list(methods)
    if not methods or "missing" in methods:
        return "missing"
    return "estimated" if "estimated" in methods else "measured"


@dataclass
class EnergyReading:
    phase: str
    duration_s: float
    method: Method
    energy_j: float | None = None
    co2_kg: float | None = None
    source: str = ""
    """What produced the figure, e.g. `codecarbon:rapl`, `codecarbon:tdp-estimate`, `nvml`."""
    missing_reason: str | None = None
    components_j: dict[str, float] = field(default_factory=dict)
    """Energy by component where known: cpu, gpu, ram."""
    components_method: dict[str, Method] = field(default_factory=dict)
    """How each component's figure was obtained (e.g. gpu measured by NVML, cpu estimated)."""

    @property
    def energy_kwh(self) -> float | None:
        return None if self.energy_j is None else self.energy_j / J_PER_KWH

    @property
    def avg_power_w(self) -> float | None:
        if self.energy_j is None or self.duration_s <= 0:
            return None
        return self.energy_j / self.duration_s

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["energy_kwh"] = self.energy_kwh
        out["avg_power_w"] = self.avg_power_w
        return out


@runtime_checkable
class Meter(Protocol):
    def begin_window(self, name: str) -> None:
        """Start measuring the window `name` (windows may not overlap in one meter)."""
        ...

    def end_window(self, name: str) -> EnergyReading:
        """Stop measuring `name` and return its reading."""
        ...


class WindowResult:
    """Filled in when a `window(...)` block exits."""

    reading: EnergyReading | None = None


@contextlib.contextmanager
def window(meter: Meter, name: str) -> Iterator[WindowResult]:
    result = WindowResult()
    meter.begin_window(name)
    try:
        yield result
    finally:
        result.reading = meter.end_window(name)


class NullMeter:
    """Measures time only; energy is recorded as missing with the reason given."""

    def __init__(self, reason: str = "energy metering disabled (energy.meter: none)"):
        self.reason = reason
        self._started: dict[str, float] = {}

    def begin_window(self, name: str) -> None:
        self._started[name] = time.perf_counter()

    def end_window(self, name: str) -> EnergyReading:
        duration = time.perf_counter() - self._started.pop(name)
        return EnergyReading(phase=name, duration_s=duration, method="missing",
                             source="none", missing_reason=self.reason)


def merge_readings(phase: str, rows: list[EnergyReading]) -> EnergyReading:
    """Several windows of one phase as one reading: durations and energies summed, the method
    the weakest of them (a partial sum is never presented as a whole)."""
    method = combine_methods(r.method for r in rows)
    complete = method != "missing"
    components: dict[str, float] = {}
    comp_methods: dict[str, list] = {}
    for r in rows:
        for k, v in r.components_j.items():
            components[k] = components.get(k, 0.0) + v
        for k, m in r.components_method.items():
            comp_methods.setdefault(k, []).append(m)
    co2 = [r.co2_kg for r in rows]
    reasons = list(dict.fromkeys(r.missing_reason for r in rows if r.missing_reason))
    return EnergyReading(
        phase=phase,
        duration_s=sum(r.duration_s for r in rows),
        method=method,
        energy_j=sum(r.energy_j for r in rows if r.energy_j is not None) if complete else None,
        co2_kg=sum(c for c in co2 if c is not None) if complete and None not in co2 else None,
        source="+".join(dict.fromkeys(r.source for r in rows if r.source)),
        missing_reason="; ".join(reasons) if not complete else None,
        components_j=components if complete else {},
        components_method={k: combine_methods(v) for k, v in comp_methods.items()} if complete else {},
    )
