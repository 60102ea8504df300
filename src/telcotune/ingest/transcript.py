"""The one record every reader returns: a transcript with its source location, group key and
speaker turns as exported (raw speaker labels, not yet mapped to roles)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import DataError


class TranscriptError(DataError):
    """An input transcript file cannot be read as asked; the message names file, row and field
    (never the text of a conversation)."""


@dataclass(frozen=True)
class Turn:
    speaker: str
    """The speaker label as exported (`agent`, `customer`, `gpt`, ...)."""
    text: str
    where: str
    """File, row and field of the speaker label, for error messages."""


@dataclass(frozen=True)
class Transcript:
    file: str
    """The source file's name."""
    record: int
    """1-based position of the conversation in its file (line, array index or first CSV row)."""
    group: str
    """The split group key (a ticket, customer or account id); the conversation id by default."""
    turns: tuple[Turn, ...]

    @property
    def where(self) -> str:
        return f"{self.file}: conversation {self.record}"
