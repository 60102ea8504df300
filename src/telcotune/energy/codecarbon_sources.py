"""Which of CodeCarbon's figures are measured and which are estimated.

CodeCarbon (3.3.2) does not say so in its `EmissionsData`; it is decided by the hardware
objects it set up (`tracker._hardware`, filled by `core/resource_tracker.py`):

- `CPU` with `_mode` `intel_rapl` (Linux RAPL counters), `windows_emi` (Windows Energy Meter
  Interface, i.e. RAPL) or `intel_power_gadget` reads hardware energy/power: measured.
  `_mode` `cpu_load` (TDP x a load curve, `external/hardware.py::_get_power_from_cpu_load`) and
  `constant` (half the TDP) are estimates; `_is_generic_tdp` means even the TDP is a guess
  (85 W, `POWER_CONSTANT`), because the CPU model was not found.
- `GPU` (NVML via pynvml, or AMD SMI) reads the driver's energy counter
  (`core/gpu_device.py::delta`, `nvmlDeviceGetTotalEnergyConsumption`), or while the counter
  is unavailable integrates the card's own power sensor (`_use_power_fallback`): measured.
- `RAM` is always a model of installed memory (`external/ram.py`, ~5 W per DIMM): estimated.
- `AppleSiliconChip` reads `powermetrics`, `Raspberry` the board's power IC: measured.

These are private attributes, so this is the one module that touches them; classes are
matched by name (as CodeCarbon's own `core/hardware_cache.py` does), which also lets tests pass
stand-ins. Anything unrecognised yields no entry, and the caller treats "unknown" as estimated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .base import Method

CPU_MODES: dict[str, tuple[Method, str]] = {
    "intel_rapl": ("measured", "rapl"),
    "windows_emi": ("measured", "windows-emi"),
    "intel_power_gadget": ("measured", "power-gadget"),
    "cpu_load": ("estimated", "tdp-load"),
    "constant": ("estimated", "tdp-constant"),
}


@dataclass(frozen=True)
class ComponentSource:
    method: Method
    label: str


def component_sources(hardware: list[Any]) -> dict[str, ComponentSource]:
    """Map each component CodeCarbon tracks (cpu, gpu, ram) to how its figure is obtained."""
    out: dict[str, ComponentSource] = {}
    for hw in hardware:
        found = _classify(hw)
        if found is not None:
            out[found[0]] = found[1]
    return out


def _classify(hw: Any) -> tuple[str, ComponentSource] | None:
    kind = type(hw).__name__
    if kind == "CPU":
        return "cpu", _cpu_source(hw)
    if kind == "GPU":
        return "gpu", _gpu_source(hw)
    if kind == "RAM":
        forced = getattr(hw, "_force_ram_power", None) is not None
        return "ram", ComponentSource("estimated", "constant" if forced else "estimate")
    if kind == "AppleSiliconChip":
        return _chip_part(hw), ComponentSource("measured", "powermetrics")
    if kind == "Raspberry":
        return _chip_part(hw), ComponentSource("measured", "raspberry-pmic")
    return None


def _cpu_source(hw: Any) -> ComponentSource:
    method, label = CPU_MODES.get(getattr(hw, "_mode", None), ("estimated", "unknown"))
    if method == "estimated" and getattr(hw, "_is_generic_tdp", False):
        label = f"generic-{label}"  # the CPU model was not found: the TDP itself is a guess
    return ComponentSource(method, label)


def _gpu_source(hw: Any) -> ComponentSource:
    devices = list(getattr(getattr(hw, "devices", None), "devices", None) or [])
    backend = "amdsmi" if any("AMD" in type(d).__name__ for d in devices) else "nvml"
    # Power-sensor integration is still a hardware reading, but coarser than the counter.
    on_power = any(getattr(d, "_use_power_fallback", False) for d in devices)
    return ComponentSource("measured", f"{backend}-power" if on_power else backend)


def _chip_part(hw: Any) -> str:
    return str(getattr(hw, "chip_part", "cpu")).lower()
