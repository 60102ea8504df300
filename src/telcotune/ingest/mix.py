"""Mixing synthetic rows into imported splits: from a finished data folder (`telcotune data`),
each split takes rows of the same split so that synthetic rows make up `share` of it (all
there are when the folder has fewer), marked `source: synthetic`."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..artifacts.data import ConversationRow
from ..artifacts.io import read_rows
from ..errors import StageError
from ..fsio import read_jsonl
from ..manifest import read_manifest
from ..paths import DataPaths
from .split import GROUP_SPLITS
from .transcript import TranscriptError

SYNTHETIC = "synthetic"
DATA_STAGE = "data"


@dataclass(frozen=True)
class SyntheticMix:
    rows: dict[str, list[ConversationRow]]
    """Split -> the synthetic rows chosen for it."""
    scenarios: list[dict[str, Any]]
    """The synthetic folder's scenarios (the rubric judge reads them for synthetic prompts)."""
    available: dict[str, int]


def synthetic_count(imported: int, share: float) -> int:
    """Rows to add so that they are `share` of the split: s / (imported + s) = share."""
    return 0 if share <= 0 else math.floor(imported * share / (1 - share) + 0.5)


def load_synthetic(folder: Path, imported_per_split: dict[str, int], share: float, seed: int) -> SyntheticMix:
    if not 0 <= share < 1:
        raise TranscriptError(f"--synthetic-share: {share} must be at least 0 and below 1")
    paths = DataPaths(Path(folder))
    manifest = read_manifest(paths.root)
    if manifest is None or manifest.stage != DATA_STAGE:
        raise TranscriptError(f"--mix-synthetic: {paths.root} is not a finished synthetic data folder "
                              "(no manifest.json from `telcotune data`)")
    rows, available = {}, {}
    for name in GROUP_SPLITS:
        path = paths.split(name)
        try:
            pool = read_rows(path, ConversationRow) if path.is_file() else []
        except StageError as exc:
            raise TranscriptError(f"--mix-synthetic: {exc}") from None
        available[name] = len(pool)
        want = min(len(pool), synthetic_count(imported_per_split.get(name, 0), share))
        chosen = sorted(random.Random(f"{seed}:{name}").sample(range(len(pool)), want))
        rows[name] = [pool[i].model_copy(update={"source": SYNTHETIC}) for i in chosen]
    scenarios = read_jsonl(paths.scenarios) if paths.scenarios.is_file() else []
    return SyntheticMix(rows, scenarios, available)
