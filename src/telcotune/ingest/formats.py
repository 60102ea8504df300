"""Readers for exported transcripts, each returning `Transcript` records, and the auto-detection
that picks one per file:

- `openai`: JSONL (or a JSON array) of {"messages": [{"role", "content"}, ...]}, the format
  telcotune writes;
- `sharegpt`: {"conversations": [{"from": "human"|"gpt"|"system", "value"}, ...]};
- `csv`: one row per turn, in a CSV/TSV file or a JSONL file, with columns for the
  conversation id, the turn order (an index or an ISO 8601 timestamp), the speaker and the
  text; their names are set with `Columns`.

Errors name the file, the row (JSONL line, JSON array record, or CSV row counting the header
as row 1) and the field, and never quote a conversation's text.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .transcript import Transcript, TranscriptError, Turn

FORMATS = ("auto", "openai", "sharegpt", "csv")
CSV_SUFFIXES = (".csv", ".tsv")
DEFAULT_ORDER_COLUMNS = ("turn", "timestamp")


@dataclass(frozen=True)
class Columns:
    """Column names of per-turn rows."""

    id: str = "conversation_id"
    order: str | None = None
    """None: a `turn` or `timestamp` column if there is one, else the file's order."""
    role: str = "role"
    text: str = "text"


def parse_columns(items: list[str]) -> Columns:
    """`id=ticket_id,order=sent_at,role=speaker,text=body` (also as separate items)."""
    fields: dict[str, str] = {}
    for item in (part for entry in items for part in entry.split(",") if part.strip()):
        key, eq, name = item.partition("=")
        key, name = key.strip(), name.strip()
        if not eq or key not in Columns.__dataclass_fields__ or not name:
            raise TranscriptError(f"--columns: {item.strip()!r} is not FIELD=COLUMN with FIELD one of id, order, role, text")
        fields[key] = name
    return Columns(**fields)


@dataclass(frozen=True)
class Source:
    transcripts: list[Transcript]
    format: str
    """The format the file was read as (what `auto` chose)."""


@dataclass(frozen=True)
class _Record:
    value: Any
    where: str
    """`line 3`, `record 3` or `row 3`."""
    number: int


def read_source(path: str | Path, fmt: str = "auto", columns: Columns = Columns(),
                group_by: str | None = None) -> Source:
    """Every transcript of one file."""
    path = Path(path)
    if fmt not in FORMATS:
        raise TranscriptError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    text = _read_text(path)
    if path.suffix.lower() in CSV_SUFFIXES:
        if fmt not in ("auto", "csv"):
            raise TranscriptError(f"{path.name}: a CSV file can only hold the csv format (one row per turn), not {fmt}")
        records, fmt = _csv_records(path, text, columns), "csv"
    else:
        records = _json_records(path, text)
        if fmt == "auto":
            fmt = _detect(path, records[0], columns)
    if fmt == "csv":
        transcripts = _from_turn_rows(path, records, columns, group_by)
    else:
        transcripts = [_from_conversation(path, r, fmt, group_by) for r in records]
    return Source(transcripts, fmt)


