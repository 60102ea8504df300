"""Redaction: consistent placeholders, counts without values, the verifier, names with an NER
model, and the whole thing with the network unreachable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from telcotune.errors import ConfigError
from telcotune.fsio import write_jsonl
from telcotune.config import PrivacyConfig
from telcotune.privacy.engine import build_engine
from telcotune.privacy.pseudonymize import Pseudonyms, canonical
from telcotune.privacy.redact import Redactor
from telcotune.artifacts.io import to_json
from telcotune.privacy.report import NAMES_NOT_CHECKED, format_report, redaction_report
from telcotune.privacy.verify import RedactionError, scan_rows, verify_files

from .conftest import ROOT
from .privacy_support import shared_engine


@pytest.fixture(scope="module")
def redactor():
    return Redactor(shared_engine())


def test_one_phone_number_in_three_formats_is_one_placeholder():
    regions = ("GB", "US")
    keys = {canonical("PHONE", v, regions) for v in ("+44 7911 123456", "07911 123456", "447911123456")}
    assert keys == {"+447911123456"}
    assert canonical("IMEI", "49-015420-323751-8") == canonical("CARD", "490154203237518")
    assert canonical("EMAIL", "Jane.Doe@Example.com") == canonical("EMAIL", "jane.doe@example.com")


def test_pseudonyms_are_consistent_and_distinct():
    p = Pseudonyms()
    assert p.assign("PHONE", "+44 7911 123456") == "<PHONE_1>"
    assert p.assign("EMAIL", "a@example.com") == "<EMAIL_1>"
    assert p.assign("PHONE", "+44 7911 654321") == "<PHONE_2>"
    assert p.assign("PHONE", "+44 7911 123456") == "<PHONE_1>"
    assert p.distinct == {"PHONE": 2, "EMAIL": 1}


def test_placeholders_already_in_the_source_are_not_reused():
    p = Pseudonyms(["the bot wrote <PHONE_1> and <PHONE_3> before"])
    assert p.assign("PHONE", "+44 7911 123456") == "<PHONE_4>"


def test_redact_conversation(redactor):
    turns = ["My number is +44 7911 123456 and my IMEI 490154203237518; the APN is wrong on 4G.",
             "Thanks. I texted 07911 123456 and checked IMEI 490154203237518. Your other line +44 7700 900123?",
             "No, mail me at jane.doe@example.com instead."]
    result = redactor.redact(turns)
    assert result.texts == (
        "My number is <PHONE_1> and my IMEI <IMEI_1>; the APN is wrong on 4G.",
        "Thanks. I texted <PHONE_1> and checked IMEI <IMEI_1>. Your other line <PHONE_2>?",
        "No, mail me at <EMAIL_1> instead.",
    )
    assert result.occurrences == {"PHONE": 3, "IMEI": 2, "EMAIL": 1}
    assert result.distinct == {"PHONE": 2, "IMEI": 1, "EMAIL": 1}
    assert redactor.redact(["No personal data: the 5G PIN and PUK words stay."]).affected is False


def test_placeholders_restart_in_each_conversation(redactor):
    first = redactor.redact(["call +44 7911 123456"]).texts
    second = redactor.redact(["call +44 7911 654321 or +44 7911 123456"]).texts
    assert first == ("call <PHONE_1>",) and second == ("call <PHONE_1> or <PHONE_2>",)


def test_report_has_counts_only(redactor):
    a = redactor.redact(["IMEI 490154203237518 and +44 7911 123456"])
    b = redactor.redact(["nothing here"])
    report = redaction_report({"train": [a, b], "val": []}, entities=shared_engine().entities, ner_model=None)
    assert report.conversations == 2 and report.conversations_affected == 1
    assert report.entities == {"IMEI": 1, "PHONE": 1}
    assert report.per_split["train"].entities == {"IMEI": 1, "PHONE": 1}
    assert report.per_split["val"].conversations == 0
    assert report.names_checked is False and report.notes == [NAMES_NOT_CHECKED]
    blob = to_json(report) + format_report(report)
    assert "490154203237518" not in blob and "7911" not in blob
    assert "names of people were not checked" in format_report(report)


def test_verifier_finds_what_redaction_should_have_removed(tmp_path):
    engine = shared_engine()
    rows = [{"id": "a", "messages": [{"role": "user", "content": "my IMEI is <IMEI_1>, gateway 192.168.1.1"}]},
            {"id": "b", "messages": [{"role": "user", "content": "ok"},
                                     {"role": "assistant", "content": "IMEI 490154203237518 is fine"}]}]
    findings = scan_rows(engine, rows, "train.jsonl")
    assert [(f.row, f.field, f.entity) for f in findings] == [(2, "messages[1].content", "IMEI")]
    write_jsonl(tmp_path / "train.jsonl", rows)
    with pytest.raises(RedactionError) as exc:
        verify_files(engine, [tmp_path / "train.jsonl"])
    message = str(exc.value)
    assert "train.jsonl: row 2: messages[1].content: a IMEI value remains" in message
    assert "490154203237518" not in message


def test_names_are_redacted_with_an_ner_model(tmp_path):
    import spacy

    nlp = spacy.blank("en")  # an offline stand-in for a trained NER model: a rule-based one
    nlp.add_pipe("entity_ruler").add_patterns([
        {"label": "PERSON", "pattern": [{"TEXT": "Maria"}, {"TEXT": "Lopez"}]},
        {"label": "PERSON", "pattern": "Tom"},
        {"label": "GPE", "pattern": "London"},
    ])
    nlp.to_disk(tmp_path / "ner")
    engine = build_engine(PrivacyConfig(ner_model=str(tmp_path / "ner")))
    result = Redactor(engine).redact(["Hi, I'm Maria Lopez from London, my phone +44 7911 123456.",
                                      "Hello Maria Lopez, Tom here."])
    assert result.texts == ("Hi, I'm <PERSON_1> from London, my phone <PHONE_1>.", "Hello <PERSON_1>, <PERSON_2> here.")
    report = redaction_report({"train": [result]}, entities=engine.entities, ner_model=engine.config.ner_model)
    assert report.names_checked is True and report.notes == [] and "PERSON" in report.entities_checked


def test_a_missing_ner_model_is_an_error_not_a_download(tmp_path):
    with pytest.raises(ConfigError, match="not installed.*never downloaded"):
        build_engine(PrivacyConfig(ner_model="en_core_web_nonexistent"))


OFFLINE_SCRIPT = textwrap.dedent("""
    import json, socket, sys
    attempts = []
    def refuse(*args, **kwargs):
        attempts.append(repr(args[:2])[:80])
        raise OSError("network unreachable (test)")
    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse
    from telcotune.cli import main
    try:
        main(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    ours = len(attempts)
    import tldextract  # control: tldextract's default extractor does try to fetch the suffix list
    tldextract.extract("mail.example.co.uk")
    print(json.dumps({"code": code, "attempts": ours, "control_attempts": len(attempts) - ours}))
""")


@pytest.mark.slow  # a fresh process imports Presidio (and with it torch) and builds the engine
def test_import_runs_with_the_network_unreachable(tmp_path):
    from .transcript_corpus import CSV_COLUMNS, write_corpus

    corpus = write_corpus(tmp_path / "src")
    out = tmp_path / "out"
    env = {**os.environ, "HOME": str(tmp_path / "home"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "TELCOTUNE_CACHE": str(tmp_path / "tc"), "PYTHONPATH": str(ROOT / "src")}
    args = ["import", "--out", str(out), *map(str, corpus.files), "--columns", CSV_COLUMNS,
            "--group-by", "customer_id", "--pattern", r"ACCOUNT=ACC-\d{8}", "--pattern", r"CONTRACT=CTR-\d{6}"]
    proc = subprocess.run([sys.executable, "-c", OFFLINE_SCRIPT, *args], capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    outcome = json.loads(proc.stdout.strip().splitlines()[-1])
    assert outcome["code"] == 0, proc.stderr[-2000:]
    assert outcome["attempts"] == 0
    assert outcome["control_attempts"] > 0  # the guard does catch a library reaching for the network
    rows = [json.loads(line) for name in ("train", "val", "test") for line in (out / f"{name}.jsonl").open()]
    assert len(rows) == len(corpus.conversations)
    text = "\n".join(p.read_text() for p in out.iterdir())
    assert not [v for v in corpus.planted if v in text]
    # nor in any cache the libraries or telcotune may have written (HOME, XDG cache, TELCOTUNE_CACHE)
    cached = "\n".join(p.read_bytes().decode("utf-8", errors="replace") for p in tmp_path.rglob("*")
                       if p.is_file() and not p.is_relative_to(out) and not p.is_relative_to(tmp_path / "src"))
    assert not [v for v in corpus.planted if v in cached]
