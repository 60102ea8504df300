"""Ratings as CSV: `telcotune rate --export FILE` and `--import FILE` (ratings collected
elsewhere, e.g. on paper or in a spreadsheet).

One row per rating, columns `COLUMNS`:

- pairwise: `run_a` was shown as A, `run_b` as B; `verdict` is A, B, tie or both_bad; the score
  columns are empty;
- pointwise: `run_a` is the rated run, `run_b` and `verdict` are empty; `overall` (1-10) is
  required, the criteria are optional;
- `rated_at` is ISO 8601 with a time zone (`2025-05-01T10:00:00+00:00` or `...Z`).

An import is validated row by row against the study's answers before anything is written; the
first bad row stops it with an error naming the file, line and column, and then nothing is
imported. A row identical to a stored rating is skipped, so importing a file twice is harmless.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..errors import DataError
from ..fsio import write_text
from ..judge.llm_judge import CRITERIA
from .pool import PROTOCOLS
from .records import HUMAN_VERDICTS, SCORE_FIELDS, RatingError, Response, StoredRating
from .store import RatingStore, normalise_name
from .study import AnswerBook

COLUMNS: tuple[str, ...] = ("rater", "protocol", "prompt_id", "run_a", "run_b", "verdict", *SCORE_FIELDS,
                            "comment", "rated_at")
OPTIONAL_COLUMNS = frozenset((*CRITERIA, "comment"))
"""Columns an imported file may leave out (every other one is required in its header)."""


class RatingsImportError(DataError):
    """A row of a ratings CSV cannot be imported."""


@dataclass(frozen=True)
class ImportReport:
    added: int
    skipped: int
    """Rows identical to ratings already stored."""


def _score_text(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def export_csv(store: RatingStore, path: Path) -> int:
    """Write every rating to `path` (atomically); returns how many."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    ratings = store.ratings()
    for r in ratings:
        writer.writerow([r.rater, r.protocol, r.prompt_id, r.runs[0], r.runs[1] if len(r.runs) > 1 else "",
                         r.verdict or "", *(_score_text(r.scores.get(n)) for n in SCORE_FIELDS), r.comment,
                         r.rated_at])
    write_text(path, buffer.getvalue())
    return len(ratings)


class _Row:
    """One CSV row with the location every error message names."""

    def __init__(self, path: Path, line: int, values: dict[str, str]):
        self.path, self.line, self.values = path, line, values

    def fail(self, column: str, problem: str) -> RatingsImportError:
        return RatingsImportError(f"{self.path}: line {self.line}: {column}: {problem}")

    def text(self, column: str) -> str:
        return (self.values.get(column) or "").strip()


def _answered(row: _Row, book: AnswerBook, prompt_id: str, column: str) -> str:
    run = row.text(column)
    if not run:
        raise row.fail(column, "missing")
    if book.get(prompt_id, run) is None:
        raise row.fail(column, f"run {run!r} has no answer to prompt {prompt_id!r} in eval/answers")
    return run


def _timestamp(row: _Row) -> str:
    text = row.text("rated_at")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise row.fail("rated_at", f"not an ISO 8601 time: {text!r}") from None
    if when.tzinfo is None:
        raise row.fail("rated_at", f"needs a time zone, e.g. {text}+00:00")
    return when.isoformat(timespec="milliseconds")


def _response(row: _Row, protocol: str) -> Response:
    scores: dict[str, float] = {}
    for name in SCORE_FIELDS:
        if text := row.text(name):
            try:
                scores[name] = float(text)
            except ValueError:
                raise row.fail(name, f"not a number: {text!r}") from None
    verdict = row.text("verdict") or None
    if protocol == "pairwise" and verdict is None:
        raise row.fail("verdict", f"missing (one of {', '.join(HUMAN_VERDICTS)})")
    try:
        return Response(verdict, scores, row.values.get("comment") or "").checked(protocol, all_criteria=False)
    except RatingError as exc:
        column, _, problem = str(exc).partition(": ")
        raise row.fail(column.removeprefix("scores."), problem) from None


def _rating(row: _Row, store: RatingStore, book: AnswerBook) -> StoredRating:
    try:
        rater = normalise_name(row.text("rater"))
    except RatingError as exc:
        raise row.fail("rater", str(exc).partition(": ")[2]) from None
    protocol = row.text("protocol")
    if protocol not in PROTOCOLS:
        raise row.fail("protocol", f"must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    prompt_id = row.text("prompt_id")
    if prompt_id not in book.by_prompt:
        raise row.fail("prompt_id", f"{prompt_id!r} is not an evaluation prompt of this study")
    runs = [_answered(row, book, prompt_id, "run_a")]
    if protocol == "pairwise":
        runs.append(_answered(row, book, prompt_id, "run_b"))
        if runs[0] == runs[1]:
            raise row.fail("run_b", "the same run as run_a")
    elif row.text("run_b"):
        raise row.fail("run_b", "must be empty for a pointwise rating")
    response = _response(row, protocol)
    item = store.find_item(protocol, prompt_id, runs)
    if item is None:
        raise row.fail("run_a", f"no {protocol} item for these answers in {store.path.name} (sync the pool first)")
    return StoredRating(item.id, rater, protocol, prompt_id, tuple(runs), response.verdict, response.scores,
                        response.comment, _timestamp(row), "import")


def read_csv(path: Path, store: RatingStore, book: AnswerBook) -> list[tuple[str, StoredRating]]:
    """Every row of `path` as a rating, validated; (location, rating) pairs."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise RatingsImportError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise RatingsImportError(f"{path}: not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text))
    header = tuple(reader.fieldnames or ())
    missing = [c for c in COLUMNS if c not in header and c not in OPTIONAL_COLUMNS]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown:
        problem = f"missing column(s) {', '.join(missing)}" if missing else f"unknown column(s) {', '.join(unknown)}"
        raise RatingsImportError(f"{path}: line 1: header: {problem} (expected {','.join(COLUMNS)})")
    out: list[tuple[str, StoredRating]] = []
    seen: dict[tuple[str, int], int] = {}
    for values in reader:
        row = _Row(path, reader.line_num, values)
        if None in values:
            raise row.fail("row", f"more fields than the {len(header)} columns of the header")
        rating = _rating(row, store, book)
        key = (rating.rater.casefold(), rating.item_id)
        if key in seen:
            raise row.fail("rater", f"{rating.rater!r} rated these answers already on line {seen[key]}")
        seen[key] = row.line
        out.append((f"{path}: line {row.line}", rating))
    return out


def import_csv(path: Path, store: RatingStore, book: AnswerBook) -> ImportReport:
    return ImportReport(*store.add_imported(read_csv(path, store, book)))
