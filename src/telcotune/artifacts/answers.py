"""eval/answers/<run>.jsonl rows and the <run>.meta.json that says which settings made them."""

from __future__ import annotations

from ..config import DecodingConfig
from .data import Message
from .io import Record


class AnswerRow(Record):
    id: str
    """The evaluation prompt's id."""
    set: str
    """Its prompt set (`test`, `test_ood`, or a file's stem)."""
    run: str
    prompt: list[Message]
    """The conversation up to the customer's last turn, as the model saw it."""
    answer: str
    new_tokens: int
    prompt_tokens: int
    latency_s: float


class AnswersMeta(Record):
    fingerprint: str
    """Hash of the adapter files, the prompts and the generation settings."""
    adapter: str | None
    """The adapter folder; None for the base model."""
    decoding: DecodingConfig
    """How the answers' tokens were picked (the study's `decoding` section, as served)."""
    written_at: float
    rows: int = 0
    """How many answer rows the answers file holds."""
    sha256: str = ""
    """The answers file's hash: a torn or edited file does not match."""
