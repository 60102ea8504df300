"""Imported data in a study: `data.source` in the experiment config, evaluation without
scenarios (scenario-based criteria skipped, and said so), and the on-premises rule where the
stages hand data to backends: a remote judge is refused before anything is written, a loopback
OpenAI-compatible judge is accepted, and a remote judge let in by `allow_remote` leaves nothing
in the LLM cache."""

from __future__ import annotations

import json
import re

import pytest

from telcotune.config import EvalConfig, ExperimentConfig, JudgesConfig, load_config
from telcotune.errors import ConfigError
from telcotune.evaluate.stage import run_evaluate
from telcotune.fsio import read_json
from telcotune.ingest.formats import parse_columns
from telcotune.ingest.options import ImportOptions, options_from_config
from telcotune.ingest.stage import import_transcripts
from telcotune.models import ModelRef
from telcotune.pipeline import check_study_backends, run_study
from telcotune.privacy import onprem
from telcotune.privacy.onprem import RemoteBackendRefused

from .fake_openai import FakeOpenAIServer, ok
from .privacy_support import shared_engine
from .test_evaluate import fake_sweep
from .transcript_corpus import CSV_COLUMNS, OPERATOR_PATTERNS, write_corpus

SOURCE_YAML = """
name: real
data:
  source:
    path: [src/chats.jsonl, src/tickets.csv]
    columns: {id: ticket_id, order: sent_at, role: speaker, text: message}
    role_map: {Live Agent: assistant}
    group_by: customer_id
    split: {train: 0.6, val: 0.2, test: 0.2}
    privacy:
      patterns: {ACCOUNT: 'ACC-\\d{8}'}
judges:
  panel: [rubric]
"""


def test_data_source_in_the_config(tmp_path):
    (tmp_path / "src").mkdir()
    for name in ("chats.jsonl", "tickets.csv"):
        (tmp_path / "src" / name).write_text("x\n")
    (tmp_path / "study.yaml").write_text(SOURCE_YAML)
    cfg = load_config(tmp_path / "study.yaml")
    source = cfg.data.source
    assert source.path == [str(tmp_path / "src" / "chats.jsonl"), str(tmp_path / "src" / "tickets.csv")]
    assert not cfg.data.remote_allowed() and source.mix_synthetic is False
    options = options_from_config(source, seed=4, mix_synthetic=None)
    assert options.columns == parse_columns([CSV_COLUMNS]) and options.role_map == {"live_agent": "assistant"}
    assert options.split.train == 0.6 and options.seed == 4 and options.privacy.patterns == {"ACCOUNT": r"ACC-\d{8}"}
    (tmp_path / "one.yaml").write_text("data:\n  source: {path: src/chats.jsonl, allow_remote: true}\n")
    one = load_config(tmp_path / "one.yaml")
    assert one.data.source.path == [str(tmp_path / "src" / "chats.jsonl")] and one.data.remote_allowed()


@pytest.mark.parametrize("yaml, message", [
    ("data:\n  source: {path: nope.jsonl}\n", r"data.source.path.0: file not found: .*nope.jsonl"),
    ("data:\n  source: {path: src, format: xml}\n", r"data.source.format: input should be"),
    ("data:\n  source: {path: src, role_map: {agent: boss}}\n", r"data.source.role_map.agent: input should be"),
    ("data:\n  source: {path: src, privacy: {patterns: {account: 'x+'}}}\n", r"data.source.privacy.patterns: .*upper case"),
    ("data:\n  source: {path: []}\n", r"data.source.path: value error, give at least one"),
])
def test_bad_data_source_names_the_key(tmp_path, yaml, message):
    (tmp_path / "src").mkdir()
    (tmp_path / "study.yaml").write_text(yaml)
    with pytest.raises(ConfigError, match="(?i)" + message):
        load_config(tmp_path / "study.yaml")


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    root = tmp_path_factory.mktemp("imported")
    corpus = write_corpus(root / "src")
    options = ImportOptions(sources=tuple(corpus.files), columns=parse_columns([CSV_COLUMNS]), group_by="customer_id")
    import_transcripts(root / "data", options, engine=shared_engine(), progress=False)
    return corpus, root / "data"


