"""The conversation row format shared by every stage, and its system prompt."""

from __future__ import annotations

import json

from ..errors import StageError
from ..paths import DataPaths

SYSTEM_PROMPT = (
    "You are a customer support assistant for a telecom operator. Help customers diagnose and "
    "fix problems with their mobile, broadband, voice, billing and security services. Be accurate, "
    "polite and concise, explain technical terms simply, gently correct misunderstandings, guide "
    "the customer step by step, and say when the issue needs a technician or a specialist team."
)
ROLES = ("system", "user", "assistant")


def system_prompt_of(data: DataPaths) -> str:
    """The system prompt a data folder's conversations were written with: the first message of its
    first training conversation, else the built-in one."""
    path = data.split("train")
    if not path.is_file():
        return SYSTEM_PROMPT
    with open(path, encoding="utf-8") as f:
        first = next((line for line in f if line.strip()), None)  # one row, not the whole file
    if first is None:
        return SYSTEM_PROMPT
    from ..artifacts.data import ConversationRow
    from ..artifacts.io import parse

    try:
        row = parse(ConversationRow, json.loads(first), f"{path}:1")
    except json.JSONDecodeError:
        raise StageError(f"{path}:1: not valid JSON") from None
    system = row.messages[0] if row.messages else None
    return system.content if system is not None and system.role == "system" and system.content else SYSTEM_PROMPT


def with_system(turns: list[dict[str, str]], system_prompt: str = SYSTEM_PROMPT) -> list[dict[str, str]]:
    return [{"role": "system", "content": system_prompt}, *turns]


def prompt_of(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """The conversation up to its last customer turn: what a model is asked to answer."""
    last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
    return messages[: last_user + 1]


def reference_of(messages: list[dict[str, str]]) -> str:
    """The reference answer: the assistant turn after the last customer turn."""
    last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
    return messages[last_user + 1]["content"] if last_user + 1 < len(messages) else ""
