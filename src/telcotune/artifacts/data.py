"""The data folder's records: conversation rows (train/val/test/test_ood.jsonl, and any prompt
file in the same format) and stats.json (what the data set contains, and what it cost)."""

from __future__ import annotations

from typing import Literal

from .io import Record

Role = Literal["system", "user", "assistant"]


class Message(Record):
    role: Role
    content: str


class ConversationRow(Record):
    """One conversation: its messages (system prompt first) and where it came from."""

    id: str
    messages: list[Message]
    source: Literal["synthetic", "imported"] = "synthetic"
    scenario_id: str | None = None
    """Synthetic rows: `<term>--<cause>--<context>`; imported rows have no scenario."""
    term: str | None = None
    cause: str | None = None
    context: str | None = None
    persona: str | None = None
    customer_turns: int | None = None
    misconception: str | None = None
    """The customer's misconception the assistant corrects, if the plan had one."""
    group: str | None = None
    """Imported rows: the key (ticket, customer or account) that keeps them in one split."""

    def plain_messages(self) -> list[dict[str, str]]:
        return [m.model_dump() for m in self.messages]


class Histogram(Record):
    counts: list[int]
    edges: list[float]


class Distribution(Record):
    count: int
    mean: float | None = None
    min: int | None = None
    max: int | None = None
    p50: float | None = None
    p90: float | None = None
    histogram: Histogram | None = None


class Rejects(Record):
    total: int
    by_reason: dict[str, int]
    """Reason code -> rejected conversations."""


class BackendStats(Record):
    """One generator's calls, cache hits, retries, tokens and cost (cost None when unpriced)."""

    backend: str = ""
    model: str = ""
    calls: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    retries: int = 0
    cost_usd: float | None = None
    duration_s: float | None = None


class DataStats(Record):
    scenarios: int
    planned: int
    conversations: int
    splits: dict[str, int]
    rejects: Rejects
    duplicates_removed: dict[str, int]
    per_term: dict[str, int]
    per_cause: dict[str, int]
    per_context: dict[str, int]
    per_cell: dict[str, int]
    """`term|cause` -> conversations."""
    per_persona: dict[str, int]
    with_misconception: int
    customer_turns: dict[int, int]
    length_approx_tokens: Distribution
    backend: dict[str, BackendStats]
    """Generator spec -> its statistics."""
