"""Multiple-choice questions: the one record every source becomes, and the JSONL file format.

One question a line:

    {"question": "What does APN stand for?", "options": ["Access Point Name", "Area Paging Node"],
     "answer": 0, "category": "mobile-data", "id": "apn-1"}

`answer` is the 0-based index of the right option or its letter (`"A"` is the first option,
case-insensitive); `category` and `id` are optional (the id defaults to `<file stem>:<line>`).
A bad row stops loading with an error naming the file, the line and the field.
"""

from __future__ import annotations

import json
import string
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import DataError

FIELDS = ("id", "question", "options", "answer", "category")
REQUIRED = ("question", "options", "answer")
LETTERS = string.ascii_uppercase


class McqError(DataError):
    """An MCQ file is missing or has a bad row."""


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    options: tuple[str, ...]
    answer: int
    """0-based index of the right option."""
    category: str | None
    source: str
    """The source's name: `glossary` or the file's stem."""

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "options": list(self.options)}

    @property
    def chance(self) -> float:
        """Probability that a uniform guess is right."""
        return 1.0 / len(self.options)


def load_mcq(path: str | Path) -> list[Question]:
    """Every question of an MCQ JSONL file; raises `McqError` naming the file, line and field."""
    path = Path(path)
    if not path.is_file():
        raise McqError(f"{path}: MCQ file not found")
    questions: list[Question] = []
    first_line: dict[str, int] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            question = _parse_row(line, path, lineno)
            if question.id in first_line:
                raise McqError(f"{path}:{lineno}: id: {question.id!r} repeats line {first_line[question.id]}")
            first_line[question.id] = lineno
            questions.append(question)
    if not questions:
        raise McqError(f"{path}: no questions (expected one JSON object a line)")
    return questions


def _parse_row(line: str, path: Path, lineno: int) -> Question:
    where = f"{path}:{lineno}"
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise McqError(f"{where}: not valid JSON ({exc.msg})") from None
    if not isinstance(row, dict):
        raise McqError(f"{where}: expected a JSON object with {', '.join(REQUIRED)}")
    unknown = [key for key in row if key not in FIELDS]
    if unknown:
        raise McqError(f"{where}: {unknown[0]}: unknown field (fields: {', '.join(FIELDS)})")
    missing = [key for key in REQUIRED if key not in row]
    if missing:
        raise McqError(f"{where}: {missing[0]}: missing field")
    options = _options(row["options"], where)
    return Question(
        id=_text(row.get("id", f"{path.stem}:{lineno}"), where, "id"),
        question=_text(row["question"], where, "question"),
        options=options,
        answer=_answer(row["answer"], len(options), where),
        category=_text(row["category"], where, "category") if row.get("category") is not None else None,
        source=path.stem,
    )


def _text(value: Any, where: str, field: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and field == "id":
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise McqError(f"{where}: {field}: expected a non-empty string")
    return value.strip()


def _options(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) < 2:
        raise McqError(f"{where}: options: expected a list of at least 2 strings")
    if len(value) > len(LETTERS):
        raise McqError(f"{where}: options: {len(value)} options; at most {len(LETTERS)}")
    options = tuple(_text(v, where, f"options[{i}]") for i, v in enumerate(value))
    seen: dict[str, int] = {}
    for i, option in enumerate(options):
        if option in seen:
            raise McqError(f"{where}: options[{i}]: repeats options[{seen[option]}] ({option!r})")
        seen[option] = i
    return options


def _answer(value: Any, n_options: int, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value < n_options:
            raise McqError(f"{where}: answer: index {value} is out of range for {n_options} options "
                           f"(0 to {n_options - 1}; indices are 0-based)")
        return value
    if isinstance(value, str) and len(value.strip()) == 1 and value.strip().upper() in LETTERS:
        index = LETTERS.index(value.strip().upper())
        if index >= n_options:
            raise McqError(f"{where}: answer: letter {value.strip()!r} names option {index + 1} "
                           f"but the row has {n_options} options")
        return index
    raise McqError(f"{where}: answer: {value!r} is not an option index (0-based integer) or a letter A-Z")
