"""What energy hardware this machine exposes, for the reports' reproducibility section.

RAPL: Linux powercap counters (`/sys/class/powercap/intel-rapl:*/energy_uj`, also used for
AMD). Usually absent on VMs and often root-only readable. NVML: NVIDIA's management library.
Without RAPL, CodeCarbon estimates CPU energy from TDP and load; without NVML there is no
GPU figure at all (or no GPU).
"""

from __future__ import annotations

import glob
import importlib
from typing import Any

POWERCAP_GLOB = "/sys/class/powercap/intel-rapl*/energy_uj"


def detect_rapl(pattern: str = POWERCAP_GLOB) -> dict[str, Any]:
    counters = sorted(glob.glob(pattern))
    readable = [path for path in counters if _readable(path)]
    if not counters:
        return {"present": False, "readable": False, "reason": "no /sys/class/powercap RAPL domains"}
    if not readable:
        return {"present": True, "readable": False,
                "reason": "RAPL counters exist but are not readable by this user"}
    return {"present": True, "readable": True, "domains": len(readable)}


def detect_nvml() -> dict[str, Any]:
    try:
        nvml = importlib.import_module("pynvml")
        nvml.nvmlInit()
    except Exception as exc:
        return {"present": False, "gpus": 0, "reason": f"{type(exc).__name__}: {exc}"}
    try:
        count = int(nvml.nvmlDeviceGetCount())
        names = [_name(nvml, i) for i in range(count)]
    finally:
        nvml.nvmlShutdown()
    return {"present": True, "gpus": count, "names": names}


def detect_capabilities() -> dict[str, Any]:
    return {"rapl": detect_rapl(), "nvml": detect_nvml()}


def machine_energy_note(capabilities: dict[str, Any] | None = None) -> str:
    """One sentence on how the codecarbon meter obtains its figures on this machine."""
    caps = capabilities if capabilities is not None else detect_capabilities()
    rapl, nvml = caps["rapl"], caps["nvml"]
    cpu = ("CPU energy measured from RAPL counters" if rapl.get("readable")
           else f"CPU energy estimated by CodeCarbon from TDP and load ({rapl.get('reason')})")
    gpu = (f"GPU energy measured from NVML counters on {nvml['gpus']} GPU(s)" if nvml.get("present")
           and nvml.get("gpus") else f"no GPU energy (NVML: {nvml.get('reason', 'no GPU')})")
    return f"{cpu}; RAM energy estimated from installed memory; {gpu}."


def _readable(path: str) -> bool:
    try:
        with open(path, encoding="ascii") as f:
            int(f.read().strip())
    except (OSError, ValueError):
        return False
    return True


def _name(nvml: Any, index: int) -> str:
    name = nvml.nvmlDeviceGetName(nvml.nvmlDeviceGetHandleByIndex(index))
    return name.decode() if isinstance(name, bytes) else str(name)
