"""The ratings file (`eval/ratings.sqlite`): raters, items, open assignments and ratings.

- SQLite in WAL mode with `synchronous=FULL`: readers never block the writer, and a committed
  rating survives a crash of the app or the machine. Every call opens its own connection, and
  every change is one `BEGIN IMMEDIATE` transaction (waiting up to `BUSY_TIMEOUT_S` for another
  writer), so concurrent raters (threads or processes) are safe and a crash loses at most the
  rating being submitted.
- The schema is versioned with `PRAGMA user_version` and created by the first open; a file
  from a newer telcotune is refused rather than misread.
- An assignment is the item a rater is currently shown; it survives a reload or a restart, so a
  rater resumes where they stopped. Submitting rates exactly that item; undo deletes the
  rater's last rating and shows its item again.
"""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..errors import DataError, StageError
from .pool import Candidate, Protocol
from .records import SCORE_FIELDS, RatingError, Response, StoredRating
from .selection import FIRST_TIER, choose_item, first_tier_params

SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30.0
DEFAULT_SEED = 0
MAX_NAME_CHARS = 60

_SCORE_COLUMNS = ", ".join(f"{name} REAL CHECK ({name} BETWEEN 1 AND 10)" for name in SCORE_FIELDS)
SCHEMA = f"""
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE raters (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE items (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    protocol TEXT NOT NULL CHECK (protocol IN ('pairwise', 'pointwise')),
    prompt_id TEXT NOT NULL,
    run_first TEXT NOT NULL,
    run_second TEXT,
    priority INTEGER NOT NULL,
    reason TEXT NOT NULL,
    content_sha TEXT NOT NULL,
    active INTEGER NOT NULL CHECK (active IN (0, 1)),
    created_at TEXT NOT NULL,
    CHECK ((protocol = 'pairwise') = (run_second IS NOT NULL))
);
CREATE UNIQUE INDEX items_identity ON items (protocol, prompt_id, min(run_first, coalesce(run_second, run_first)),
                                             max(run_first, coalesce(run_second, run_first)));
CREATE TABLE ratings (
    id INTEGER PRIMARY KEY,
    rater_id INTEGER NOT NULL REFERENCES raters (id),
    item_id INTEGER NOT NULL REFERENCES items (id),
    run_first TEXT NOT NULL,
    run_second TEXT,
    verdict TEXT CHECK (verdict IN ('A', 'B', 'tie', 'both_bad')),
    {_SCORE_COLUMNS},
    comment TEXT NOT NULL,
    rated_at TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('app', 'import')),
    UNIQUE (rater_id, item_id),
    CHECK ((verdict IS NULL) <> (overall IS NULL))
);
CREATE INDEX ratings_by_item ON ratings (item_id);
CREATE TABLE assignments (
    rater_id INTEGER NOT NULL REFERENCES raters (id),
    protocol TEXT NOT NULL,
    item_id INTEGER NOT NULL REFERENCES items (id),
    served_at TEXT NOT NULL,
    PRIMARY KEY (rater_id, protocol)
);
"""


class UnknownRater(RatingError):
    status = 404
    code = "unknown_rater"


class UnknownItem(RatingError):
    status = 404
    code = "unknown_item"


class AlreadyRated(RatingError):
    status = 409
    code = "already_rated"


class NotShown(RatingError):
    status = 409
    code = "not_shown"


@dataclass(frozen=True)
class Rater:
    id: int
    name: str


@dataclass(frozen=True)
class Item:
    id: int
    key: str
    """Opaque: what the page refers to the item by (run names never reach the page)."""
    protocol: Protocol
    prompt_id: str
    runs: tuple[str, ...]
    """Presentation order: (A, B), or (run,)."""
    priority: int
    reason: str
    content_sha: str


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    """min(ratings asked of each rater, done + items still open to this rater)."""


