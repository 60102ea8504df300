"""How a run's LoRA targets read in tables: the number of modules it was injected into (from
its resolved module list), with the preset's name when the user gave one."""

from __future__ import annotations

from ..config import TARGET_PRESETS
from .load import RunArtifacts


def module_count(run: RunArtifacts) -> int:
    return len(run.target_modules)


def module_label(run: RunArtifacts) -> str:
    preset = run.settings.targets
    return f"{module_count(run)} ({preset})" if preset in TARGET_PRESETS else f"{module_count(run)} (custom)"
