"""How many modules a run's LoRA targets: presets qv (2), attn (4), all (7), or the length
of a custom comma list."""

from __future__ import annotations

from ..config import TARGET_PRESETS


def module_count(targets: str | None) -> int | None:
    if not targets:
        return None
    if targets in TARGET_PRESETS:
        return len(TARGET_PRESETS[targets])
    return len([t for t in targets.split(",") if t.strip()])


def module_label(targets: str | None) -> str:
    count = module_count(targets)
    if count is None:
        return "n/a"
    return f"{count} ({targets})" if targets in TARGET_PRESETS else f"{count} (custom)"
