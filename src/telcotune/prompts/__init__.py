"""Versioned prompt files. A prompt's file name carries its version, and the version is
recorded in every artifact built with it, so a changed prompt never hides behind a cache."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

PROMPTS_DIR = Path(__file__).parent


@lru_cache(maxsize=None)
def load_prompt(kind: str, version: str) -> str:
    """The text of prompts/<kind>/<version>.txt."""
    path = PROMPTS_DIR / kind / f"{version}.txt"
    if not path.is_file():
        raise FileNotFoundError(f"prompt {kind}/{version} not found at {path}")
    return path.read_text(encoding="utf-8")
