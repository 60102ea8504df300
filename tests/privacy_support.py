"""One offline Presidio engine per test session (building it takes seconds), shared by the
privacy and import tests."""

from __future__ import annotations

import functools

from telcotune.config import PrivacyConfig
from telcotune.privacy.engine import PrivacyEngine, build_engine

from .transcript_corpus import OPERATOR_PATTERNS


@functools.lru_cache(maxsize=None)
def shared_engine() -> PrivacyEngine:
    return build_engine(PrivacyConfig(patterns=OPERATOR_PATTERNS))
