"""Choose the meter a study's `energy` section asks for.

Rule: `none` -> NullMeter. `codecarbon` -> CodeCarbonMeter, on every machine, GPU or not:
CodeCarbon already reads NVML's GPU energy counter (`codecarbon/core/gpu_device.py`) and adds
CPU and RAM, so one meter covers the whole machine and phases stay comparable across machines.
NvmlMeter (GPU only) is never picked automatically. If CodeCarbon cannot start, the study still
runs with a NullMeter whose reason says why, so every phase is recorded as missing, not 0.
An unknown country is a config error and is raised: better to stop before hours of training.
"""

from __future__ import annotations

import logging

from ..config import EnergyConfig
from ..errors import ConfigError
from .base import Meter, NullMeter

log = logging.getLogger(__name__)


def make_meter(cfg: EnergyConfig) -> Meter:
    if cfg.meter == "none":
        return NullMeter()
    from .codecarbon_meter import CodeCarbonMeter

    try:
        return CodeCarbonMeter(country=cfg.country, interval_s=cfg.interval_s)
    except ConfigError:
        raise
    except Exception as exc:
        reason = f"codecarbon meter unavailable: {exc}"
        log.warning("%s; energy will be recorded as missing", reason)
        return NullMeter(reason=reason)