REMOTE_JUDGES = ["anthropic:claude-sonnet-4-5", "gemini:gemini-2.0-flash", "openai:gpt-4o-mini",
                 "openai:judge@https://llm.example.com/v1"]


@pytest.mark.parametrize("spec", REMOTE_JUDGES)
def test_a_remote_judge_of_imported_data_is_refused_before_anything_is_written(imported, tmp_path, spec):
    _, data = imported
    out = tmp_path / "eval"
    with pytest.raises(RemoteBackendRefused, match="judge answers.*allow_remote: true"):
        run_evaluate(data, tmp_path / "no-sweep", out, ModelRef("unused"), EvalConfig(), JudgesConfig(panel=["rubric", spec]))
    assert not out.exists()


def _study(tmp_path, backend="template", panel=("rubric",), **source):
    return ExperimentConfig.model_validate({
        "data": {"backend": backend, "source": {"path": [str(tmp_path / "chats.jsonl")], **source}},
        "judges": {"panel": list(panel)}})


def test_a_study_with_data_source_refuses_remote_backends_before_any_stage(tmp_path):
    (tmp_path / "chats.jsonl").write_text("x\n")
    with pytest.raises(RemoteBackendRefused, match="to judge answers"):
        check_study_backends(_study(tmp_path, panel=["rubric", "gemini:gemini-2.0-flash"]))
    with pytest.raises(RemoteBackendRefused, match="to generate conversations"):
        check_study_backends(_study(tmp_path, backend="anthropic:claude-sonnet-4-5", mix_synthetic=True))
    check_study_backends(_study(tmp_path, backend="anthropic:claude-sonnet-4-5"))  # no mix: no generator runs
    check_study_backends(_study(tmp_path, backend="anthropic:claude-sonnet-4-5", panel=["gemini:gemini-2.0-flash"],
                                mix_synthetic=True, allow_remote=True))
    check_study_backends(ExperimentConfig.model_validate({"judges": {"panel": ["gemini:gemini-2.0-flash"]}}))
    yaml = tmp_path / "study.yaml"
    yaml.write_text(f"name: s\ndata:\n  source: {{path: {tmp_path / 'chats.jsonl'}}}\n"
                    "judges:\n  panel: [rubric, 'openai:gpt-4o-mini']\n")
    with pytest.raises(RemoteBackendRefused):
        run_study(yaml, tmp_path / "study", progress=False)
    assert not (tmp_path / "study").exists()


class ScoringJudge:
    """A loopback OpenAI-compatible judge: a fixed good score for every request."""

    def __call__(self, body, index):
        return ok(json.dumps({"accuracy": 7, "helpfulness": 6, "grounding": 8, "tone": 9, "conciseness": 7,
                              "overall": 7, "rationale": "fine"}))


