"""The second pass: the written splits are read back and every string in them is scanned with
the strict recognizers (check digits or unambiguous shapes). Any match fails the import; the
finding names the file, row, field and entity type, never the value."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import TelcotuneError
from ..fsio import read_json, read_jsonl
from .engine import PrivacyEngine


class RedactionError(TelcotuneError):
    """Personal data was found where redaction should have removed it."""


@dataclass(frozen=True)
class Finding:
    file: str
    row: int
    """1-based line of the JSONL file."""
    field: str
    entity: str

    def describe(self) -> str:
        return f"{self.file}: row {self.row}: {self.field}: a {self.entity} value remains"


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}[{i}]")


def scan_rows(engine: PrivacyEngine, rows: Iterable[Any], file: str) -> list[Finding]:
    findings = []
    for row_number, row in enumerate(rows, 1):
        for path, text in _strings(row, ""):
            findings += [Finding(file, row_number, path, s.entity) for s in engine.strict_spans(text)]
    return findings


def _rows(path: Path) -> list[Any]:
    return [read_json(path)] if path.suffix == ".json" else read_jsonl(path)


def verify_rows(engine: PrivacyEngine, rows_by_file: dict[str, Iterable[Any]]) -> None:
    """Raise `RedactionError` naming the first finding (and how many there are)."""
    findings = [f for file, rows in rows_by_file.items() for f in scan_rows(engine, rows, file)]
    if findings:
        more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
        raise RedactionError(f"verification failed: {findings[0].describe()}{more}; nothing was written")


def verify_files(engine: PrivacyEngine, files: Iterable[Path]) -> None:
    """The written files read back: JSONL row by row, a JSON file as one row."""
    verify_rows(engine, {Path(path).name: _rows(Path(path)) for path in files})
