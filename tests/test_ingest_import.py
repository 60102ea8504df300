"""`telcotune import` on the hand-written corpus (OpenAI, ShareGPT and CSV files with over 200
planted personal values): nothing planted survives in any output file, every telecom word
does, placeholders are consistent, the folder works like a data stage's, group splits never
share a customer, and bad input stops with exit 2 before anything is written."""

from __future__ import annotations

import json
import random
import re

import pytest

from telcotune.cli import main
from telcotune.errors import DataError
from telcotune.evaluate.prompt_sets import load_prompt_set
from telcotune.fsio import read_json, read_jsonl
from telcotune.ingest import stage as stage_module
from telcotune.ingest.formats import parse_columns
from telcotune.ingest.options import ImportOptions
from telcotune.ingest.roles import normalize, role_table
from telcotune.ingest.split import assign_group_splits, parse_split
from telcotune.ingest.stage import import_transcripts
from telcotune.ingest.transcript import Transcript, Turn
from telcotune.config import PrivacyConfig
from telcotune.privacy.engine import PrivacyEngine
from telcotune.privacy.onprem import holds_imported
from telcotune.privacy.verify import RedactionError

from .privacy_support import shared_engine
from .transcript_corpus import (
    CSV_COLUMNS,
    CSV_SPEAKERS,
    OPENAI_SPEAKERS,
    OPERATOR_PATTERNS,
    SHAREGPT_SPEAKERS,
    SLOT,
    TELECOM_WORDS,
    identity,
    write_corpus,
)

SPLITS = ("train", "val", "test")
PLACEHOLDER = r"<[A-Z][A-Z0-9_]*_\d+>"


def corpus_options(files, **overrides) -> ImportOptions:
    return ImportOptions(sources=tuple(files), columns=parse_columns([CSV_COLUMNS]), group_by="customer_id",
                         privacy=PrivacyConfig(patterns=OPERATOR_PATTERNS), **overrides)


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    root = tmp_path_factory.mktemp("import")
    corpus = write_corpus(root / "src")
    with pytest.MonkeyPatch.context() as mp:  # the import's own cache folder, grepped below
        mp.setenv("TELCOTUNE_CACHE", str(root / "cache"))
        result = import_transcripts(root / "out", corpus_options(corpus.files), engine=shared_engine(), progress=False)
    rows = {name: read_jsonl(root / "out" / f"{name}.jsonl") for name in SPLITS}
    return corpus, root / "out", result, rows


def all_rows(rows):
    return [r for name in SPLITS for r in rows[name]]


def test_no_planted_value_survives_in_any_file(imported):
    corpus, out, result, _ = imported
    planted = corpus.planted
    assert len(planted) >= 200
    per_format = {name: sum(len({identity(*slot) for _, text in c.turns for slot in SLOT.findall(text)})
                            for c in corpus.conversations if c.origin[0] == name)
                  for name in ("chats.jsonl", "sharegpt.json", "tickets.csv")}
    assert all(n >= 50 for n in per_format.values()), per_format  # every format carries its share
    files = [p for p in out.rglob("*") if p.is_file()]
    # no scenarios.jsonl: imported conversations have no scenario (only a synthetic mix brings them)
    assert {p.name for p in files} == {"train.jsonl", "val.jsonl", "test.jsonl", "rejects.jsonl", "stats.json",
                                       "README.md", "dataset_info.json", "manifest.json"}
    for path in files:
        text = path.read_text(encoding="utf-8")
        survivors = corpus.surviving(text)
        assert survivors == [], f"{path.name} still holds {len(survivors)} planted values"
        assert not [c for c in corpus.customer_ids if c in text]  # group keys are not written either
    assert not list(out.parent.glob(".out.*"))  # the import's temporary folder is gone
    assert corpus.found_under(out.parent / "cache") == []


def template_turns(conversation, speakers):
    """The corpus dialogue with its slots, through the same role mapping, merging and cutting."""
    transcript = Transcript("t", 1, "g", tuple(Turn(speakers[s], text, "t") for s, text in conversation.turns))
    return normalize(transcript, role_table({})).turns


def speakers_of(conversation):
    return {"chats.jsonl": OPENAI_SPEAKERS, "sharegpt.json": SHAREGPT_SPEAKERS,
            "tickets.csv": CSV_SPEAKERS}[conversation.origin[0]]


