"""The system prompt the adapters were trained with: the first message of the study's first
training conversation, else the built-in one (the data stage writes it into every row)."""

from __future__ import annotations

from ..data.conversation import SYSTEM_PROMPT, system_prompt_of
from ..paths import StudyPaths


def training_system_prompt(study: StudyPaths | None) -> str:
    return SYSTEM_PROMPT if study is None else system_prompt_of(study.data_paths)