def test_a_loopback_judge_is_accepted_and_scenario_criteria_are_skipped(imported, tmp_path, tiny_model_dir,
                                                                        isolated_cache, capsys, monkeypatch):
    corpus, data = imported
    sweep = fake_sweep(tmp_path, tiny_model_dir)
    eval_cfg = EvalConfig(prompts=["test"], limit=3, max_new_tokens=6, bootstrap=20)
    with FakeOpenAIServer(ScoringJudge()) as server:
        spec = f"openai:judge@{server.base_url}"
        assert server.base_url.startswith("http://127.0.0.1:")
        judges = JudgesConfig(panel=["rubric", spec], max_retries=0, timeout_s=10)
        ranking = run_evaluate(data, sweep, tmp_path / "eval", ModelRef(str(tiny_model_dir)), eval_cfg, judges)
        assert server.calls == 3 * 3  # three prompts, base and two adapters
        assert ranking.judges[spec].pointwise is not None and ranking.judges[spec].errors == 0
        err = capsys.readouterr().err
        assert "3 of 3 prompts have no scenario (imported conversations)" in err and "are skipped" in err
        manifest = read_json(tmp_path / "eval" / "manifest.json")
        assert manifest["prompts_without_scenario"] == 3
        rubric = [json.loads(line) for line in next((tmp_path / "eval" / "judgments").glob("rubric*.jsonl")).open()]
        assert all("steps" not in r["scores"] and "term" not in r["scores"] for r in rubric)
        cached = [p for p in isolated_cache.rglob("*.json")]
        assert cached  # a loopback server is on premises: its replies may be cached
        assert corpus.found_under(isolated_cache) == [] and corpus.found_under(tmp_path / "eval") == []
        sent = "\n".join(r.body for r in server.requests)
        assert not [v for v in corpus.planted if v in sent]  # what the judge saw was redacted

        # the same server taken for a remote one: refused, then let in by allow_remote, uncached
        monkeypatch.setattr(onprem, "is_local_base_url", lambda url: False)
        remote = JudgesConfig(panel=[f"openai:judge-remote@{server.base_url}"], max_retries=0, timeout_s=10)
        with pytest.raises(RemoteBackendRefused):
            run_evaluate(data, sweep, tmp_path / "eval", ModelRef(str(tiny_model_dir)), eval_cfg, remote)
        before = sorted(isolated_cache.rglob("*.json"))
        run_evaluate(data, sweep, tmp_path / "eval", ModelRef(str(tiny_model_dir)), eval_cfg, remote, allow_remote=True)
        assert server.calls == 2 * 3 * 3
        assert sorted(isolated_cache.rglob("*.json")) == before


