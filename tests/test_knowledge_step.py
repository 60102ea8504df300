"""The knowledge step on a tiny study (tiny model, two hand-made adapters): glossary questions
and an MCQ file scored on the base and both adapters, eval/knowledge.json written as a typed
record, a repeated step scores nothing again, a changed adapter is rescored alone, and the
command exits 2 naming the bad MCQ line."""

import io
import json
import subprocess
import sys

import pytest
from rich.console import Console

from telcotune.config import EnergyConfig, ExperimentConfig, ModelConfig, TrainConfig
from telcotune.fsio import write_json
from telcotune.knowledge import runner
from telcotune.knowledge.command import knowledge_command, results_table
from telcotune.knowledge.record import read_result
from telcotune.paths import EvalPaths, StudyPaths

from . import fake_study as fake

MCQ_ROWS = [
    {"question": "What does APN stand for?", "options": ["Access Point Name", "Area Paging Node", "Auto Ping"],
     "answer": "A", "category": "expansions"},
    {"question": "Which band reaches further?", "options": ["2.4 GHz", "5 GHz"], "answer": 0, "category": "wifi"},
    {"id": "fibre", "question": "Where does the fibre line end in the home?", "options": ["ONT", "SIM", "APN"],
     "answer": 0},
]


def make_adapter(model_dir, folder, seed):
    import torch
    from peft import LoraConfig, get_peft_model

    from telcotune.models import load_model

    torch.manual_seed(seed)
    model = get_peft_model(load_model(model_dir), LoraConfig(r=4, lora_alpha=8, init_lora_weights=False,
                                                             target_modules=["q_proj", "v_proj"]))
    model.save_pretrained(folder)


@pytest.fixture()
def study(tmp_path, tiny_model_dir):
    root = tmp_path / "study"
    paths = StudyPaths(root)
    cfg = ExperimentConfig(model=ModelConfig(spec=str(tiny_model_dir)), energy=EnergyConfig(meter="none"))
    write_json(paths.resolved_config, cfg.model_dump(mode="json"))
    paths.data.mkdir(parents=True)
    system = {"role": "system", "content": "You help telecom customers."}
    (paths.data / "train.jsonl").write_text(json.dumps({"id": "c0", "messages": [system]}) + "\n")
    for i, (name, loss) in enumerate([("r4-a", 1.5), ("r4-d0.1", 2.5)]):
        run = paths.run(name)
        make_adapter(tiny_model_dir, run / "adapter", seed=i)
        fake.write_run(run, TrainConfig(r=4, targets="qv"), fake.run_metrics(loss), model=str(tiny_model_dir))
    (paths.sweep / "r4-unfinished").mkdir()  # no manifest: not scored
    mcq = tmp_path / "bench.jsonl"
    mcq.write_text("".join(json.dumps(r) + "\n" for r in MCQ_ROWS))
    return root, mcq


def test_scores_every_model_and_writes_the_typed_record(study, one_torch_thread):
    root, mcq = study
    result = knowledge_command(root, mcq=[mcq], glossary_mcq=True, limit=6, progress=False)
    paths = EvalPaths(StudyPaths(root).eval)
    assert read_result(paths.knowledge) == result
    assert [m.run for m in result.models] == ["base", "r4-a", "r4-d0.1"]
    assert result.questions == 9 and result.chance == pytest.approx(
        (6 / 4 + 1 / 3 + 1 / 2 + 1 / 3) / 9)
    assert [(s.name, s.kind, s.questions) for s in result.sources] == [("glossary", "glossary", 6), ("bench", "file", 3)]
    assert result.sources[0].available > 100
    assert set(result.categories) <= {"definition", "expansion", "resolution", "expansions", "wifi"}
    assert {"expansions", "wifi"} <= set(result.categories)  # the uncategorised row counts overall only
    base = result.for_run("base")
    assert base.versus_base is None and base.versus_base_by_category == {}
    for model in result.models[1:]:
        d = model.versus_base.difference
        assert d.total == 9 and d.diff == pytest.approx(model.accuracy.value - base.accuracy.value)
        assert d.low <= d.diff <= d.high
        assert model.versus_base.verdict in ("gained", "forgot", "no evidence either way")
        assert set(model.versus_base_by_category) == set(result.categories)
    assert all(m.energy_method == "missing" and m.energy_j is None and m.duration_s > 0 for m in result.models)
    assert result.energy_method == "missing" and "metering disabled" in result.energy_missing_reason
    for run in ("base", "r4-a", "r4-d0.1"):
        assert paths.knowledge_scores(run).is_file()
    assert not paths.knowledge_scores("r4-unfinished").exists()

    console = Console(width=200, record=True, file=io.StringIO())
    console.print(results_table(result))
    text = console.export_text()
    assert "9 questions" in text and "(reference)" in text
    assert f"{100 * base.accuracy.value:.1f} [{100 * base.accuracy.low:.1f}, {100 * base.accuracy.high:.1f}]" in text
    for model in result.models[1:]:
        row = next(line for line in text.splitlines() if f" {model.run} " in line)
        assert model.versus_base.verdict in row and f"{100 * model.versus_base.difference.diff:+.1f} [" in row


def test_a_repeated_step_scores_nothing_and_a_changed_adapter_alone(study, tiny_model_dir, monkeypatch, one_torch_thread):
    root, mcq = study
    first = knowledge_command(root, mcq=[mcq], progress=False)
    assert [s.name for s in first.sources] == ["bench"]  # --mcq alone: the file only

    scored = []
    real = runner.score_questions

    def counting(model, questions, **kwargs):
        scored.append(len(questions))
        return real(model, questions, **kwargs)

    monkeypatch.setattr(runner, "score_questions", counting)
    again = knowledge_command(root, mcq=[mcq], progress=False)
    assert scored == []
    assert [m.accuracy for m in again.models] == [m.accuracy for m in first.models]

    make_adapter(tiny_model_dir, StudyPaths(root).run("r4-a") / "adapter", seed=7)
    knowledge_command(root, mcq=[mcq], progress=False)
    assert scored == [3]  # only the changed adapter


def test_the_command_exits_2_naming_the_bad_line(study, tmp_path):
    root, _ = study
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(MCQ_ROWS[0]) + "\n" + json.dumps({**MCQ_ROWS[1], "answer": 5}) + "\n")
    out = subprocess.run([sys.executable, "-m", "telcotune", "knowledge", "--workdir", str(root), "--mcq", str(bad),
                          "--quiet"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 2
    assert "bad.jsonl:2: answer: index 5 is out of range for 2 options" in out.stderr
    assert not EvalPaths(StudyPaths(root).eval).knowledge.exists()