@dataclass(frozen=True)
class SyncReport:
    added: int
    kept: int
    retired: int
    """Items no longer among the evaluation's answers: kept with their ratings, never shown again."""


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def normalise_name(name: str) -> str:
    """A rater's name as shown: whitespace collapsed; 1-60 printable characters."""
    clean = " ".join(str(name).split())
    if not clean:
        raise RatingError("name: enter a name (any name that tells raters apart)")
    if len(clean) > MAX_NAME_CHARS or not clean.isprintable():
        raise RatingError(f"name: at most {MAX_NAME_CHARS} printable characters")
    return clean


def name_key(name: str) -> str:
    """Identity of a rater: the same name in another case is the same person."""
    return normalise_name(name).casefold()


def _identity(prompt_id: str, runs: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    return prompt_id, tuple(sorted(runs))


_ITEM_COLUMNS = "id, key, protocol, prompt_id, run_first, run_second, priority, reason, content_sha"
_RATING_COLUMNS = (f"r.item_id, ra.name, i.protocol, i.prompt_id, r.run_first, r.run_second, r.verdict, "
                   f"{', '.join('r.' + n for n in SCORE_FIELDS)}, r.comment, r.rated_at, r.source")


def _item(row: sqlite3.Row | tuple) -> Item:
    id_, key, protocol, prompt_id, first, second, priority, reason, sha = row
    return Item(id_, key, protocol, prompt_id, (first,) if second is None else (first, second), priority, reason, sha)


def _rating(row: sqlite3.Row | tuple) -> StoredRating:
    item_id, rater, protocol, prompt_id, first, second, verdict, *rest = row
    scores = dict(zip(SCORE_FIELDS, rest[:len(SCORE_FIELDS)]))
    comment, rated_at, source = rest[len(SCORE_FIELDS):]
    return StoredRating(item_id, rater, protocol, prompt_id, (first,) if second is None else (first, second),
                        verdict, {k: v for k, v in scores.items() if v is not None}, comment, rated_at, source)


class RatingStore:
    """`RatingStore(path)` opens the file, creating it (and its schema) if absent."""

    def __init__(self, path: str | Path, seed: int = DEFAULT_SEED):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._create_or_check(seed)
        self.seed = int(self._meta("seed"))

    # ---------------------------------------------------------------- connections

    @contextlib.contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = FULL")
            yield conn
        except sqlite3.DatabaseError as exc:
            raise DataError(f"{self.path}: {exc}") from None
        finally:
            conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed when the block ends, rolled back on any error."""
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _create_or_check(self, seed: int) -> None:
        with self.connect() as conn:
            if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
                raise DataError(f"{self.path}: SQLite could not switch to WAL mode (a network file system?)")
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version == 0:
                    if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                        raise DataError(f"{self.path}: an SQLite file that is not a telcotune ratings file")
                    for statement in SCHEMA.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                                     [("seed", str(seed)), ("created_at", now_iso())])
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                elif version > SCHEMA_VERSION:
                    raise StageError(f"{self.path}: written by a newer telcotune (ratings schema {version}; this "
                                     f"one reads {SCHEMA_VERSION}); upgrade telcotune")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _meta(self, key: str) -> str:
        with self.connect() as conn:
            return conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0]

    @property
    def schema_version(self) -> int:
        with self.connect() as conn:
            return conn.execute("PRAGMA user_version").fetchone()[0]

    # ---------------------------------------------------------------- items

    def sync_items(self, candidates: Sequence[Candidate], protocol: Protocol) -> SyncReport:
        """Make the store's `protocol` items the candidates: new ones are added (with their
        presentation order, kept from then on), priorities refreshed, and items that left the
        pool retired. An item whose answers changed while it has ratings is an error: those
        ratings are of answers that no longer exist."""
        wanted = {_identity(c.prompt_id, c.runs): c for c in candidates}
        with self.transaction() as conn:
            existing = {
                _identity(prompt_id, (first,) if second is None else (first, second)): (id_, sha, n)
                for id_, prompt_id, first, second, sha, n in conn.execute(
                    "SELECT i.id, i.prompt_id, i.run_first, i.run_second, i.content_sha, count(r.id) "
                    "FROM items i LEFT JOIN ratings r ON r.item_id = i.id WHERE i.protocol = ? GROUP BY i.id",
                    (protocol,))}
            changed = [key for key, (_, sha, n) in existing.items() if key in wanted and n and sha != wanted[key].content_sha]
            if changed:
                prompt_id, runs = changed[0]
                raise StageError(
                    f"{self.path}: {len(changed)} rated {protocol} item(s) now show different answers (e.g. prompt "
                    f"{prompt_id!r}, {' vs '.join(runs)}): the evaluation was rerun since people rated. Export the "
                    f"ratings (`telcotune rate --export FILE`) and move {self.path.name} away to start afresh")
            conn.execute("UPDATE items SET active = 0 WHERE protocol = ?", (protocol,))
            created = now_iso()
            new = [c for key, c in wanted.items() if key not in existing]
            conn.executemany(
                "INSERT INTO items (key, protocol, prompt_id, run_first, run_second, priority, reason, content_sha, "
                "active, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
                [(secrets.token_hex(8), protocol, c.prompt_id, c.runs[0], c.runs[1] if len(c.runs) > 1 else None,
                  c.priority, c.reason, c.content_sha, created) for c in new])
            conn.executemany(
                "UPDATE items SET priority = ?, reason = ?, content_sha = ?, active = 1 WHERE id = ?",
                [(c.priority, c.reason, c.content_sha, existing[key][0]) for key, c in wanted.items() if key in existing])
        return SyncReport(len(new), len(wanted) - len(new), len(set(existing) - set(wanted)))

    def item_by_key(self, key: str) -> Item:
        with self.connect() as conn:
            row = conn.execute(f"SELECT {_ITEM_COLUMNS} FROM items WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise UnknownItem(f"item {key!r}: no such item")
        return _item(row)

    def find_item(self, protocol: Protocol, prompt_id: str, runs: Sequence[str]) -> Item | None:
        """The item showing these runs' answers to this prompt, in either order."""
        if len(runs) == 2:
            match, args = "((run_first = ? AND run_second = ?) OR (run_first = ? AND run_second = ?))", \
                (runs[0], runs[1], runs[1], runs[0])
        else:
            match, args = "run_first = ? AND run_second IS NULL", (runs[0],)
        with self.connect() as conn:
            row = conn.execute(f"SELECT {_ITEM_COLUMNS} FROM items WHERE protocol = ? AND prompt_id = ? AND {match}",
                               (protocol, prompt_id, *args)).fetchone()
        return None if row is None else _item(row)

    def items(self, protocol: Protocol) -> list[Item]:
        with self.connect() as conn:
            rows = conn.execute(f"SELECT {_ITEM_COLUMNS} FROM items WHERE protocol = ? AND active = 1 "
                                "ORDER BY priority", (protocol,)).fetchall()
        return [_item(r) for r in rows]

    # ---------------------------------------------------------------- raters

    def join(self, name: str) -> Rater:
        """The rater of this name, created on first use."""
        shown, key = normalise_name(name), name_key(name)
        with self.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO raters (name, name_key, created_at) VALUES (?, ?, ?)",
                         (shown, key, now_iso()))
            id_, stored = conn.execute("SELECT id, name FROM raters WHERE name_key = ?", (key,)).fetchone()
        return Rater(id_, stored)

    def rater(self, name: str) -> Rater:
        with self.connect() as conn:
            row = conn.execute("SELECT id, name FROM raters WHERE name_key = ?", (name_key(name),)).fetchone()
        if row is None:
            raise UnknownRater(f"rater {normalise_name(name)!r}: not known here; enter the name again to start")
        return Rater(*row)

    # ---------------------------------------------------------------- rating

    @staticmethod
    def _done(conn: sqlite3.Connection, rater: Rater, protocol: Protocol) -> int:
        return conn.execute("SELECT count(*) FROM ratings r JOIN items i ON i.id = r.item_id "
                            "WHERE r.rater_id = ? AND i.protocol = ?", (rater.id, protocol)).fetchone()[0]

    def progress(self, rater: Rater, protocol: Protocol, per_rater: int) -> Progress:
        with self.connect() as conn:
            done = self._done(conn, rater, protocol)
            open_ = conn.execute(
                "SELECT count(*) FROM items i WHERE i.protocol = ? AND i.active = 1 AND NOT EXISTS "
                "(SELECT 1 FROM ratings r WHERE r.item_id = i.id AND r.rater_id = ?)", (protocol, rater.id)).fetchone()[0]
        return Progress(done, min(per_rater, done + open_))

    def next_item(self, rater: Rater, protocol: Protocol, per_rater: int) -> Item | None:
        """The item this rater is shown now: their open assignment, else a newly chosen one
        (see selection.py), else None when they rated `per_rater` items or none is left."""
        with self.transaction() as conn:
            row = conn.execute(f"SELECT {', '.join('i.' + c for c in _ITEM_COLUMNS.split(', '))}, i.active "
                               "FROM assignments a JOIN items i ON i.id = a.item_id "
                               "WHERE a.rater_id = ? AND a.protocol = ?", (rater.id, protocol)).fetchone()
            if row is not None and row[-1]:
                return _item(row[:-1])
            conn.execute("DELETE FROM assignments WHERE rater_id = ? AND protocol = ?", (rater.id, protocol))
            if self._done(conn, rater, protocol) >= per_rater:
                return None
            tier = [id_ for (id_,) in conn.execute(FIRST_TIER, first_tier_params(rater.id, protocol, per_rater))]
            chosen = choose_item(tier, name_key(rater.name), self.seed)
            if chosen is None:
                return None
            conn.execute("INSERT INTO assignments (rater_id, protocol, item_id, served_at) VALUES (?, ?, ?, ?)",
                         (rater.id, protocol, chosen, now_iso()))
            item = conn.execute(f"SELECT {_ITEM_COLUMNS} FROM items WHERE id = ?", (chosen,)).fetchone()
        return _item(item)

    def rate(self, rater: Rater, item_key: str, response: Response) -> StoredRating:
        """Record the rater's answer to the item they are shown (one transaction)."""
        item = self.item_by_key(item_key)
        checked = response.checked(item.protocol, all_criteria=True)
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM ratings WHERE rater_id = ? AND item_id = ?", (rater.id, item.id)).fetchone():
                raise AlreadyRated("you already rated this item")
            shown = conn.execute("SELECT item_id FROM assignments WHERE rater_id = ? AND protocol = ?",
                                 (rater.id, item.protocol)).fetchone()
            if shown is None or shown[0] != item.id:
                raise NotShown("this is not the item you are being shown (rated in another tab?); reload the page")
            rating = StoredRating(item.id, rater.name, item.protocol, item.prompt_id, item.runs, checked.verdict,
                                  checked.scores, checked.comment, now_iso(), "app")
            self._insert(conn, rater, rating)
            conn.execute("DELETE FROM assignments WHERE rater_id = ? AND protocol = ?", (rater.id, item.protocol))
        return rating

    @staticmethod
    def _insert(conn: sqlite3.Connection, rater: Rater, rating: StoredRating) -> None:
        conn.execute(
            f"INSERT INTO ratings (rater_id, item_id, run_first, run_second, verdict, {', '.join(SCORE_FIELDS)}, "
            f"comment, rated_at, source) VALUES (?, ?, ?, ?, ?, {', '.join('?' * len(SCORE_FIELDS))}, ?, ?, ?)",
            (rater.id, rating.item_id, rating.runs[0], rating.runs[1] if len(rating.runs) > 1 else None,
             rating.verdict, *(rating.scores.get(n) for n in SCORE_FIELDS), rating.comment, rating.rated_at,
             rating.source))

    def undo(self, rater: Rater, protocol: Protocol) -> StoredRating | None:
        """Delete the rater's last rating and show its item again; None if they have none."""
        with self.transaction() as conn:
            row = conn.execute(
                f"SELECT r.id, {_RATING_COLUMNS} FROM ratings r JOIN items i ON i.id = r.item_id "
                "JOIN raters ra ON ra.id = r.rater_id WHERE r.rater_id = ? AND i.protocol = ? "
                "ORDER BY r.id DESC LIMIT 1", (rater.id, protocol)).fetchone()
            if row is None:
                return None
            conn.execute("DELETE FROM ratings WHERE id = ?", (row[0],))
            conn.execute("INSERT OR REPLACE INTO assignments (rater_id, protocol, item_id, served_at) "
                         "VALUES (?, ?, ?, ?)", (rater.id, protocol, row[1], now_iso()))
        return _rating(row[1:])

    # ---------------------------------------------------------------- reading and importing

    def ratings(self, protocol: Protocol | None = None) -> list[StoredRating]:
        """Every rating, oldest first."""
        where, args = ("WHERE i.protocol = ?", (protocol,)) if protocol else ("", ())
        with self.connect() as conn:
            rows = conn.execute(f"SELECT {_RATING_COLUMNS} FROM ratings r JOIN items i ON i.id = r.item_id "
                                f"JOIN raters ra ON ra.id = r.rater_id {where} ORDER BY r.id", args).fetchall()
        return [_rating(r) for r in rows]

    def add_imported(self, ratings: Sequence[tuple[str, StoredRating]]) -> tuple[int, int]:
        """(where, rating) pairs in one transaction: all are added or none. A rating identical
        to one already stored is skipped; a different one for the same rater and item is an
        error naming `where`. Returns (added, skipped)."""
        added = skipped = 0
        with self.transaction() as conn:
            for where, rating in ratings:
                key = name_key(rating.rater)
                conn.execute("INSERT OR IGNORE INTO raters (name, name_key, created_at) VALUES (?, ?, ?)",
                             (normalise_name(rating.rater), key, now_iso()))
                rater = Rater(*conn.execute("SELECT id, name FROM raters WHERE name_key = ?", (key,)).fetchone())
                existing = conn.execute(
                    f"SELECT {_RATING_COLUMNS} FROM ratings r JOIN items i ON i.id = r.item_id "
                    "JOIN raters ra ON ra.id = r.rater_id WHERE r.rater_id = ? AND r.item_id = ?",
                    (rater.id, rating.item_id)).fetchone()
                if existing is not None:
                    if _same(_rating(existing), rating):
                        skipped += 1
                        continue
                    raise AlreadyRated(f"{where}: rater {rater.name!r} already has a different rating of this item "
                                       f"(prompt {rating.prompt_id!r}, {' vs '.join(rating.runs)})")
                self._insert(conn, rater, rating)
                added += 1
        return added, skipped


def read_ratings(path: str | Path) -> list[StoredRating]:
    """Every rating in a ratings file, opened read-only (for reports on a copied study folder)."""
    path = Path(path)
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                raise StageError(f"{path}: ratings schema {version}; this telcotune reads {SCHEMA_VERSION}")
            rows = conn.execute(f"SELECT {_RATING_COLUMNS} FROM ratings r JOIN items i ON i.id = r.item_id "
                                "JOIN raters ra ON ra.id = r.rater_id ORDER BY r.id").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise DataError(f"{path}: {exc}") from None
    return [_rating(r) for r in rows]


def _same(a: StoredRating, b: StoredRating) -> bool:
    return (a.runs, a.verdict, a.scores, a.comment, a.rated_at) == (b.runs, b.verdict, b.scores, b.comment, b.rated_at)
