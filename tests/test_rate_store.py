"""The ratings file and the item pool: schema and WAL, informative items first, the order raters
meet items in, rating / undo / resume, concurrent writers, a crash mid-rating, answers that
change under rated items, and CSV export / import with row-by-row errors."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections import Counter
from pathlib import Path

import pytest

from telcotune.errors import DataError, StageError
from telcotune.fsio import write_jsonl
from telcotune.paths import EvalPaths
from telcotune.rate.pool import candidates
from telcotune.rate.records import InvalidRating, Response
from telcotune.rate.store import SCHEMA_VERSION, AlreadyRated, NotShown, RatingStore, UnknownRater
from telcotune.rate.study import load_answers, load_judgments
from telcotune.rate.transfer import COLUMNS, RatingsImportError, export_csv, import_csv

from .rate_study import ALL_RUNS, answer_text, write_study

ROOT = Path(__file__).resolve().parents[1]
N_PROMPTS = 6
N_PAIRS = N_PROMPTS * len(ALL_RUNS) * (len(ALL_RUNS) - 1) // 2


@pytest.fixture()
def study(tmp_path):
    return write_study(tmp_path / "study", n_prompts=N_PROMPTS)


def open_store(study, protocol="pairwise", seed=0) -> tuple[RatingStore, object]:
    book = load_answers(study.eval)
    store = RatingStore(EvalPaths(study.eval).ratings, seed=seed)
    store.sync_items(candidates(book, load_judgments(study.eval), protocol, store.seed), protocol)
    return store, book


def rate_all(store, name, per_rater, verdict="A", protocol="pairwise") -> list[str]:
    rater, keys = store.join(name), []
    while (item := store.next_item(rater, protocol, per_rater)) is not None:
        keys.append(item.key)
        store.rate(rater, item.key, Response(verdict))
    return keys


# ---------------------------------------------------------------- the file


def test_the_file_is_created_in_wal_mode_with_a_schema_version(study):
    store, _ = open_store(study)
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == store.schema_version
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"meta", "raters", "items", "ratings", "assignments"}
    assert RatingStore(store.path, seed=99).seed == 0  # the seed is fixed when the file is created


def test_a_newer_or_foreign_file_is_refused(tmp_path):
    newer = tmp_path / "newer.sqlite"
    RatingStore(newer)
    with sqlite3.connect(newer) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StageError, match="newer telcotune"):
        RatingStore(newer)
    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(DataError, match="not a telcotune ratings file"):
        RatingStore(foreign)
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(DataError, match="garbage.sqlite"):
        RatingStore(garbage)


# ---------------------------------------------------------------- the pool


def test_items_come_from_the_answers_and_disagreements_come_first(study):
    book, judges = load_answers(study.eval), load_judgments(study.eval)
    pool = candidates(book, judges, "pairwise", seed=0)
    assert len(pool) == N_PAIRS and [c.priority for c in pool] == list(range(N_PAIRS))
    assert {(c.prompt_id, frozenset(c.runs)) for c in pool} == {
        (p, frozenset((a, b))) for p in book.by_prompt for a in ALL_RUNS for b in ALL_RUNS if a < b}
    # rate_study's rubric swaps r4-qv and r8-attn on even prompts: the judges disagree there
    disagreements = [c for c in pool if c.reason.startswith("the LLM judges disagree")]
    assert {(c.prompt_id, frozenset(c.runs)) for c in disagreements} == {
        (p, frozenset(("r4-qv", "r8-attn"))) for p in ("p00", "p02", "p04")}
    assert pool[:3] == disagreements
    # then runs the judges place close together before runs far apart
    gaps = [float(c.reason.split(" ranks apart")[0].rsplit(" ", 1)[1]) for c in pool[3:]]
    assert gaps == sorted(gaps)
    # presentation order: seeded, the same every time, both orders used
    again = candidates(book, judges, "pairwise", seed=0)
    assert [c.runs for c in again] == [c.runs for c in pool]
    assert Counter(c.runs[0] < c.runs[1] for c in pool)[True] not in (0, N_PAIRS)
    assert [c.runs for c in candidates(book, judges, "pairwise", seed=1)] != [c.runs for c in pool]


def test_pointwise_items_keep_a_prompts_answers_together(study):
    pool = candidates(load_answers(study.eval), load_judgments(study.eval), "pointwise", seed=0)
    assert len(pool) == N_PROMPTS * len(ALL_RUNS)
    prompts = [c.prompt_id for c in pool]
    assert all(len(set(prompts[i:i + len(ALL_RUNS)])) == 1 for i in range(0, len(pool), len(ALL_RUNS)))


# ---------------------------------------------------------------- who sees what


def test_raters_never_see_an_item_twice_and_items_get_a_second_rater(study):
    store, _ = open_store(study)
    first = rate_all(store, "Ada", 10)
    second = rate_all(store, "Brian", 10)
    third = rate_all(store, "Chen", 10)
    assert len(set(first)) == len(set(second)) == len(set(third)) == 10
    assert set(second) == set(first) and second != first  # the same items, in another order
    assert not set(third) & set(first)  # a third rater starts on new items
    fourth = rate_all(store, "Dana", 10)
    assert set(fourth) == set(third)
    counts = Counter(r.item_id for r in store.ratings())
    assert set(counts.values()) == {2}
    # the first ten are the pool's most informative ten
    assert {store.item_by_key(k).priority for k in first} == set(range(10))


def identities(store, keys) -> list[tuple[str, tuple[str, ...]]]:
    return [(item.prompt_id, item.runs) for item in map(store.item_by_key, keys)]


def test_orders_are_deterministic_for_a_seed_and_differ_between_raters(tmp_path):
    def alone(name, copy, seed=0):
        store, _ = open_store(write_study(tmp_path / copy, n_prompts=N_PROMPTS), seed=seed)
        return identities(store, rate_all(store, name, 8))

    ada = alone("Ada", "one")
    assert alone("Ada", "two") == ada  # same study, same seed, same rater: the same order
    brian = alone("Brian", "three")
    assert set(brian) == set(ada) and brian != ada  # the same most informative block, in another order
    assert alone("Ada", "four", seed=1) != ada


def test_rate_undo_and_resume(study):
    store, _ = open_store(study)
    ada = store.join("Ada")
    item = store.next_item(ada, "pairwise", 5)
    assert store.next_item(ada, "pairwise", 5) == item  # shown until rated
    assert store.join("  ada ") == ada  # names are people, not spellings
    with pytest.raises(InvalidRating, match="verdict"):
        store.rate(ada, item.key, Response("C"))
    store.rate(ada, item.key, Response("both_bad", comment="neither fixes the APN"))
    with pytest.raises(AlreadyRated):
        store.rate(ada, item.key, Response("A"))
    nxt = store.next_item(ada, "pairwise", 5)
    assert nxt != item
    brian = store.join("Brian")
    with pytest.raises(NotShown):
        store.rate(brian, nxt.key, Response("A"))
    undone = store.undo(ada, "pairwise")
    assert undone.verdict == "both_bad" and undone.comment == "neither fixes the APN"
    assert store.ratings() == [] and store.next_item(ada, "pairwise", 5) == item
    assert store.undo(ada, "pairwise") is None
    store.rate(ada, item.key, Response("B"))
    # a restart (a new store on the same file) resumes: same rating, same item shown next
    shown = store.next_item(ada, "pairwise", 5)
    reopened = RatingStore(store.path)
    assert [(r.rater, r.verdict, r.runs) for r in reopened.ratings()] == [("Ada", "B", item.runs)]
    assert reopened.next_item(reopened.rater("Ada"), "pairwise", 5) == shown
    assert reopened.progress(ada, "pairwise", 5).done == 1
    with pytest.raises(UnknownRater):
        reopened.rater("Zed")


def test_progress_stops_at_per_rater_or_when_the_pool_is_exhausted(study):
    store, _ = open_store(study)
    assert len(rate_all(store, "Ada", 4)) == 4
    assert store.progress(store.rater("Ada"), "pairwise", 4).done == 4
    everything = rate_all(store, "Brian", 10_000)
    assert len(everything) == N_PAIRS
    assert store.progress(store.rater("Brian"), "pairwise", 10_000).total == N_PAIRS


# ---------------------------------------------------------------- concurrency and crashes


def test_concurrent_raters_lose_nothing(study):
    store, _ = open_store(study)
    errors: list[BaseException] = []
    names = [f"rater-{i}" for i in range(6)]

    def work(name):
        try:
            rate_all(RatingStore(store.path), name, 12, verdict="tie")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in names]
    # and one rater in two tabs at once: one of each double submission is refused, none is lost
    double = store.join("twin")
    for t in threads:
        t.start()
    refused = 0
    while (item := store.next_item(double, "pairwise", 12)) is not None:
        results = []
        tabs = [threading.Thread(target=lambda: results.append(_try_rate(store, double, item.key))) for _ in range(2)]
        for t in tabs:
            t.start()
        for t in tabs:
            t.join()
        refused += results.count(False)
    for t in threads:
        t.join()
    assert errors == []
    ratings = store.ratings()
    by_rater = Counter(r.rater for r in ratings)
    assert by_rater == {**{n: 12 for n in names}, "twin": 12} and refused == 12
    assert len({(r.rater, r.item_id) for r in ratings}) == len(ratings)
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _try_rate(store, rater, key) -> bool:
    try:
        store.rate(rater, key, Response("A"))
        return True
    except AlreadyRated:
        return False


CRASH = textwrap.dedent("""
    import os, sys
    from telcotune.rate.records import Response
    from telcotune.rate.store import RatingStore
    store = RatingStore(sys.argv[1])
    rater = store.join("Ada")
    for _ in range(3):
        item = store.next_item(rater, "pairwise", 10)
        store.rate(rater, item.key, Response("A"))
    item = store.next_item(rater, "pairwise", 10)
    print(item.key, flush=True)
    with store.transaction() as conn:  # the process dies in the middle of submitting a rating
        conn.execute("INSERT INTO ratings (rater_id, item_id, run_first, run_second, verdict, comment, rated_at, "
                     "source) VALUES (?, ?, 'x', 'y', 'A', '', 'now', 'app')", (rater.id, item.id))
        os._exit(1)
