"""Energy metering: measurement windows per phase, labelled measured / estimated / missing.
(`energy.summary` builds the energy.json records from the readings.)"""

from .base import (
    EnergyReading, Meter, MeterUnavailable, Method, NullMeter, WindowResult, combine_methods, window,
)
from .capabilities import detect_capabilities, machine_energy_note
from .codecarbon_meter import CodeCarbonMeter
from .factory import make_meter
from .nvml_meter import NvmlMeter
from .replay import ReplayMeter

__all__ = [
    "CodeCarbonMeter", "EnergyReading", "Meter", "MeterUnavailable", "Method", "NullMeter",
    "NvmlMeter", "ReplayMeter", "WindowResult", "combine_methods", "detect_capabilities",
    "machine_energy_note", "make_meter", "window",
]