def test_placeholders_are_consistent_and_nothing_else_changed(imported):
    corpus, _, _, rows = imported
    by_origin = {(r["origin"]["file"], r["origin"]["record"]): r for r in all_rows(rows)}
    assert len(by_origin) == len(corpus.conversations)
    checked_values = 0
    for conversation in corpus.conversations:
        row = by_origin[conversation.origin]
        expected = template_turns(conversation, speakers_of(conversation))
        got = row["messages"][1:]
        assert [m["role"] for m in got] == [t["role"] for t in expected]
        placeholder_of: dict[str, str] = {}
        for template, message in zip(expected, got):
            slots = SLOT.findall(template["content"])
            literals = SLOT.split(template["content"])[::3]  # split() also returns each slot's 2 groups
            regex = f"({PLACEHOLDER})".join(re.escape(part) for part in literals)
            match = re.fullmatch(regex, message["content"])
            assert match, f"conversation {conversation.origin}: turn changed beyond its planted values:\n{message['content']}"
            for (kind, n), placeholder in zip(slots, match.groups()):
                key = identity(kind, n)
                assert placeholder_of.setdefault(key, placeholder) == placeholder, f"{key} got two placeholders"
                checked_values += 1
        assert len(set(placeholder_of.values())) == len(placeholder_of), "two values share a placeholder"
    assert checked_values >= 300


def test_every_telecom_word_survives(imported):
    corpus, _, _, rows = imported
    by_origin = {(r["origin"]["file"], r["origin"]["record"]): r for r in all_rows(rows)}
    expected_text = "\n".join(SLOT.sub(" ", t["content"]) for c in corpus.conversations
                              for t in template_turns(c, speakers_of(c)))
    output_text = "\n".join(re.sub(PLACEHOLDER, " ", m["content"]) for r in by_origin.values() for m in r["messages"][1:])
    assert len(set(TELECOM_WORDS)) >= 50
    for word in TELECOM_WORDS:
        assert expected_text.count(word) > 0, f"{word!r} is not in the corpus"
        assert output_text.count(word) == expected_text.count(word), f"{word!r} was redacted"


def test_the_folder_is_a_data_folder_marked_as_imported(imported):
    corpus, out, result, rows = imported
    manifest = read_json(out / "manifest.json")
    assert manifest["stage"] == "import" and manifest["holds_imported"] is True and holds_imported(out)
    assert manifest["formats"] == {"chats.jsonl": "openai", "sharegpt.json": "sharegpt", "tickets.csv": "csv"}
    assert result.formats == manifest["formats"]
    assert all(r["source"] == "imported" and r["messages"][0]["role"] == "system" for r in all_rows(rows))
    assert sum(len(rows[n]) for n in SPLITS) == len(corpus.conversations) and all(rows[n] for n in SPLITS)
    rejects = read_jsonl(out / "rejects.jsonl")
    assert [r["reason"] for r in rejects] == ["no_assistant_turn"] * 2
    assert set(rejects[0]) == {"id", "source", "origin", "reason", "detail"}
    stats = read_json(out / "stats.json")
    assert stats["splits"] == {n: len(rows[n]) for n in SPLITS} and stats["rejects"]["total"] == 2
    report = stats["redaction"]
    assert report["conversations_affected"] == report["conversations"] == len(corpus.conversations)
    assert sum(report["per_split"][n]["conversations"] for n in SPLITS) == len(corpus.conversations)
    for entity in ("PHONE", "IMEI", "ICCID", "IMSI", "IBAN", "CARD", "EMAIL", "IP", "MAC", "ADDRESS", "ACCOUNT",
                   "CONTRACT", "SIM_CODE"):
        assert report["entities"].get(entity, 0) > 0, entity
    assert report["names_checked"] is False
    # the other stages read it unchanged
    prompts = load_prompt_set(out, "test")
    assert len(prompts) == len(rows["test"]) and all(p.messages[-1]["role"] == "user" for p in prompts)
    from telcotune.train.tokenize import read_split

    assert len(read_split(out / "train.jsonl")) == len(rows["train"])


def test_a_current_folder_is_skipped_and_other_folders_are_not_replaced(imported, tmp_path):
    corpus, out, _, _ = imported
    again = import_transcripts(out, corpus_options(corpus.files), engine=shared_engine(), progress=False)
    assert again.skipped
    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match="exists and is not a data folder"):
        import_transcripts(foreign, corpus_options(corpus.files), engine=shared_engine(), progress=False)
    assert (foreign / "notes.txt").read_text() == "mine"


class LeakyEngine(PrivacyEngine):
    """A redactor that misses IMEIs: the verifier must catch them."""

    def spans(self, text):
        return [s for s in super().spans(text) if s.entity != "IMEI"]


