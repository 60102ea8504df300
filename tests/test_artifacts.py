"""Every artifact of a finished study, read through its record type; and a file of the wrong shape
is a one-line error naming the file and the field (exit 2) from `report`, `evaluate` and `serve`.

The study is a real one, small: `telcotune run` on the tiny model (template data from a small
glossary, a 2-run sweep of 2 steps, the rubric judge pointwise and pairwise, no energy meter)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from telcotune.artifacts.answers import AnswerRow, AnswersMeta
from telcotune.artifacts.data import ConversationRow, DataStats
from telcotune.artifacts.energy import AnswersEnergy, DataEnergy, JudgeEnergy, RunEnergy
from telcotune.artifacts.io import read_record, read_rows
from telcotune.artifacts.manifest import StageManifest
from telcotune.artifacts.ranking import Ranking
from telcotune.artifacts.run import ExampleLosses, MetricsRow, RunConfig, RunMetrics
from telcotune.artifacts.sweep import BaseValidation, SweepSummary
from telcotune.config import ExperimentConfig
from telcotune.judge.base import Judgment
from telcotune.paths import StudyPaths

from .conftest import ROOT
from .test_data_glossary import small_glossary, write_glossary

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# (pattern relative to the study folder, record type, JSONL?)
RECORDS: list[tuple[str, type, bool]] = [
    ("config.json", ExperimentConfig, False),
    ("data/stats.json", DataStats, False),
    ("data/energy.json", DataEnergy, False),
    ("data/train.jsonl", ConversationRow, True),
    ("data/val.jsonl", ConversationRow, True),
    ("data/test.jsonl", ConversationRow, True),
    ("data/test_ood.jsonl", ConversationRow, True),
    ("*/manifest.json", StageManifest, False),
    ("sweep/*/manifest.json", StageManifest, False),
    ("sweep/sweep.json", SweepSummary, False),
    ("sweep/_base/base.json", BaseValidation, False),
    ("sweep/*/val_losses.json", ExampleLosses, False),
    ("sweep/*/config.json", RunConfig, False),
    ("sweep/*/metrics.json", RunMetrics, False),
    ("sweep/*/metrics.jsonl", MetricsRow, True),
    ("sweep/*/energy.json", RunEnergy, False),
    ("eval/answers/*.meta.json", AnswersMeta, False),
    ("eval/answers/*.energy.json", AnswersEnergy, False),
    ("eval/answers/*.jsonl", AnswerRow, True),
    ("eval/judgments/*.energy.json", JudgeEnergy, False),
    ("eval/judgments/*.jsonl", Judgment, True),
    ("eval/ranking.json", Ranking, False),
]
# Files no other stage reads (inputs of people or other tools, or this stage's own log).
# Written for people or other tools (dataset_info.json is LLaMA-Factory's), never read back by a stage.
NOT_READ_BY_A_STAGE = {"data/scenarios.jsonl", "data/rejects.jsonl", "sweep/sweep.csv", "eval/leaderboard.csv",
                       "sweep/.tokenized-*.pt", "data/dataset_info.json"}


@pytest.fixture(scope="module")
def study(tmp_path_factory, tiny_model_dir) -> Path:
    root = tmp_path_factory.mktemp("artifacts")
    data = small_glossary()
    data["failure_causes"].append({"id": "hardware-fault", "description": "A part is broken."})
    glossary = write_glossary(root, data)
    config = {
        "name": "tiny", "model": {"spec": str(tiny_model_dir)},
        "data": {"glossary": str(glossary), "per_scenario": 6, "ood_terms": ["DNS"],
                 "split": {"train": 0.5, "val": 0.25, "test": 0.25}},
        "train": {"max_steps": 2, "batch_size": 2, "eval_every": 1, "save_every": 1, "max_length": 512},
        "sweep": {"runs": [{"name": "r2-qv", "r": 2, "targets": "qv"}, {"name": "r4-attn", "r": 4, "targets": "attn"}]},
        "eval": {"prompts": ["test", "test_ood"], "limit": 2, "max_new_tokens": 4, "protocol": "both",
                 "bootstrap": 20},
        "judges": {"panel": ["rubric"]},
        "energy": {"meter": "none"},
    }
    (root / "study.yaml").write_text(yaml.safe_dump(config))
    out = subprocess.run([sys.executable, "-m", "telcotune", "run", "--config", str(root / "study.yaml"),
                          "--workdir", str(root / "study"), "--quiet"],
                         capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    return root / "study"


def _record_for(rel: str) -> tuple[type, bool] | None:
    for pattern, kind, jsonl in RECORDS:
        if Path(rel).match(pattern) and (pattern.count("/") == rel.count("/")):
            return kind, jsonl
    return None


def test_every_artifact_reads_through_its_record(study):
    checked = set()
    for path in sorted(study.rglob("*")):
        rel = path.relative_to(study).as_posix()
        if not path.is_file() or rel.startswith("report/") or "/adapter/" in rel:
            continue
        if path.suffix not in (".json", ".jsonl") or any(Path(rel).match(p) for p in NOT_READ_BY_A_STAGE):
            continue
        found = _record_for(rel)
        assert found is not None, f"{rel}: no record type defined for this artifact"
        kind, jsonl = found
        records = read_rows(path, kind) if jsonl else [read_record(path, kind)]
        assert records, rel
        checked.add(kind)
    assert checked == {kind for _, kind, _ in RECORDS}
    ranking = read_record(StudyPaths(study).eval_paths.ranking, Ranking)
    finding = ranking.finding
    assert finding.headline and set(finding.verdicts) | set(finding.excluded_judges) == {"rubric", "rubric (pairwise)"}
    run_config = read_record(StudyPaths(study).sweep_paths.run("r4-attn").config, RunConfig)
    assert run_config.target_modules == ["q_proj", "k_proj", "v_proj", "o_proj"] and run_config.train.targets == "attn"
    sweep = read_record(StudyPaths(study).sweep_paths.summary, SweepSummary)
    assert [r.target_modules for r in sweep.runs] == [["q_proj", "v_proj"], ["q_proj", "k_proj", "v_proj", "o_proj"]]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "telcotune", *args], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)


def _one_line_error(out: subprocess.CompletedProcess, *fragments: str) -> None:
    assert out.returncode == 2, (out.returncode, out.stderr[-2000:])
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("error: "), out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    for fragment in fragments:
        assert fragment in lines[-1], (fragment, lines[-1])


@pytest.fixture()
def copy(study, tmp_path) -> Path:
    import shutil

    dest = tmp_path / "copy"
    shutil.copytree(study, dest)
    return dest


def test_a_wrong_shaped_metrics_json_is_named_by_report_evaluate_and_serve(copy):
    metrics = StudyPaths(copy).sweep_paths.run("r2-qv").metrics
    metrics.write_text('{"best_val_loss": "low"}\n')
    _one_line_error(_cli("report", "--workdir", str(copy), "--force"), "r2-qv/metrics.json", "best_val_loss")
    _one_line_error(_cli("evaluate", "--data", str(copy / "data"), "--sweep", str(copy / "sweep"),
                         "--out", str(copy / "eval"), "--judge", "rubric"), "r2-qv/metrics.json", "best_val_loss")
    _one_line_error(_cli("serve", "--workdir", str(copy), "--port", "0"), "r2-qv/metrics.json", "best_val_loss")


def test_a_truncated_ranking_json_is_named_by_report_and_serve(copy):
    ranking = StudyPaths(copy).eval_paths.ranking
    ranking.write_text(ranking.read_text()[:200])
    _one_line_error(_cli("report", "--workdir", str(copy), "--force"), "eval/ranking.json", "not valid JSON")
    _one_line_error(_cli("serve", "--workdir", str(copy), "--run", "best-judge", "--port", "0"),
                    "eval/ranking.json", "not valid JSON")


def test_a_wrong_shaped_answers_file_is_named_by_report(copy):
    answers = StudyPaths(copy).eval_paths.answers("r2-qv")
    answers.write_text(answers.read_text().replace('"answer"', '"reply"', 1))
    _one_line_error(_cli("report", "--workdir", str(copy), "--force"), "answers/r2-qv.jsonl:1", "answer")
