"""Render a `Document` as GitHub-flavoured Markdown, with figures referenced as
figures/<name>.png beside report.md.

Plain text is backslash-escaped so that a run name or a judge reply cannot turn into markup
(or raw HTML, which Markdown passes through); model text (prompts and answers) goes into
fenced blocks, verbatim, with a fence longer than any backtick run inside it.
"""

from __future__ import annotations

import re

from .blocks import (
    Block, Bullets, Code, Document, Finding, Image, Message, Note, Section, SideBySide, Subheading, Table, Text,
)

_SPECIAL = re.compile(r"([\\`*_\[\]<>|#!~&])")
ROLE_LABELS = {"user": "customer", "assistant": "assistant"}


def md(text: object) -> str:
    """Escape inline text; newlines become spaces (tables and list items are one line)."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def fenced(text: str, info: str = "text") -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text.rstrip()}\n{fence}"


def _table(t: Table) -> str:
    align = ["---:" if t.is_numeric(i) else ":---" for i in range(len(t.columns))]
    lines = ["| " + " | ".join(md(c) for c in t.columns) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(md(c) for c in row) + " |" for row in t.rows]
    if t.caption:
        lines += ["", f"*{md(t.caption)}*"]
    return "\n".join(lines)


def _conversation(messages: tuple[Message, ...]) -> str:
    return "\n\n".join(f"[{ROLE_LABELS.get(m.role, m.role)}]\n{m.text}" for m in messages)


def _side_by_side(s: SideBySide) -> str:
    parts = [f"#### {md(s.title)}", fenced(_conversation(s.conversation))]
    for label, text in s.answers:
        parts += [f"**{md(label)}**", fenced(text)]
    return "\n\n".join(parts)


def block(b: Block) -> str:
    match b:
        case Text(text):
            return md(text)
        case Subheading(text):
            return f"### {md(text)}"
        case Note(text):
            return f"> {md(text)}"
        case Finding(text):
            return f"> **{md(text)}**"
        case Bullets(items):
            return "\n".join(f"- {md(i)}" for i in items)
        case Table():
            return _table(b)
        case Image():
            return f"![{md(b.caption)}]({b.relative})\n\n*{md(b.caption)}*"
        case Code(text, summary):
            return f"**{md(summary)}**\n\n{fenced(text, 'json')}"
        case SideBySide():
            return _side_by_side(b)
    raise TypeError(f"unknown block {type(b).__name__}")


def _section(s: Section) -> str:
    return "\n\n".join([f"## {md(s.title)}", *(block(b) for b in s.blocks)])


def render_markdown(doc: Document) -> str:
    contents = "\n".join(f"- {md(s.title)}" for s in doc.sections)
    parts = [f"# {md(doc.title)}", *(block(b) for b in doc.lead), f"**Contents**\n\n{contents}",
             *(_section(s) for s in doc.sections)]
    return "\n\n".join(parts) + "\n"
