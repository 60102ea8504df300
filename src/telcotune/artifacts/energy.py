"""energy.json records: every phase's reading, the total, and energy per unit of work, each
named by its unit (J per conversation, per training token, per generated token, per judgment)."""

from __future__ import annotations

from typing import Literal

from ..energy.base import EnergyReading, Method
from .io import Record


class EnergyTotal(Record):
    energy_j: float | None
    """None when any phase is missing: a partial sum is never presented as a total."""
    energy_kwh: float | None
    co2_kg: float | None
    duration_s: float
    """Always known (time is always measured), summed over the phases."""
    avg_power_w: float | None


class EnergyFile(Record):
    """What every energy.json holds."""

    phases: dict[str, EnergyReading]
    total: EnergyTotal
    method: Method
    """measured (a hardware counter), estimated (a model of power) or missing (with the reason)."""
    missing_reason: str | None = None


class DataEnergy(EnergyFile):
    """data/energy.json: the generation window."""

    conversations: int
    j_per_conversation: float | None


class RunEnergy(EnergyFile):
    """sweep/<run>/energy.json: the training and validation phases."""

    train_tokens: int
    j_per_train_token: float | None
    """Training phase energy per training token (validation is in the total, not here)."""
    windows: dict[str, int]
    """Measurement windows merged into each phase."""
    attribution: Literal["machine", "cpu-time", "gpu-devices"] = "machine"
    """What the figure covers: the whole machine, this run's share of the machine's CPU time (runs
    sharing a CPU machine), or only the GPUs the run was given (NVML)."""


class AnswersEnergy(EnergyFile):
    """eval/answers/<run>.energy.json: generating one run's answers."""

    generated_tokens: int
    j_per_generated_token: float | None


class JudgeEnergy(EnergyFile):
    """eval/judgments/<judge>.energy.json: one judge's whole judging window."""

    judgments: int
    j_per_judgment: float | None
