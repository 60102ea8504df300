"""Validation of generated conversations. A failure raises `InvalidConversation` whose message
starts with a reason code (`schema`, `role_order`, `empty_turn`, `term_missing`, `too_short`,
`too_long`), so a re-ask can quote it and a reject can be counted by code."""

from __future__ import annotations

import re
from typing import Any

MIN_CHARS = 80
MAX_CHARS = 8000
MAX_TURN_CHARS = 3000
MAX_CUSTOMER_TURNS = 8


class InvalidConversation(ValueError):
    def __init__(self, code: str, detail: str):
        super().__init__(f"{code}: {detail}")
        self.code = code


def _turns(value: Any) -> list[dict[str, str]]:
    messages = value.get("messages") if isinstance(value, dict) else value
    if not isinstance(messages, list) or not messages:
        raise InvalidConversation("schema", 'expected {"messages": [...]} with at least one message')
    turns = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str) or not isinstance(m.get("content"), str):
            raise InvalidConversation("schema", f"messages[{i}] needs string `role` and `content`")
        turns.append({"role": m["role"].strip().lower(), "content": m["content"].strip()})
    if turns[0]["role"] == "system":  # an LLM may echo a system message; ours is added later
        turns = turns[1:]
    return turns


def _check_roles(turns: list[dict[str, str]]) -> None:
    for i, turn in enumerate(turns):
        expected = "user" if i % 2 == 0 else "assistant"
        if turn["role"] != expected:
            raise InvalidConversation(
                "role_order", f"messages[{i}] is {turn['role']!r}; expected {expected!r} "
                "(customer first, alternating, ending with the assistant)")
    if not turns or turns[-1]["role"] != "assistant":
        raise InvalidConversation("role_order", "the conversation must end with an assistant turn")
    if len(turns) // 2 > MAX_CUSTOMER_TURNS:
        raise InvalidConversation("role_order", f"more than {MAX_CUSTOMER_TURNS} customer turns")


def _check_text(turns: list[dict[str, str]], term_names: list[str]) -> None:
    for i, turn in enumerate(turns):
        if not turn["content"]:
            raise InvalidConversation("empty_turn", f"messages[{i}] is empty")
        if len(turn["content"]) > MAX_TURN_CHARS:
            raise InvalidConversation("too_long", f"messages[{i}] has {len(turn['content'])} characters")
    total = sum(len(t["content"]) for t in turns)
    if total < MIN_CHARS:
        raise InvalidConversation("too_short", f"{total} characters in all (minimum {MIN_CHARS})")
    if total > MAX_CHARS:
        raise InvalidConversation("too_long", f"{total} characters in all (maximum {MAX_CHARS})")
    said = " ".join(t["content"] for t in turns if t["role"] == "assistant").lower()
    if term_names and not any(_mentions(said, name) for name in term_names):  # imported rows name no term
        raise InvalidConversation("term_missing", f"the assistant never names {term_names[0]!r}")


def _mentions(text: str, name: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){re.escape(name.lower())}(?![a-z0-9])", text) is not None


def validate_conversation(value: Any, term_names: list[str]) -> list[dict[str, str]]:
    """The customer/assistant turns of a generated reply, or `InvalidConversation`."""
    turns = _turns(value)
    _check_roles(turns)
    _check_text(turns, term_names)
    return turns
