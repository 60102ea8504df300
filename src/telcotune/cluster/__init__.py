"""Running the study's work on a Ray cluster. Only `ray_sweep` and `ray_answers` import ray, and
only the ray executor imports them, so a study on the local executor never loads Ray."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import SweepConfig


def uses_ray(placement: SweepConfig | None) -> bool:
    """True when the sweep section chooses the ray executor; then ray must be installed (a
    ConfigError with the command that installs it, before any work, otherwise)."""
    if placement is None or placement.executor != "ray":
        return False
    from ..llm.sdk_backend import require_sdk

    require_sdk("ray", "ray", "ray", "sweep.executor: ray")
    return True