def test_the_verifier_fails_the_import_and_nothing_is_written(tmp_path):
    corpus = write_corpus(tmp_path / "src")
    e = shared_engine()
    leaky = LeakyEngine(e.analyzer, e.entries, e.allow_list, e.config)
    with pytest.raises(RedactionError, match=r"verification failed: \w+\.jsonl: row \d+: messages\[\d\]\.content: "
                                             r"a IMEI value remains .*nothing was written") as exc:
        import_transcripts(tmp_path / "out", corpus_options(corpus.files[:1]), engine=leaky, progress=False)
    assert not [v for v in corpus.planted if v in str(exc.value)]
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out*"))
    with pytest.raises(RedactionError, match="a IMEI value remains"):  # --check-only verifies too
        import_transcripts(None, corpus_options(corpus.files[:1]), engine=leaky, check_only=True, progress=False)


# -- group splits ---------------------------------------------------------------------------

def test_group_split_assigns_whole_groups_near_their_shares():
    rng = random.Random(3)
    for trial in range(20):
        groups = [f"g{i}" for i in range(rng.randint(3, 40)) for _ in range(rng.randint(1, 6))]
        split = parse_split("0.7,0.15,0.15")
        assignment = assign_group_splits(groups, split, seed=trial)
        assert set(assignment) == set(groups) and set(assignment.values()) == set(SPLITS)
        train_share = sum(assignment[g] == "train" for g in groups) / len(groups)
        assert abs(train_share - 0.7) < 0.25
    many = [f"g{i}" for i in range(300)]
    counts = [sum(v == s for v in assign_group_splits(many, parse_split("0.8,0.1,0.1"), 1).values()) for s in SPLITS]
    assert counts == [240, 30, 30]
    a, b = assign_group_splits(many, parse_split("0.8,0.1,0.1"), 1), assign_group_splits(many, parse_split("0.8,0.1,0.1"), 2)
    assert a == assign_group_splits(many, parse_split("0.8,0.1,0.1"), 1) and a != b


def test_no_customer_lands_in_two_splits(tmp_path):
    rng = random.Random(11)
    records, customer_of = [], {}
    for n in range(90):
        customer = f"cust-{rng.randint(1, 25):03d}"
        topic = rng.choice(["APN settings", "roaming charges", "the fibre router", "Wi-Fi calling", "a PUK code"])
        records.append({"id": f"c{n}", "customer_id": customer, "messages": [
            {"role": "customer", "content": f"Hello, conversation {n}: I need help with {topic} on my line, please."},
            {"role": "agent", "content": f"Of course. For conversation {n} about {topic}, here are the steps to follow."}]})
        customer_of[("chats.jsonl", n + 1)] = customer
    src = tmp_path / "chats.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in records))
    splits_by_seed = []
    for seed in (0, 0, 5):
        out = tmp_path / f"out-{len(splits_by_seed)}"
        import_transcripts(out, ImportOptions(sources=(src,), group_by="customer_id", seed=seed), engine=shared_engine(), progress=False)
        split_of_customer: dict[str, set[str]] = {}
        split_of_group: dict[str, set[str]] = {}
        for name in SPLITS:
            for row in read_jsonl(out / f"{name}.jsonl"):
                customer = customer_of[(row["origin"]["file"], row["origin"]["record"])]
                split_of_customer.setdefault(customer, set()).add(name)
                split_of_group.setdefault(row["group"], set()).add(name)
        assert all(len(s) == 1 for s in split_of_customer.values())
        assert all(len(s) == 1 for s in split_of_group.values()) and len(split_of_group) == len(split_of_customer)
        splits_by_seed.append({c: next(iter(s)) for c, s in split_of_customer.items()})
    assert splits_by_seed[0] == splits_by_seed[1] and splits_by_seed[0] != splits_by_seed[2]


# -- synthetic mix --------------------------------------------------------------------------

def test_mix_with_synthetic_rows(imported, tmp_path):
    from telcotune.config import DataConfig
    from telcotune.data.stage import run_data_stage

    from .test_data_glossary import small_glossary, write_glossary

    corpus = imported[0]
    synthetic = tmp_path / "synthetic"
    run_data_stage(DataConfig(glossary=str(write_glossary(tmp_path, small_glossary())), per_scenario=6, seed=1),
                   synthetic, progress=False)
    out = tmp_path / "mixed"
    result = import_transcripts(out, corpus_options(corpus.files, mix_synthetic=synthetic, synthetic_share=0.5),
                                engine=shared_engine(), progress=False)
    stats = result.stats
    assert stats.source == "mixed" and read_json(out / "manifest.json")["holds_imported"] is True
    for name in SPLITS:
        rows = read_jsonl(out / f"{name}.jsonl")
        sources = [r["source"] for r in rows]
        imported_n, synthetic_n = sources.count("imported"), sources.count("synthetic")
        available = len(read_jsonl(synthetic / f"{name}.jsonl"))
        assert synthetic_n == min(imported_n, available) and stats.by_source[name] == {
            "imported": imported_n, "synthetic": synthetic_n}
    assert read_jsonl(out / "scenarios.jsonl") == read_jsonl(synthetic / "scenarios.jsonl")


