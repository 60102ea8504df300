"""Reading and writing typed artifact records: one JSON file or JSONL row per record.

A file of the wrong shape is a `StageError` naming the file (and line) and the first field that
does not fit, never a `KeyError` deep inside a reader. Records are pydantic models or (for the
statistics' own result types) dataclasses; both go through a cached `TypeAdapter`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from ..errors import StageError
from ..fsio import JsonlAppender, atomic_path, write_text
from ..redaction import redact, redactor

T = TypeVar("T")


class Record(BaseModel):
    """Base of every artifact record: immutable; fields unknown to this version are ignored on
    read (a newer writer may add some) and never written by this one."""

    model_config = ConfigDict(frozen=True, extra="ignore", use_attribute_docstrings=True)


@lru_cache(maxsize=None)
def adapter(kind: Any) -> TypeAdapter:
    return TypeAdapter(kind)


def to_plain(record: Any) -> Any:
    """The record as JSON-ready Python data (what is written to disk)."""
    return adapter(type(record)).dump_python(record, mode="json")


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "(top level)"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {err['msg'].lower()}{more}"


def parse(kind: type[T], data: Any, source: str) -> T:
    """`data` as a `kind` record; StageError naming `source` and the field otherwise."""
    try:
        return adapter(kind).validate_python(data)
    except ValidationError as exc:
        raise StageError(f"{source}: {_first_error(exc)}") from None


def _load_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StageError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise StageError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise StageError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise StageError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None


def read_record(path: str | os.PathLike, kind: type[T]) -> T:
    path = Path(path)
    return parse(kind, _load_json(path), str(path))


def read_optional(path: str | os.PathLike, kind: type[T]) -> T | None:
    """The record, or None when the file does not exist (a malformed one is still an error)."""
    path = Path(path)
    return read_record(path, kind) if path.is_file() else None


def to_json(record: Any, indent: int | None = 2, exclude_none: bool = False) -> str:
    """The record as JSON text; non-finite floats become null, so every file is valid JSON.
    `exclude_none`: leave out fields that are None (rows whose optional fields are rare)."""
    return adapter(type(record)).dump_json(record, indent=indent, exclude_none=exclude_none).decode("utf-8")


def write_record(path: str | os.PathLike, record: Any) -> Path:
    return write_text(path, to_json(record) + "\n")


def numbered_lines(path: str | os.PathLike, *, torn_tail_ok: bool = False) -> list[tuple[int, Any]]:
    """(line number, JSON value) of every non-empty line of a JSONL file. `torn_tail_ok`: an
    append-only file whose last line a crash cut short (the line is dropped)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise StageError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise StageError(f"{path}: not UTF-8 text") from None
    values = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            values.append((lineno, json.loads(line)))
        except json.JSONDecodeError as exc:
            if torn_tail_ok and lineno == len(lines):
                break
            raise StageError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
    return values


def read_rows(path: str | os.PathLike, kind: type[T], *, torn_tail_ok: bool = False) -> list[T]:
    """Every JSONL row of `path` as a `kind` record (errors name the file, line and field)."""
    return [parse(kind, data, f"{path}:{lineno}") for lineno, data in numbered_lines(path, torn_tail_ok=torn_tail_ok)]


def write_rows(path: str | os.PathLike, rows: Iterable[Any], exclude_none: bool = False) -> int:
    """Write records as JSON lines atomically; return how many were written."""
    count = 0
    clean = redactor()
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(clean(to_json(row, indent=None, exclude_none=exclude_none)) + "\n")
            count += 1
    return count


class RowAppender(JsonlAppender):
    """Append records one at a time, each flushed (resumable logs: metrics.jsonl, judgments)."""

    def __init__(self, path: str | os.PathLike, exclude_none: bool = False):
        super().__init__(path)
        self.exclude_none = exclude_none

    def write(self, row: Any) -> None:
        self._f.write(redact(to_json(row, indent=None, exclude_none=self.exclude_none)) + "\n")
        self._f.flush()