def _read_text(path: Path) -> str:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise TranscriptError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise TranscriptError(f"{path.name}: not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise TranscriptError(f"{path.name}: empty source (no conversations)")
    return text


def _json_records(path: Path, text: str) -> list[_Record]:
    if text.lstrip().startswith("["):
        try:
            values = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TranscriptError(f"{path.name}: line {exc.lineno}: not valid JSON ({exc.msg})") from None
        records = [_Record(v, f"record {i}", i) for i, v in enumerate(values, 1)]
    else:
        records = []
        for lineno, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    records.append(_Record(json.loads(line), f"line {lineno}", lineno))
                except json.JSONDecodeError as exc:
                    raise TranscriptError(f"{path.name}: line {lineno}: not valid JSON ({exc.msg})") from None
    if not records:
        raise TranscriptError(f"{path.name}: empty source (no conversations)")
    for r in records:
        if not isinstance(r.value, dict):
            raise TranscriptError(f"{path.name}: {r.where}: expected a JSON object")
    return records


def _csv_records(path: Path, text: str, columns: Columns) -> list[_Record]:
    dialect = "excel-tab" if path.suffix.lower() == ".tsv" else _sniff(text)
    reader = csv.DictReader(io.StringIO(text, newline=""), dialect=dialect)
    header = reader.fieldnames or []
    for field in _required(columns):
        if field not in header:
            raise TranscriptError(f"{path.name}: row 1: column {field!r}: missing (columns: {', '.join(header)})")
    try:
        records = [_Record(row, f"row {i}", i) for i, row in enumerate(reader, 2)]
    except csv.Error as exc:
        raise TranscriptError(f"{path.name}: row {reader.line_num}: not valid CSV ({exc})") from None
    if not records:
        raise TranscriptError(f"{path.name}: empty source (a header and no rows)")
    return records


def _sniff(text: str) -> type[csv.Dialect] | str:
    try:
        return csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        return "excel"


def _required(columns: Columns) -> tuple[str, ...]:
    return (columns.id, columns.role, columns.text) + ((columns.order,) if columns.order else ())


def _detect(path: Path, first: _Record, columns: Columns) -> str:
    value = first.value
    if "messages" in value:
        return "openai"
    if "conversations" in value:
        return "sharegpt"
    if all(field in value for field in (columns.id, columns.role, columns.text)):
        return "csv"
    raise TranscriptError(
        f"{path.name}: {first.where}: cannot tell the format: no `messages` (openai), no `conversations` "
        f"(sharegpt) and not the per-turn columns {columns.id}, {columns.role}, {columns.text}; set --format")


# -- one record per conversation ----------------------------------------------------------

def _field(value: dict[str, Any], dotted: str) -> Any:
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _group_of(path: Path, record: _Record, group_by: str | None, default: str) -> str:
    if group_by is None:
        return default
    value = _field(record.value, group_by)
    if value is None or isinstance(value, (dict, list)) or str(value).strip() == "":
        raise TranscriptError(f"{path.name}: {record.where}: field {group_by!r}: missing (--group-by)")
    return str(value).strip()


_KEYS = {"openai": ("messages", "role", "content"), "sharegpt": ("conversations", "from", "value")}


def _from_conversation(path: Path, record: _Record, fmt: str, group_by: str | None) -> Transcript:
    list_key, speaker_key, text_key = _KEYS[fmt]
    where = f"{path.name}: {record.where}"
    items = record.value.get(list_key)
    if not isinstance(items, list):
        raise TranscriptError(f"{where}: field {list_key!r}: missing or not a list ({fmt} format)")
    turns = []
    for i, item in enumerate(items):
        field = f"{list_key}[{i}]"
        if not isinstance(item, dict):
            raise TranscriptError(f"{where}: field {field}: expected an object with {speaker_key!r} and {text_key!r}")
        speaker = item.get(speaker_key)
        if not isinstance(speaker, str) or not speaker.strip():
            raise TranscriptError(f"{where}: field {field}.{speaker_key}: missing")
        turns.append(Turn(speaker, _text(item.get(text_key), f"{where}: field {field}.{text_key}"),
                          f"{where}: field {field}.{speaker_key}"))
    conversation_id = record.value.get("id")
    default_group = f"{path.name}#{record.number}" if conversation_id is None else str(conversation_id)
    return Transcript(path.name, record.number, _group_of(path, record, group_by, default_group), tuple(turns))


def _text(value: Any, where: str) -> str:
    if value is None:  # e.g. an assistant message that only called a tool
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # OpenAI content parts: keep the text ones
        parts = [p.get("text") for p in value if isinstance(p, dict) and p.get("type") == "text"]
        if all(isinstance(p, str) for p in parts):
            return "\n".join(parts)
    raise TranscriptError(f"{where}: expected text")


# -- one row per turn ---------------------------------------------------------------------

def _cell(path: Path, record: _Record, column: str, *, required: bool = True) -> str:
    value = record.value.get(column)
    if value is None or (required and str(value).strip() == ""):
        if not required:
            return ""
        raise TranscriptError(f"{path.name}: {record.where}: column {column!r}: missing")
    if isinstance(value, (dict, list)):
        raise TranscriptError(f"{path.name}: {record.where}: column {column!r}: expected text")
    return str(value)


def _order_column(records: list[_Record], columns: Columns) -> str | None:
    if columns.order is not None:
        return columns.order
    keys = records[0].value.keys()
    return next((c for c in DEFAULT_ORDER_COLUMNS if c in keys), None)


def _from_turn_rows(path: Path, records: list[_Record], columns: Columns, group_by: str | None) -> list[Transcript]:
    order_column = _order_column(records, columns)
    conversations: dict[str, list[_Record]] = {}
    for record in records:
        conversations.setdefault(_cell(path, record, columns.id).strip(), []).append(record)
    transcripts = []
    for conversation_id, rows in conversations.items():
        first_row = rows[0].number  # where the conversation first appears in the file
        if order_column is not None:
            rows = _ordered(path, rows, order_column)
        turns = tuple(Turn(_cell(path, r, columns.role), _cell(path, r, columns.text, required=False),
                           f"{path.name}: {r.where}: column {columns.role!r}") for r in rows)
        group = _row_group(path, rows, group_by, conversation_id)
        transcripts.append(Transcript(path.name, first_row, group, turns))
    return transcripts


def _row_group(path: Path, rows: list[_Record], group_by: str | None, default: str) -> str:
    if group_by is None:
        return default
    values = {r.number: _cell(path, r, group_by).strip() for r in rows}
    first = values[rows[0].number]
    for record in rows:
        if values[record.number] != first:
            raise TranscriptError(f"{path.name}: {record.where}: column {group_by!r}: differs from the conversation's "
                                  f"first row ({rows[0].where}); a conversation belongs to one group")
    return first


def _ordered(path: Path, rows: list[_Record], column: str) -> list[_Record]:
    keys = [_order_key(path, r, column) for r in rows]
    kinds = {type(k) for k in keys}
    if len(kinds) > 1:
        raise TranscriptError(f"{path.name}: {rows[0].where}: column {column!r}: mixes turn numbers and timestamps "
                              "within one conversation")
    return [r for _, _, r in sorted(zip(keys, range(len(rows)), rows), key=lambda t: (t[0], t[1]))]


def _order_key(path: Path, record: _Record, column: str) -> float | dt.datetime:
    value = _cell(path, record, column).strip()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise TranscriptError(f"{path.name}: {record.where}: column {column!r}: neither a turn number nor an "
                              "ISO 8601 timestamp") from None
    return stamp.astimezone(dt.timezone.utc).replace(tzinfo=None) if stamp.tzinfo else stamp


def iter_sources(paths: list[Path]) -> Iterator[Path]:
    """Files named, and the transcript files (.jsonl, .json, .csv, .tsv) inside folders named."""
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in (".jsonl", ".json", *CSV_SUFFIXES))
            if not found:
                raise TranscriptError(f"{path}: empty source (no .jsonl, .json, .csv or .tsv file in the folder)")
            yield from found
        else:
            yield path
