"""Render a `Document` as one self-contained HTML page: inline CSS, figures embedded as base64
PNG data URIs, no script. Every piece of text is escaped (model answers and judge names are
data, never markup), and a Content-Security-Policy forbids scripts and any network load, so
the page opens from disk or an e-mail attachment and shows exactly what is in it."""

from __future__ import annotations

import base64
from html import escape

from .blocks import (
    Block, Bullets, Code, Document, Finding, Image, Note, Section, SideBySide, Subheading, Table, Text,
)
from .style import CSS

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
ROLE_LABELS = {"user": "customer", "assistant": "assistant"}


def e(text: object) -> str:
    return escape(str(text), quote=True)


def _cells(t: Table, values: tuple[str, ...], tag: str) -> str:
    return "".join(f'<{tag} class="{"num" if t.is_numeric(i) else ""}">{e(v)}</{tag}>' for i, v in enumerate(values))


def _table(t: Table) -> str:
    head = _cells(t, t.columns, "th")
    body = "".join(f"<tr>{_cells(t, row, 'td')}</tr>" for row in t.rows)
    caption = f"<caption>{e(t.caption)}</caption>" if t.caption else ""
    return f'<div class="table-wrap"><table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _image(img: Image) -> str:
    data = base64.b64encode(img.path.read_bytes()).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{e(img.caption)}">'
            f"<figcaption>{e(img.caption)}</figcaption></figure>")


def _side_by_side(s: SideBySide) -> str:
    turns = "".join(f'<div class="turn {e(m.role)}"><span class="role">{e(ROLE_LABELS.get(m.role, m.role))}</span>'
                    f'<div class="text">{e(m.text)}</div></div>' for m in s.conversation)
    answers = "".join(f'<div class="answer"><h5>{e(label)}</h5><div class="text">{e(text)}</div></div>'
                      for label, text in s.answers)
    return (f'<div class="sample"><h4>{e(s.title)}</h4><div class="conversation">{turns}</div>'
            f'<div class="answers cols-{len(s.answers)}">{answers}</div></div>')


def block(b: Block) -> str:
    match b:
        case Text(text):
            return f"<p>{e(text)}</p>"
        case Subheading(text):
            return f"<h3>{e(text)}</h3>"
        case Note(text):
            return f'<p class="note">{e(text)}</p>'
        case Finding(text):
            return f'<p class="finding">{e(text)}</p>'
        case Bullets(items):
            return "<ul>" + "".join(f"<li>{e(i)}</li>" for i in items) + "</ul>"
        case Table():
            return _table(b)
        case Image():
            return _image(b)
        case Code(text, summary):
            return f"<details><summary>{e(summary)}</summary><pre><code>{e(text)}</code></pre></details>"
        case SideBySide():
            return _side_by_side(b)
    raise TypeError(f"unknown block {type(b).__name__}")


def _section(s: Section) -> str:
    return f'<section id="{e(s.id)}"><h2>{e(s.title)}</h2>' + "\n".join(block(b) for b in s.blocks) + "</section>"


def render_html(doc: Document) -> str:
    toc = "".join(f'<li><a href="#{e(s.id)}">{e(s.title)}</a></li>' for s in doc.sections)
    return "\n".join([
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<link rel="icon" href="data:,">',  # no favicon request from file://
        f"<title>{e(doc.title)}</title><style>{CSS}</style></head><body><main>",
        f"<h1>{e(doc.title)}</h1>",
        *(block(b) for b in doc.lead),
        f'<nav><h2>Contents</h2><ul>{toc}</ul></nav>',
        *(_section(s) for s in doc.sections),
        "</main></body></html>",
    ]) + "\n"