@pytest.mark.slow  # trains, answers and reports on the embedded model
def test_run_with_data_source_imports_trains_evaluates_and_reports(tmp_path, embedded_cache):
    import subprocess
    import sys

    import yaml

    corpus = write_corpus(tmp_path / "src")
    config = {
        "name": "real",
        "data": {"source": {"path": [str(p) for p in corpus.files], "group_by": "customer_id",
                            "columns": dict(item.split("=") for item in CSV_COLUMNS.split(",")),
                            "split": {"train": 0.6, "val": 0.2, "test": 0.2},
                            "privacy": {"patterns": OPERATOR_PATTERNS}}},
        "train": {"max_steps": 2, "batch_size": 2, "max_length": 192, "eval_every": 2, "save_every": 2,
                  "max_val_examples": 4},
        "sweep": {"runs": [{"name": "r4-qv", "r": 4, "targets": "qv"}]},
        "eval": {"prompts": ["test"], "limit": 2, "max_new_tokens": 8, "bootstrap": 20},
        "judges": {"panel": ["rubric"]},
        "energy": {"meter": "none"},
    }
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(config))
    env = {**__import__("os").environ, "TELCOTUNE_CACHE": str(embedded_cache)}
    out = subprocess.run([sys.executable, "-m", "telcotune", "run", "--config", str(tmp_path / "study.yaml"),
                          "--workdir", str(tmp_path / "study"), "--quiet"],
                         capture_output=True, text=True, timeout=1200, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    study = tmp_path / "study"
    manifest = read_json(study / "data" / "manifest.json")
    assert manifest["stage"] == "import" and manifest["holds_imported"] is True
    assert (study / "sweep" / "r4-qv" / "adapter").is_dir() and (study / "eval" / "ranking.json").is_file()
    assert read_json(study / "eval" / "manifest.json")["prompts_without_scenario"] == 2
    assert "prompts have no scenario (imported conversations)" in out.stderr
    report = (study / "report" / "report.md").read_text()
    assert "The data were imported from real support transcripts" in report
    redaction = read_json(study / "data" / "stats.json")["redaction"]
    section = report[report.index("Personal data redacted"):]
    for entity in ("PHONE", "IMEI", "IBAN", "EMAIL", "ACCOUNT"):
        n = redaction["entities"][entity]
        assert n > 0 and re.search(rf"\|\s*{entity}\s*\|\s*{n}\s*\|", section), entity
    assert "names of people were not checked" in section.lower()
    assert corpus.found_under(study) == []
    assert not [v for v in corpus.planted if v in out.stdout + out.stderr]


def test_the_report_says_the_data_were_imported_and_shows_redaction_counts(imported):
    from telcotune.artifacts.data import DataStats
    from telcotune.artifacts.io import read_record
    from telcotune.report.blocks import Note, Table, Text
    from telcotune.report.sections import data as section

    corpus, folder = imported
    stats = read_record(folder / "stats.json", DataStats)
    blocks = section._overview(stats) + section._redaction(stats) + section._rejects(stats)
    texts = " ".join(b.text for b in blocks if isinstance(b, (Text, Note)))
    assert "imported from real support transcripts: chats.jsonl (openai, 17 conversations)" in texts
    assert "split by group" in texts and "names of people were not checked" in texts.lower()
    assert "scenario-based criteria" in texts
    table = next(b for b in blocks if isinstance(b, Table) and b.columns[:3] == ("entity", "spans replaced",
                                                                               "distinct values"))
    rows = {row[0]: row[1:] for row in table.rows}
    report = stats.redaction
    assert set(rows) == set(report.entities_checked)
    for entity, (total, distinct, *per_split) in rows.items():
        assert int(total) == report.entities.get(entity, 0) and int(distinct) == report.distinct_values.get(entity, 0)
        assert sum(map(int, per_split)) == int(total)
    assert int(rows["PHONE"][0]) > 0
    rejects = next(b for b in blocks if isinstance(b, Table) and b.columns[0] == "reason")
    assert rejects.columns[2] == "share of read"
    rendered = repr(blocks)
    assert not [v for v in corpus.planted if v in rendered]


def test_run_imports_with_a_synthetic_mix(tmp_path, monkeypatch):
    from telcotune import pipeline
    from telcotune.ingest import stage as stage_module
    from telcotune.paths import StudyPaths

    from .test_data_glossary import small_glossary, write_glossary

    monkeypatch.setattr(stage_module, "build_engine", lambda cfg: shared_engine())
    corpus = write_corpus(tmp_path / "src")
    cfg = ExperimentConfig.model_validate({"data": {
        "glossary": str(write_glossary(tmp_path, small_glossary())), "per_scenario": 4, "seed": 2,
        "source": {"path": [str(corpus.files[0])], "group_by": "customer_id", "mix_synthetic": True,
                   "synthetic_share": 0.25, "privacy": {"patterns": OPERATOR_PATTERNS}}}})
    paths = StudyPaths(tmp_path / "study")
    pipeline._data(cfg, paths, progress=False)
    assert read_json(paths.synthetic / "manifest.json")["stage"] == "data"
    data = read_json(paths.data / "manifest.json")
    assert data["stage"] == "import" and data["holds_imported"] is True and data["source"] == "mixed"
    stats = read_json(paths.data / "stats.json")
    assert stats["synthetic"]["share"] == 0.25 and sum(stats["synthetic"]["added"].values()) > 0
    rows = [json.loads(line) for name in ("train", "val", "test") for line in (paths.data / f"{name}.jsonl").open()]
    assert {r["source"] for r in rows} == {"imported", "synthetic"}
    assert all(r["scenario_id"] for r in rows if r["source"] == "synthetic")
    assert (paths.data / "scenarios.jsonl").is_file()
    stamp = (paths.data / "manifest.json").stat().st_mtime_ns
    pipeline._data(cfg, paths, progress=False)  # both stages current: nothing is redone
    assert (paths.data / "manifest.json").stat().st_mtime_ns == stamp