""")


def test_a_crash_loses_at_most_the_rating_being_submitted(study):
    store, _ = open_store(study)
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", CRASH, str(store.path)], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 1, done.stderr
    shown_key = done.stdout.strip()
    after = RatingStore(store.path)
    assert len(after.ratings()) == 3 and all(r.verdict == "A" for r in after.ratings())
    ada = after.rater("Ada")
    assert after.next_item(ada, "pairwise", 10).key == shown_key  # resumes on the item being rated
    with sqlite3.connect(after.path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# ---------------------------------------------------------------- the answers change


def test_answers_that_change_under_rated_items_stop_the_app(study):
    store, book = open_store(study)
    rate_all(store, "Ada", 2)
    rated = {r.runs for r in store.ratings()}
    ev = EvalPaths(study.eval)
    # rerun the evaluation with one run's answers changed and another run gone
    changed = next(iter(rated))[0]
    rows = [{"id": p, "set": "test", "run": changed, "prompt": list(book.get(p, changed).messages),
             "answer": answer_text(changed, p) + " (new model)"} for p in book.by_prompt]
    write_jsonl(ev.answers(changed), rows)
    with pytest.raises(StageError, match="now show different answers"):
        open_store(study)
    # an unrated run's answers may change freely; a removed run's items are retired
    write_jsonl(ev.answers(changed), [{**r, "answer": answer_text(changed, r["id"])} for r in rows])
    gone = next(r for r in ALL_RUNS if all(r not in runs for runs in rated))
    ev.answers(gone).unlink()
    reopened, _ = open_store(study)
    assert len(reopened.items("pairwise")) == N_PROMPTS * (len(ALL_RUNS) - 1) * (len(ALL_RUNS) - 2) // 2
    assert all(gone not in i.runs for i in reopened.items("pairwise"))
    assert len(reopened.ratings()) == 2


# ---------------------------------------------------------------- CSV


def test_export_then_import_into_another_study_round_trips(study, tmp_path):
    store, _ = open_store(study)
    rate_all(store, "Ada", 3, verdict="A")
    brian = store.join("Brian")
    item = store.next_item(brian, "pairwise", 3)
    store.rate(brian, item.key, Response("tie", comment='said "restart", twice,\nthen stopped'))
    out = tmp_path / "ratings.csv"
    assert export_csv(store, out) == 4
    assert out.read_text().splitlines()[0] == ",".join(COLUMNS)
    other = write_study(tmp_path / "other", n_prompts=N_PROMPTS)
    fresh, book = open_store(other, seed=5)
    report = import_csv(out, fresh, book)
    assert (report.added, report.skipped) == (4, 0)
    key = lambda r: (r.rater, r.prompt_id, r.runs, r.verdict, r.comment, r.rated_at)  # noqa: E731
    assert sorted(map(key, fresh.ratings())) == sorted(map(key, store.ratings()))
    assert {r.source for r in fresh.ratings()} == {"import"}
    assert import_csv(out, fresh, book).skipped == 4  # importing twice changes nothing
    assert len(fresh.ratings()) == 4


GOOD = "Ada,pairwise,p01,r4-qv,base,A,,,,,,,fine,2025-05-01T10:00:00Z"


@pytest.mark.parametrize("row, message", [
    ("Ada,pairwise,p01,r4-qv,base,C,,,,,,,,2025-05-01T10:00:00Z", "line 3: verdict: must be one of A, B, tie, both_bad"),
    ("Ada,pairwise,p99,r4-qv,base,A,,,,,,,,2025-05-01T10:00:00Z", "line 3: prompt_id: 'p99' is not an evaluation prompt"),
    ("Ada,pairwise,p01,r4-qv,r99,A,,,,,,,,2025-05-01T10:00:00Z", "line 3: run_b: run 'r99' has no answer"),
    ("Ada,pairwise,p01,r4-qv,r4-qv,A,,,,,,,,2025-05-01T10:00:00Z", "line 3: run_b: the same run as run_a"),
    ("Ada,pairwise,p01,r4-qv,base,A,,,,,,,,yesterday", "line 3: rated_at: not an ISO 8601 time"),
    ("Ada,pairwise,p01,r4-qv,base,A,,,,,,,,2025-05-01T10:00:00", "line 3: rated_at: needs a time zone"),
    (",pairwise,p01,r4-qv,base,A,,,,,,,,2025-05-01T10:00:00Z", "line 3: rater: enter a name"),
    ("Ada,both,p01,r4-qv,base,A,,,,,,,,2025-05-01T10:00:00Z", "line 3: protocol: must be one of pairwise, pointwise"),
    ("Ada,pairwise,p01,r4-qv,base,A,,,,,,7,,2025-05-01T10:00:00Z", "line 3: scores: a pairwise rating has a verdict"),
    ("Ada,pointwise,p01,r4-qv,,,5,,,,,,,2025-05-01T10:00:00Z", "line 3: overall: missing"),
    ("Ada,pointwise,p01,r4-qv,,,,,,,,11,,2025-05-01T10:00:00Z", "line 3: overall: must be from 1 to 10, got 11"),
    ("Ada,pointwise,p01,r4-qv,,,,,,,,x,,2025-05-01T10:00:00Z", "line 3: overall: not a number"),
    ("Ada,pointwise,p01,r4-qv,base,,,,,,,7,,2025-05-01T10:00:00Z", "line 3: run_b: must be empty"),
    ("ada,pairwise,p01,base,r4-qv,B,,,,,,,,2025-05-01T10:00:00Z", "line 3: rater: 'ada' rated these answers already on line 2"),
    ("Ada,pairwise,p01,r4-qv,base,A,,,,,,,,2025-05-01T10:00:00Z,extra", "line 3: row: more fields"),
])
def test_import_errors_name_the_line_and_column_and_import_nothing(study, tmp_path, row, message):
    store, book = open_store(study)
    path = tmp_path / "in.csv"
    path.write_text(f"{','.join(COLUMNS)}\n{GOOD}\n{row}\n")
    with pytest.raises(RatingsImportError) as caught:
        import_csv(path, store, book)
    assert str(caught.value).startswith(f"{path}: ") and message in str(caught.value), str(caught.value)
    assert store.ratings() == []  # the good first row was not imported either


def test_import_header_and_file_errors(study, tmp_path):
    store, book = open_store(study)
    path = tmp_path / "in.csv"
    path.write_text("rater,protocol,prompt_id\nAda,pairwise,p01\n")
    with pytest.raises(RatingsImportError, match="line 1: header: missing column"):
        import_csv(path, store, book)
    path.write_text(f"{','.join(COLUMNS)},mood\n")
    with pytest.raises(RatingsImportError, match="unknown column.*mood"):
        import_csv(path, store, book)
    with pytest.raises(RatingsImportError, match="file not found"):
        import_csv(tmp_path / "absent.csv", store, book)
    # the criteria and comment columns are optional; a pointwise row needs only overall
    path.write_text("rater,protocol,prompt_id,run_a,run_b,verdict,overall,rated_at\n"
                    "Ada,pointwise,p01,r4-qv,,,7,2025-05-01T10:00:00+02:00\n")
    store.sync_items(candidates(book, load_judgments(study.eval), "pointwise", 0), "pointwise")
    assert import_csv(path, store, book).added == 1
    (rating,) = store.ratings("pointwise")
    assert rating.scores == {"overall": 7.0} and rating.rated_at == "2025-05-01T10:00:00.000+02:00"
