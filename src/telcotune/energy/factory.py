"""Choose the meter a study's `energy` section asks for.

Rule: `none` -> NullMeter. `codecarbon` -> CodeCarbonMeter, on every machine, GPU or not:
CodeCarbon already reads NVML's GPU energy counter (`codecarbon/core/gpu_device.py`) and adds
CPU and RAM, so one meter covers the whole machine and phases stay comparable across machines.
`nvml` -> NvmlMeter on the GPUs this process was given (CUDA_VISIBLE_DEVICES, which Ray sets
for a task; all GPUs when unset), so runs sharing a machine each meter only their own GPUs; it
counts the GPUs only, not CPU or RAM, and is never picked automatically. If CodeCarbon cannot start, the study still
runs with a NullMeter whose reason says why, so every phase is recorded as missing, not 0.
An unknown country is a config error and is raised: better to stop before hours of training.
"""

from __future__ import annotations

import logging
import os

from ..config import EnergyConfig
from ..errors import ConfigError
from .base import Meter, MeterUnavailable, NullMeter

log = logging.getLogger(__name__)


def make_meter(cfg: EnergyConfig, gpu_indices: list[int] | None = None) -> Meter:
    """The configured meter; `gpu_indices` (NVML indices) overrides CUDA_VISIBLE_DEVICES for `nvml`."""
    if cfg.meter == "none":
        return NullMeter()
    if cfg.meter == "nvml":
        return _nvml_meter(gpu_indices if gpu_indices is not None else visible_gpu_indices())
    from .codecarbon_meter import CodeCarbonMeter

    try:
        return CodeCarbonMeter(country=cfg.country, interval_s=cfg.interval_s)
    except ConfigError:
        raise
    except Exception as exc:
        reason = f"codecarbon meter unavailable: {exc}"
        log.warning("%s; energy will be recorded as missing", reason)
        return NullMeter(reason=reason)


def visible_gpu_indices() -> list[int] | None:
    """CUDA_VISIBLE_DEVICES as device indices (None when unset or given as UUIDs: all GPUs)."""
    value = os.environ.get("CUDA_VISIBLE_DEVICES")
    if value is None:
        return None
    parts = [p.strip() for p in value.split(",") if p.strip()]
    return [int(p) for p in parts] if all(p.isdigit() for p in parts) else None


def _nvml_meter(indices: list[int] | None) -> Meter:
    from .nvml_meter import NvmlMeter

    try:
        return NvmlMeter(device_indices=indices)
    except MeterUnavailable as exc:
        log.warning("%s; energy will be recorded as missing", exc)
        return NullMeter(reason=str(exc))
