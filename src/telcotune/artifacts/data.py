"""The data folder's records: conversation rows (train/val/test/test_ood.jsonl, and any prompt
file in the same format), import rejects, and stats.json (what the data set contains, what it
cost, and for imported conversations what was redacted, in counts only)."""

from __future__ import annotations

from typing import Literal

from .io import Record

Role = Literal["system", "user", "assistant"]
Source = Literal["synthetic", "imported"]


class Message(Record):
    role: Role
    content: str


class RowOrigin(Record):
    """Where an imported conversation came from: its file's name and position in it (never a
    value of the conversation)."""

    file: str
    record: int
    """1-based line, JSON array record, or first CSV row of the conversation."""


class ConversationRow(Record):
    """One conversation: its messages (system prompt first) and where it came from."""

    id: str
    messages: list[Message]
    source: Source = "synthetic"
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
    """Imported rows: an anonymous label of the group (ticket, customer or account) that keeps
    them in one split; the group key itself is not written."""
    origin: RowOrigin | None = None
    """Imported rows: the source file and record."""

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


class ImportReject(Record):
    """One rejects.jsonl row of an import: a reason code, never the conversation's text."""

    id: str
    source: Source = "imported"
    origin: RowOrigin
    reason: str
    detail: str


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


class RedactionCounts(Record):
    """Redacted spans of some conversations, by entity type: counts only, never a value."""

    conversations: int = 0
    conversations_affected: int = 0
    """Conversations with at least one span replaced."""
    entities: dict[str, int] = {}
    """Entity type (PHONE, IMEI, ...) -> spans replaced."""
    distinct_values: dict[str, int] = {}
    """Entity type -> distinct values replaced (counted per conversation)."""


class RedactionReport(RedactionCounts):
    """What the redactor replaced in an import: totals over the written splits, per split, and
    for rejected conversations apart."""

    per_split: dict[str, RedactionCounts]
    rejected: RedactionCounts
    entities_checked: list[str]
    names_checked: bool
    """False without an NER model: names of people were not looked for."""
    ner_model: str | None = None
    notes: list[str] = []


class ImportedFile(Record):
    file: str
    format: str
    """The format the file was read as (what `auto` chose)."""
    conversations: int


class ImportSummary(Record):
    """What an import read and kept."""

    read: int
    kept: int
    groups: int
    files: list[ImportedFile]
    normalization: dict[str, int]
    """What was changed to make the conversations trainable (merged turns, cut greetings, ...)."""


class SyntheticMixSummary(Record):
    folder: str
    share: float
    added: dict[str, int]
    """Split -> synthetic rows added."""
    available: dict[str, int]
    """Split -> synthetic rows the folder had."""


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
    source: Literal["synthetic", "imported", "mixed"] = "synthetic"
    """Where the rows came from: generated, imported, or imported with synthetic rows mixed in."""
    by_source: dict[str, dict[str, int]] = {}
    """Imports: split -> row source (`imported`, `synthetic`) -> rows."""
    imported: ImportSummary | None = None
    synthetic: SyntheticMixSummary | None = None
    """Imports with `mix_synthetic`: the synthetic rows mixed in."""
    redaction: RedactionReport | None = None
    """Imports: the redaction report (counts per entity type and split, never values)."""