# -- the command line -----------------------------------------------------------------------

@pytest.fixture
def cli_engine(monkeypatch):
    monkeypatch.setattr(stage_module, "build_engine", lambda cfg: shared_engine())


def corpus_args(corpus):
    return [*map(str, corpus.files), "--columns", CSV_COLUMNS, "--group-by", "customer_id",
            "--pattern", OPERATOR_PATTERNS_ARG[0], "--pattern", OPERATOR_PATTERNS_ARG[1]]


OPERATOR_PATTERNS_ARG = [f"{k}={v}" for k, v in OPERATOR_PATTERNS.items()]


def run_cli(args) -> int:
    """The exit code of `telcotune ARGS` run in this process."""
    try:
        main(args)
    except SystemExit as exc:
        return exc.code or 0
    return 0


def test_check_only_prints_the_report_and_writes_nothing(tmp_path, capsys, cli_engine):
    corpus = write_corpus(tmp_path / "src")
    assert run_cli(["import", "--out", str(tmp_path / "out"), *corpus_args(corpus), "--check-only"]) == 0
    captured = capsys.readouterr()
    assert not (tmp_path / "out").exists()
    assert "redaction: 45 of 45 conversations had personal data replaced" in captured.out
    assert re.search(r"IMEI\s+\d+\s+\d+\s+\d+\s+\d+", captured.out)
    assert "names of people were not checked" in captured.out
    assert "checked, nothing written" in captured.out
    assert "chats.jsonl read as openai" in captured.err and "tickets.csv read as csv" in captured.err
    assert not [v for v in corpus.planted if v in captured.out + captured.err]


def test_cli_import_writes_the_folder(tmp_path, capsys, cli_engine):
    corpus = write_corpus(tmp_path / "src")
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("You are the operator's assistant.\n")
    assert run_cli(["import", "--out", str(tmp_path / "out"), str(corpus.files[0]), "--group-by", "customer_id",
                    "--pattern", OPERATOR_PATTERNS_ARG[0], "--pattern", OPERATOR_PATTERNS_ARG[1], "--seed", "3",
                    "--split", "0.6,0.2,0.2", "--system-prompt", str(prompt)]) == 0
    out = capsys.readouterr().out
    assert "15 of 17 conversations imported (2 rejected; " in out and "written to" in out
    row = read_jsonl(tmp_path / "out" / "train.jsonl")[0]
    assert row["messages"][0] == {"role": "system", "content": "You are the operator's assistant."}


@pytest.mark.parametrize("name, content, extra, message", [
    ("chats.csv", "conversation_id,role,body\nc1,user,my IMEI is 490154203237518\n", [],
     r"error: chats.csv: row 1: column 'text': missing"),
    ("chats.jsonl", '{"messages": [{"role": "customer", "content": "IMEI 490154203237518"}, '
                    '{"role": "wizard", "content": "hi"}]}\n', [],
     r"error: chats.jsonl: line 1: field messages\[1\].role: unknown role \(the label is not shown"),
    ("chats.jsonl", "", [], r"error: chats.jsonl: empty source"),
    ("chats.jsonl", '{"messages": []}\n', ["--group-by", "account"],
     r"error: chats.jsonl: line 1: field 'account': missing \(--group-by\)"),
    ("chats.jsonl", '{"messages": []}\n', ["--pattern", "account=ACC-\\d+"], r"error: privacy.patterns: .*upper case"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, cli_engine, name, content, extra, message):
    src = tmp_path / name
    src.write_text(content)
    assert run_cli(["import", "--out", str(tmp_path / "out"), str(src), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert re.match(message, err) and len(err.splitlines()) == 1 and "490154203237518" not in err
    assert not (tmp_path / "out").exists()


def test_unreadable_source_exits_2(tmp_path, capsys, cli_engine):
    assert run_cli(["import", "--out", str(tmp_path / "out"), str(tmp_path / "nope.jsonl")]) == 2
    assert "nope.jsonl: cannot read" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
