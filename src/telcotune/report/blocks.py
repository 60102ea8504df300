"""The report's document model: every section is built once as these blocks and then rendered
twice, to HTML (html.py) and to Markdown (markdown.py), so the two outputs cannot drift.

All text in a block is plain text; the renderers escape it for their format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Subheading:
    text: str


@dataclass(frozen=True)
class Note:
    """A caveat, or what is missing and why ("Not available: ...")."""

    text: str


@dataclass(frozen=True)
class Finding:
    """A sentence stating a result of the study (highlighted)."""

    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""
    numeric: tuple[bool, ...] = ()
    """Per column: right-align (numbers). Empty: every column but the first."""

    def is_numeric(self, i: int) -> bool:
        return self.numeric[i] if self.numeric else i > 0


@dataclass(frozen=True)
class Image:
    path: Path
    """The PNG on disk (inside report/figures/)."""
    caption: str

    @property
    def relative(self) -> str:
        return f"figures/{self.path.name}"


@dataclass(frozen=True)
class Code:
    text: str
    summary: str
    """Shown on the collapsed block in HTML, as a label in Markdown."""


@dataclass(frozen=True)
class Message:
    role: str
    text: str


@dataclass(frozen=True)
class SideBySide:
    """One prompt (the conversation so far) and several answers to it, shown in columns."""

    title: str
    conversation: tuple[Message, ...]
    answers: tuple[tuple[str, str], ...]
    """(label, answer text) per column."""


Block = Text | Subheading | Note | Finding | Bullets | Table | Image | Code | SideBySide


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    blocks: tuple[Block, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Document:
    title: str
    lead: tuple[Block, ...]
    """Shown above the table of contents (what the study is, its headline finding)."""
    sections: tuple[Section, ...]


def not_available(what: str, reason: str) -> Note:
    """The one wording for a missing artifact, so readers (and tests) can find them all."""
    return Note(f"Not available: {what} ({reason}).")
