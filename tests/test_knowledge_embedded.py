"""The knowledge step on the embedded model (slow): the glossary's expansion questions, as an
MCQ file, on the base model and two adapters. The base must beat chance by a margin its
interval supports (a broken scorer lands at chance), an adapter that changes nothing must score
exactly as the base (no evidence either way), and a perturbing one must score differently."""

import json

import pytest

from telcotune.config import DataConfig, EnergyConfig, ExperimentConfig, TrainConfig
from telcotune.data.glossary import load_glossary
from telcotune.fsio import write_json
from telcotune.knowledge.command import knowledge_command
from telcotune.knowledge.glossary_mcq import glossary_questions
from telcotune.models import load_model, resolve_model
from telcotune.paths import StudyPaths

from .fake_study import run_metrics, write_run

pytestmark = pytest.mark.slow


def save_adapter(model_dir, folder, perturb):
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    model = get_peft_model(load_model(model_dir), LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                                             init_lora_weights=not perturb))
    model.save_pretrained(folder)  # init_lora_weights=True leaves B = 0: the base model exactly


def test_expansion_questions_on_the_embedded_model(tmp_path, embedded_cache, monkeypatch):
    monkeypatch.setenv("TELCOTUNE_CACHE", str(embedded_cache))
    model_dir = resolve_model("smollm2-135m-instruct")
    study = StudyPaths(tmp_path / "study")
    write_json(study.resolved_config, ExperimentConfig(energy=EnergyConfig(meter="none")).model_dump(mode="json"))
    for name, perturb in (("same", False), ("noisy", True)):
        save_adapter(model_dir, study.run(name) / "adapter", perturb)
        write_run(study.run(name), TrainConfig(r=4, alpha=8, targets="qv"), run_metrics(2.5))
    questions = [q for q in glossary_questions(load_glossary(DataConfig().glossary_path())) if q.category == "expansion"]
    mcq = tmp_path / "expansions.jsonl"
    mcq.write_text("".join(json.dumps({"id": q.id, "question": q.question, "options": list(q.options),
                                       "answer": q.answer}) + "\n" for q in questions))

    result = knowledge_command(study.root, mcq=[mcq], progress=False)
    base, noisy, same = (result.for_run(r) for r in ("base", "noisy", "same"))
    assert result.questions == len(questions) == 19
    assert base.accuracy.low > result.chance  # 15 of 19 when this test was written
    assert same.accuracy == base.accuracy
    d = same.versus_base.difference
    assert (d.first_only, d.second_only, d.diff) == (0, 0, 0.0) and same.versus_base.verdict == "no evidence either way"
    assert noisy.versus_base.difference.first_only + noisy.versus_base.difference.second_only > 0
