"""The system prompt the adapters were trained with: the first message of the study's first
training conversation, else the built-in one (the data stage writes it into every row)."""

from __future__ import annotations

import json

from ..artifacts.data import ConversationRow
from ..artifacts.io import parse
from ..data.conversation import SYSTEM_PROMPT
from ..errors import StageError
from ..paths import DataPaths, StudyPaths


def training_system_prompt(study: StudyPaths | None) -> str:
    if study is None:
        return SYSTEM_PROMPT
    path = DataPaths(study.data).split("train")
    if not path.is_file():
        return SYSTEM_PROMPT
    with open(path, encoding="utf-8") as f:
        first = next((line for line in f if line.strip()), None)  # one row, not the whole file
    if first is None:
        return SYSTEM_PROMPT
    try:
        row = parse(ConversationRow, json.loads(first), f"{path}:1")
    except json.JSONDecodeError:
        raise StageError(f"{path}:1: not valid JSON") from None
    system = row.messages[0] if row.messages else None
    return system.content if system is not None and system.role == "system" and system.content else SYSTEM_PROMPT
