"""How a run's LoRA targets read in tables: the number of modules it was injected into (from
its resolved module list), with the preset's name when the user gave one."""

from __future__ import annotations

from ..config import ALL_LINEAR, TARGET_PRESETS
from .load import RunArtifacts


def module_count(run: RunArtifacts) -> int:
    return len(run.target_modules)


def module_label(run: RunArtifacts) -> str:
    preset = run.settings.targets
    return f"{module_count(run)} ({preset})" if preset in TARGET_PRESETS or preset == ALL_LINEAR else f"{module_count(run)} (custom)"
