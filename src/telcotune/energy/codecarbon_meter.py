"""A meter backed by CodeCarbon's `OfflineEmissionsTracker` (CPU, GPU and RAM of the machine).

One tracker per meter; each window is a CodeCarbon *task* (`start_task` / `stop_task`). A
task returns the delta of that window only, and in 3.3.2 `start_task` resets the hardware
baselines (`hardware.start()`) and the time origin, so consecutive windows on one tracker are
independent. Calling `start()`/`stop()` again on one tracker would not be: its totals keep
accumulating from the first `start()`.

How CodeCarbon 3.3.2 gets the numbers inside a task: a fixed 1 s monitor thread samples CPU
load (and GPU power when there is no energy counter); `stop_task` then integrates over the whole
window, reading RAPL/NVML energy counters where present. So a window shorter than a second still
gets a figure (CPU load since the window began, times its length). `interval_s` is passed as
`measure_power_secs`, but that only paces the periodic scheduler that `start_task` pauses: it
has no effect on task readings.

Offline and silent: no network (offline tracker, no API/endpoint, no Electricity Maps token),
nothing written (no output methods; its output folder is the temp dir, never the cwd), and
its logger at ERROR. Metering must never stop a training run: a CodeCarbon failure during a
window becomes a `missing` reading with the reason, and a warning in the log.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import ConfigError, TelcotuneError
from .base import EnergyReading, MeterUnavailable
from .codecarbon_reading import missing_reading, to_reading
from .codecarbon_sources import component_sources

log = logging.getLogger(__name__)
TrackingMode = Literal["machine", "process"]


def check_country(country: str) -> None:
    """CodeCarbon only logs an unknown country and then fails at the first reading: fail now."""
    try:
        from codecarbon.input import DataSource
    except ImportError as exc:
        raise MeterUnavailable(f"codecarbon is not importable: {exc}") from exc

    if country not in DataSource().get_global_energy_mix_data():
        raise ConfigError(f"energy.country: {country!r} is not a country CodeCarbon knows "
                          "(ISO 3166 alpha-3, e.g. USA, FRA, DEU)")


def new_tracker(country: str, interval_s: float, tracking_mode: TrackingMode) -> Any:
    """An offline tracker whose hardware is already probed (the first probe in a process takes
    1.2-2.2 s on the 2-core dev VM; CodeCarbon caches it per process, later trackers take milliseconds)."""
    from codecarbon import OfflineEmissionsTracker

    # Its constructor warns before it applies `log_level`; quiet the logger first.
    logging.getLogger("codecarbon").setLevel(logging.ERROR)
    tracker = OfflineEmissionsTracker(
        country_iso_code=country, measure_power_secs=interval_s, tracking_mode=tracking_mode,
        output_methods=[], emissions_endpoint=None, output_dir=tempfile.gettempdir(),
        log_level="error", allow_multiple_runs=True, pue=1.0, project_name="telcotune",
        electricitymaps_api_token=None,
    )
    if not hasattr(tracker, "_tasks"):
        # OfflineEmissionsTracker.__init__ is wrapped in @suppress(Exception): a failure
        # leaves a half-built object instead of raising.
        raise MeterUnavailable("codecarbon's OfflineEmissionsTracker failed to initialise "
                               "(its constructor swallows the exception)")
    # A legacy co2_signal token in ~/.codecarbon.config or CODECARBON_* would make it go online.
    tracker._electricitymaps_api_token = None
    tracker.get_detected_hardware()  # probe now, not inside the first window
    return tracker


@dataclass
class _OpenWindow:
    name: str
    task: str
    started: float
    error: str | None = None


class CodeCarbonMeter:
    def __init__(self, country: str = "USA", interval_s: float = 1.0,
                 tracking_mode: TrackingMode = "machine"):
        check_country(country)
        self.country = country
        self.interval_s = interval_s
        self.tracking_mode: TrackingMode = tracking_mode
        self._tracker: Any = self._build_tracker()
        self._open: _OpenWindow | None = None
        self._count = 0

    def begin_window(self, name: str) -> None:
        if self._open is not None:
            raise ValueError(f"energy window {self._open.name!r} is still open; "
                             "CodeCarbon measures one window at a time")
        # Unique task names: CodeCarbon silently renames a reused one.
        window = _OpenWindow(name, f"{name}#{self._count}", time.perf_counter())
        self._count += 1
        try:
            if self._tracker is None:
                self._tracker = self._build_tracker()
            self._tracker.start_task(window.task)
        except Exception as exc:
            window.error = self._failed("start_task", name, exc)
        self._open = window

    def end_window(self, name: str) -> EnergyReading:
        window = self._close(name)
        wall_s = time.perf_counter() - window.started
        if window.error is not None:
            return missing_reading(name, wall_s, window.error)
        try:
            data = self._tracker.stop_task(window.task)
            if data is None:
                return self._missing_no_data(name, wall_s)
            sources = component_sources(list(getattr(self._tracker, "_hardware", [])))
            return to_reading(name, data, sources, self.tracking_mode, wall_s)
        except Exception as exc:
            return missing_reading(name, wall_s, self._failed("stop_task", name, exc))

    def _build_tracker(self) -> Any:
        try:
            return new_tracker(self.country, self.interval_s, self.tracking_mode)
        except TelcotuneError:
            raise
        except Exception as exc:
            raise MeterUnavailable(
                f"codecarbon could not start: {type(exc).__name__}: {exc}") from exc

    def _close(self, name: str) -> _OpenWindow:
        window = self._open
        if window is None or window.name != name:
            open_name = None if window is None else window.name
            raise ValueError(f"energy window {name!r} was not begun (open: {open_name!r})")
        self._open = None
        return window

    def _failed(self, step: str, name: str, exc: Exception) -> str:
        self._discard_tracker()
        reason = f"codecarbon {step} failed: {type(exc).__name__}: {exc}"
        log.warning("energy window %r: %s; its energy is recorded as missing", name, reason)
        return reason

    def _missing_no_data(self, name: str, wall_s: float) -> EnergyReading:
        reason = "codecarbon returned no data for the window (stop_task gave None)"
        log.warning("energy window %r: %s; its energy is recorded as missing", name, reason)
        self._discard_tracker()
        return missing_reading(name, wall_s, reason)

    def _discard_tracker(self) -> None:
        """The tracker may be left mid-task: drop it, the next window builds a fresh one. A bare
        `stop_task()` first stops its 1 s monitor thread, which a failed start may have left on."""
        tracker, self._tracker = self._tracker, None
        with contextlib.suppress(Exception):
            if tracker is not None:
                tracker.stop_task()
