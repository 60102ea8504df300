"""GPU-only meter reading NVML's total energy counters (millijoules since the driver loaded).

Energy of a window = counter at end - counter at begin, summed over the chosen GPUs: a direct
hardware measurement (Volta or newer). It covers the GPUs only, not CPU or RAM, so it is not
what `make_meter` picks (see factory.py); use it where GPU energy alone is wanted. Windows may
overlap, as with Zeus: every window keeps its own baseline.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from .base import EnergyReading, MeterUnavailable

log = logging.getLogger(__name__)
J_PER_MJ = 1e-3


@dataclass
class _Baseline:
    started: float
    counters_mj: list[int] | None
    error: str | None = None


class NvmlMeter:
    attribution = "gpu-devices"

    def __init__(self, device_indices: list[int] | None = None):
        self._nvml = _load_nvml()
        try:
            self._select(device_indices)
        except Exception as exc:
            with contextlib.suppress(Exception):
                self._nvml.nvmlShutdown()  # nvmlInit is reference counted: undo ours
            if isinstance(exc, MeterUnavailable):
                raise
            raise MeterUnavailable(f"NVML device query failed: {_describe(exc)}") from exc
        self._open: dict[str, _Baseline] = {}

    def _select(self, device_indices: list[int] | None) -> None:
        count = self._nvml.nvmlDeviceGetCount()
        if count == 0:
            raise MeterUnavailable("NVML found no GPU")
        self.device_indices = list(range(count)) if device_indices is None else list(device_indices)
        bad = [i for i in self.device_indices if not 0 <= i < count]
        if bad or not self.device_indices:
            raise MeterUnavailable(f"GPU indices {bad or self.device_indices} are not among the "
                                   f"{count} GPU(s) NVML sees")
        self._handles = [self._nvml.nvmlDeviceGetHandleByIndex(i) for i in self.device_indices]
        try:
            self._read_counters_mj()
        except Exception as exc:  # e.g. NVML_ERROR_NOT_SUPPORTED before Volta
            raise MeterUnavailable(f"NVML energy counter unreadable: {_describe(exc)}") from exc

    @property
    def source(self) -> str:
        return "nvml:gpu=" + "+".join(str(i) for i in self.device_indices)

    def begin_window(self, name: str) -> None:
        if name in self._open:
            raise ValueError(f"energy window {name!r} is already open")
        started = time.perf_counter()
        try:
            self._open[name] = _Baseline(started, self._read_counters_mj())
        except Exception as exc:  # reported by end_window as a missing reading
            error = f"NVML read failed at begin: {_describe(exc)}"
            self._open[name] = _Baseline(started, None, error)

    def end_window(self, name: str) -> EnergyReading:
        if name not in self._open:
            raise ValueError(f"energy window {name!r} was not begun")
        base = self._open.pop(name)
        try:
            counters = self._read_counters_mj()
        except Exception as exc:
            return self._missing(name, time.perf_counter() - base.started,
                                 f"NVML read failed at end: {_describe(exc)}")
        duration_s = time.perf_counter() - base.started
        if base.counters_mj is None:
            return self._missing(name, duration_s, base.error or "NVML read failed at begin")
        return self._reading(name, duration_s, base.counters_mj, counters)

    def close(self) -> None:
        self._nvml.nvmlShutdown()

    def _reading(self, name: str, duration_s: float, begin: list[int],
                 end: list[int]) -> EnergyReading:
        deltas = [b - a for a, b in zip(begin, end)]
        if any(d < 0 for d in deltas):
            return self._missing(name, duration_s,
                                 "NVML energy counter went backwards (driver reload?)")
        if sum(deltas) == 0:
            # Counters update every few tens of ms: a 0 here means "not observed", not 0 J.
            return self._missing(name, duration_s, "NVML energy counter did not advance "
                                 "(window shorter than the counter's update period)")
        energy_j = sum(deltas) * J_PER_MJ
        return EnergyReading(phase=name, duration_s=duration_s, method="measured",
                             energy_j=energy_j, source=self.source,
                             components_j={"gpu": energy_j}, components_method={"gpu": "measured"})

    def _missing(self, name: str, duration_s: float, reason: str) -> EnergyReading:
        log.warning("energy window %r: %s; its energy is recorded as missing", name, reason)
        return EnergyReading(phase=name, duration_s=duration_s, method="missing",
                             source=self.source, missing_reason=reason)

    def _read_counters_mj(self) -> list[int]:
        return [int(self._nvml.nvmlDeviceGetTotalEnergyConsumption(h)) for h in self._handles]


def _load_nvml() -> Any:
    try:
        nvml = importlib.import_module("pynvml")
    except ImportError as exc:
        raise MeterUnavailable("NVML unavailable: the nvidia-ml-py package (pynvml) "
                               "is not installed") from exc
    try:
        nvml.nvmlInit()
    except Exception as exc:
        raise MeterUnavailable(
            f"NVML unavailable (no NVIDIA driver or GPU?): {_describe(exc)}") from exc
    return nvml


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
