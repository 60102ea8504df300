"""Turn one CodeCarbon `EmissionsData` (a task's delta) into an `EnergyReading`.

Overall method: `measured` only when every component that contributed energy was measured;
otherwise `estimated`. So a GPU read by NVML plus a CPU estimated from its TDP (and RAM, which
CodeCarbon always estimates) is `estimated` overall, and `components_method` keeps the detail
(`gpu: measured, cpu: estimated, ram: estimated`): the total is only as good as its weakest
part, and the per-component figures let a report say how much of it was measured.
"""

from __future__ import annotations

import math
from typing import Any

from .base import J_PER_KWH, EnergyReading, Method, combine_methods
from .codecarbon_sources import ComponentSource

COMPONENT_FIELDS = (("cpu", "cpu_energy"), ("gpu", "gpu_energy"), ("ram", "ram_energy"))


def to_reading(phase: str, data: Any, sources: dict[str, ComponentSource],
               tracking_mode: str, wall_duration_s: float) -> EnergyReading:
    # CodeCarbon's task duration matches the interval its energy covers; our clock is the fallback.
    duration_s = _finite(getattr(data, "duration", None)) or wall_duration_s
    energy_kwh = _finite(getattr(data, "energy_consumed", None))
    if energy_kwh is None or energy_kwh <= 0:
        return missing_reading(phase, duration_s, "codecarbon reported "
                               f"{getattr(data, 'energy_consumed', None)!r} kWh for a "
                               f"{duration_s:.3f} s window (no usable figure)")
    components_j = _components_j(data, sources)
    co2_kg = _finite(getattr(data, "emissions", None))
    return EnergyReading(
        phase=phase, duration_s=duration_s, method=_overall_method(components_j, sources),
        energy_j=energy_kwh * J_PER_KWH,
        co2_kg=co2_kg if co2_kg is not None and co2_kg >= 0 else None,
        source=_source(sources, tracking_mode), components_j=components_j,
        components_method={c: sources[c].method for c in components_j if c in sources},
    )


def missing_reading(phase: str, duration_s: float, reason: str) -> EnergyReading:
    return EnergyReading(phase=phase, duration_s=duration_s, method="missing",
                         source="codecarbon", missing_reason=reason)


def _components_j(data: Any, sources: dict[str, ComponentSource]) -> dict[str, float]:
    """Components CodeCarbon tracks here; an absent GPU is left out rather than shown as 0 J."""
    out: dict[str, float] = {}
    for name, field_name in COMPONENT_FIELDS:
        kwh = _finite(getattr(data, field_name, None))
        if kwh is not None and (name in sources or kwh > 0):
            out[name] = kwh * J_PER_KWH
    return out


def _overall_method(components_j: dict[str, float], sources: dict[str, ComponentSource]) -> Method:
    contributing = [c for c, j in components_j.items() if j > 0]
    if not contributing or any(c not in sources for c in contributing):
        return "estimated"  # cannot tell how it was obtained: never claim a measurement
    return combine_methods(sources[c].method for c in contributing)


def _source(sources: dict[str, ComponentSource], tracking_mode: str) -> str:
    parts = [f"{name}={sources[name].label}" for name in sorted(sources)] or ["unknown"]
    return f"codecarbon:{','.join(parts)},tracking={tracking_mode}"


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
