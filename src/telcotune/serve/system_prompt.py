"""The system prompt the adapters were trained with: the first message of the study's first
training conversation, else the built-in one (the data stage writes it into every row)."""

from __future__ import annotations

import json

from ..data.conversation import SYSTEM_PROMPT
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
    messages = json.loads(first).get("messages") or []
    if messages and messages[0].get("role") == "system" and messages[0].get("content"):
        return messages[0]["content"]
    return SYSTEM_PROMPT
