"""`telcotune evaluate` end to end on the embedded model with the default offline panel
(rubric and local:smollm2-135m-instruct) over a 2-run sweep."""

import csv

import pytest

from telcotune.config import DataConfig, EvalConfig, JudgesConfig
from telcotune.data.stage import run_data_stage
from telcotune.evaluate.stage import run_evaluate
from telcotune.fsio import read_jsonl
from telcotune.models import ModelRef, resolve_model

from .test_evaluate import fake_sweep
from .test_data_glossary import small_glossary, write_glossary



@pytest.mark.slow
def test_evaluate_on_the_embedded_model_with_the_offline_panel(tmp_path, embedded_cache, monkeypatch):
    monkeypatch.setenv("TELCOTUNE_CACHE", str(embedded_cache))
    model_dir = resolve_model("smollm2-135m-instruct")
    data = small_glossary()
    data["failure_causes"].append({"id": "hardware-fault", "description": "A part is broken."})
    glossary = write_glossary(tmp_path, data)
    run_data_stage(DataConfig(glossary=str(glossary), per_scenario=3), tmp_path / "data", progress=False)
    sweep = fake_sweep(tmp_path, model_dir)
    panel = ["rubric", "local:smollm2-135m-instruct"]
    out = tmp_path / "eval"
    ranking = run_evaluate(tmp_path / "data", sweep, out, ModelRef(str(model_dir)),
                           EvalConfig(prompts=["test"], limit=2, max_new_tokens=16, protocol="both", bootstrap=50),
                           JudgesConfig(panel=panel), progress=False)

    assert ranking.runs == ["base", "r4-a", "r4-d0.1"] and set(ranking.judges) == set(panel)
    rubric = ranking.judges["rubric"]
    assert rubric.pointwise is not None and rubric.pairwise is not None and rubric.position_bias is not None
    assert set(rubric.pointwise_by_set) == {"test"} and rubric.diagnostics is not None
    local_section = ranking.judges["local:smollm2-135m-instruct"]
    assert sum(local_section.counts.values()) == 3 * 2 + 3 * 2 * 2
    # a 135M judge rarely keeps to the format: whatever it managed is ranked, the rest counted
    if any(k.startswith("pairwise:ok") for k in local_section.counts):
        assert local_section.pairwise is not None and local_section.position_bias is not None
    assert ranking.finding is not None
    print("local judge:", local_section.counts)
    for run in ("base", "r4-a", "r4-d0.1"):
        rows = read_jsonl(out / "answers" / f"{run}.jsonl")
        assert len(rows) == 2 and all(0 < r["new_tokens"] <= 16 for r in rows)
    local = read_jsonl(out / "judgments" / "local-smollm2-135m-instruct.jsonl")
    assert len(local) == 3 * 2 + 3 * 2 * 2  # pointwise 3 runs x 2 prompts; pairwise 3 pairs x 2 prompts x 2 orders
    assert all(j["status"] in ("ok", "unparseable") for j in local)
    with open(out / "leaderboard.csv") as f:
        assert [r["name"] for r in csv.DictReader(f)] == ["base", "r4-a", "r4-d0.1"]
