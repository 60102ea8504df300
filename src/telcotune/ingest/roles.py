"""From exported speakers to training turns: speaker labels are mapped to roles (built-in
names for what real exports use, plus `--role-map`), consecutive turns of one role are
merged, a leading agent greeting and trailing customer turns are cut so the conversation
runs customer first and ends with an assistant turn, and long conversations are cut to
the validation limits. A conversation with no assistant (or no customer) turn is rejected
with a reason code; an unknown speaker label stops the import (naming where it is, not
what it says)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from ..data.validate import MAX_CHARS, MAX_CUSTOMER_TURNS
from .transcript import Transcript, TranscriptError

TARGETS = ("user", "assistant", "system", "drop")
DEFAULT_ROLES: dict[str, str] = {
    **dict.fromkeys(("user", "human", "customer", "client", "caller", "subscriber", "visitor", "end_user"), "user"),
    **dict.fromkeys(("assistant", "gpt", "chatgpt", "model", "bot", "chatbot", "virtual_agent", "agent", "operator",
                     "support", "representative", "rep", "advisor", "adviser", "specialist", "technician"),
                    "assistant"),
    "system": "system",
    **dict.fromkeys(("tool", "function"), "drop"),
}


def normal_label(label: str) -> str:
    return re.sub(r"[\s\-.]+", "_", label.strip().lower())


def parse_role_map(items: list[str]) -> dict[str, str]:
    """`agent=assistant,customer=user` (also as separate items) -> {speaker: role}."""
    mapping: dict[str, str] = {}
    for item in (part for entry in items for part in entry.split(",") if part.strip()):
        speaker, eq, role = item.partition("=")
        role = role.strip().lower()
        if not eq or not speaker.strip() or role not in TARGETS:
            raise TranscriptError(f"--role-map: {item.strip()!r} is not SPEAKER=ROLE with ROLE one of {', '.join(TARGETS)}")
        mapping[normal_label(speaker)] = role
    return mapping


def role_table(role_map: dict[str, str]) -> dict[str, str]:
    return {**DEFAULT_ROLES, **role_map}


@dataclass(frozen=True)
class Normalized:
    system: str | None
    """The conversation's own system message (its first turns), if it had one."""
    turns: tuple[dict[str, str], ...]
    """user/assistant turns, alternating, customer first, assistant last."""
    changes: Counter = field(default_factory=Counter)
    """What was changed, by kind (`merged_turns`, `leading_assistant_dropped`, ...)."""


@dataclass(frozen=True)
class Rejected:
    reason: str
    detail: str


def _role(table: dict[str, str], speaker: str, where: str) -> str:
    role = table.get(normal_label(speaker))
    if role is None:  # the label itself is not shown: exports may name speakers by their names
        raise TranscriptError(f"{where}: unknown role (the label is not shown: it may be a name); map it with "
                              f"--role-map SPEAKER={'|'.join(TARGETS)}")
    return role


def normalize(transcript: Transcript, table: dict[str, str]) -> Normalized | Rejected:
    changes: Counter = Counter()
    mapped = []
    for turn in transcript.turns:
        role = _role(table, turn.speaker, turn.where)
        text = turn.text.strip()
        if role == "drop" or not text:
            changes["dropped_turns" if role == "drop" else "empty_turns_dropped"] += 1
            continue
        mapped.append((role, text))
    system_parts = []
    while mapped and mapped[0][0] == "system":
        system_parts.append(mapped.pop(0)[1])
    changes["system_turns_dropped"] += sum(1 for role, _ in mapped if role == "system")
    mapped = [(role, text) for role, text in mapped if role != "system"]
    turns = _merge(mapped, changes)
    if not any(t["role"] == "assistant" for t in turns):
        return Rejected("no_assistant_turn", "the conversation has no assistant turn")
    if not any(t["role"] == "user" for t in turns):
        return Rejected("no_customer_turn", "the conversation has no customer turn")
    while turns[0]["role"] == "assistant":
        turns.pop(0)
        changes["leading_assistant_dropped"] += 1
    while turns and turns[-1]["role"] == "user":
        turns.pop()
        changes["trailing_customer_dropped"] += 1
    if not turns:
        return Rejected("no_assistant_turn", "no assistant turn follows a customer turn")
    turns = _cut_to_limits(turns, changes)
    system = "\n\n".join(system_parts) if system_parts else None
    return Normalized(system, tuple(turns), +changes)


def _merge(mapped: list[tuple[str, str]], changes: Counter) -> list[dict[str, str]]:
    turns: list[dict[str, str]] = []
    for role, text in mapped:
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] += "\n" + text
            changes["merged_turns"] += 1
        else:
            turns.append({"role": role, "content": text})
    return turns


def _cut_to_limits(turns: list[dict[str, str]], changes: Counter) -> list[dict[str, str]]:
    """The longest prefix of whole exchanges within the customer-turn and length limits (at
    least one exchange: one too long for the limits is left for validation to reject)."""
    keep, total = 0, 0
    for k in range(len(turns) // 2):
        total += len(turns[2 * k]["content"]) + len(turns[2 * k + 1]["content"])
        if k + 1 > MAX_CUSTOMER_TURNS or total > MAX_CHARS:
            break
        keep = k + 1
    keep = max(keep, 1)
    if keep * 2 < len(turns):
        changes["cut_to_limits"] += 1
    return turns[: keep * 2]
