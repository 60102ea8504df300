import json
import random
from collections import Counter

import pytest

from telcotune.config import DataConfig, SplitConfig
from telcotune.data.dedup import deduplicate
from telcotune.data.glossary import load_glossary
from telcotune.data.plan import plan_conversations
from telcotune.data.prompting import generation_request
from telcotune.data.scenarios import build_scenarios
from telcotune.data.split import assign_splits
from telcotune.data.stage import run_data_stage
from telcotune.data.template import TemplateBackend, TemplateWriter
from telcotune.data.validate import InvalidConversation, validate_conversation
from telcotune.fsio import read_json, read_jsonl
from telcotune.manifest import read_manifest

from .conftest import ROOT
from .test_data_glossary import small_glossary, write_glossary

SHIPPED = ROOT / "src/telcotune/glossaries/telecom.yaml"


def shipped_plans(per_scenario=2, seed=0):
    scenarios = build_scenarios(load_glossary(SHIPPED))
    return plan_conversations(scenarios, per_scenario, seed, mistake_rate=0.3, max_turns=4)


def test_template_is_deterministic_for_a_seed_and_varies_across_seeds():
    a = [TemplateWriter(p.to_dict()).conversation() for p in shipped_plans(seed=0)[:50]]
    b = [TemplateWriter(p.to_dict()).conversation() for p in shipped_plans(seed=0)[:50]]
    c = [TemplateWriter(p.to_dict()).conversation() for p in shipped_plans(seed=1)[:50]]
    assert a == b
    assert sum(x != y for x, y in zip(a, c)) > 40


def test_the_template_backend_writes_from_the_plan_of_a_generation_request():
    from dataclasses import replace

    from telcotune.llm.base import ChatRequest, PermanentLLMError
    from telcotune.llm.structured import extract_json

    plan = shipped_plans()[3]
    request = generation_request(plan)
    assert request.plan == plan.to_dict() and "plan" not in ChatRequest.__dataclass_fields__
    written = TemplateBackend().complete(request)
    assert extract_json(written.text)["messages"] == TemplateWriter(plan.to_dict()).conversation()
    reask = replace(request, attempt=1)  # how a re-ask is built: the plan travels with it
    assert TemplateBackend().complete(reask).text == written.text
    [failure] = TemplateBackend().complete_many([ChatRequest(messages=request.messages)])
    assert isinstance(failure, PermanentLLMError) and "conversation plan" in str(failure)


def test_template_conversations_are_valid_and_grounded():
    plans = shipped_plans(per_scenario=1)
    for plan in plans[::7]:
        turns = TemplateWriter(plan.to_dict()).conversation()
        validate_conversation({"messages": turns}, plan.scenario.term.names())
        assert 1 <= len(turns) // 2 <= 4
        assistant = " ".join(t["content"] for t in turns if t["role"] == "assistant")
        # grounded: the first resolution step (rephrased to the customer) is always there
        first_step_words = plan.scenario.term.resolution_steps[0].split()[-3:]
        assert " ".join(first_step_words).rstrip(".").lower() in assistant.lower()


def test_plans_vary_persona_turns_and_misconceptions():
    plans = shipped_plans(per_scenario=19)
    assert len(plans) == 1560 * 19
    assert len(Counter(p.persona for p in plans)) >= 5
    assert set(Counter(p.customer_turns for p in plans)) == {1, 2, 3, 4}
    share = sum(p.misconception is not None for p in plans) / len(plans)
    assert 0.25 < share < 0.35


def test_misconceptions_are_corrected_politely():
    plans = [p for p in shipped_plans(per_scenario=3) if p.misconception is not None][:60]
    for plan in plans:
        turns = TemplateWriter(plan.to_dict()).conversation()
        first_answer = turns[1]["content"].lower()
        assert any(cue in first_answer for cue in (
            "clear up", "no need to get", "understand why it looks like", "common mix-up")), first_answer


@pytest.mark.parametrize("value, code", [
    ({"messages": []}, "schema"),
    ({"messages": [{"role": "assistant", "content": "Hello about APN"}]}, "role_order"),
    ({"messages": [{"role": "user", "content": "hi"}, {"role": "user", "content": "APN?"}]}, "role_order"),
    ({"messages": [{"role": "user", "content": "My data does not work at all today, help"},
                   {"role": "assistant", "content": ""}]}, "empty_turn"),
    ({"messages": [{"role": "user", "content": "My data does not work at all today, please help me"},
                   {"role": "assistant", "content": "Please restart your phone and try again later, thanks."}]},
     "term_missing"),
    ({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "APN."}]}, "too_short"),
])
def test_validation_reason_codes(value, code):
    with pytest.raises(InvalidConversation) as info:
        validate_conversation(value, ["APN", "Access Point Name"])
    assert info.value.code == code


def test_validation_accepts_alias_and_drops_echoed_system_message():
    turns = validate_conversation({"messages": [
        {"role": "system", "content": "x"},
        {"role": "user", "content": "My phone has data but nothing loads, what can I do?"},
        {"role": "assistant", "content": "Let's check your access point name settings first, then restart."},
    ]}, ["APN", "Access Point Name"])
    assert [t["role"] for t in turns] == ["user", "assistant"]


def test_dedup_removes_exact_and_near_duplicates_only():
    base = ("the router restarts every night and the fibre light turns red until I unplug the "
            "power cable and wait for two minutes before plugging it back in again ") * 3
    texts = [base, base.upper(), base + " thanks", "a completely different text about roaming charges in spain " * 5]
    result = deduplicate(texts)
    assert result.exact == [1] and result.near == [2] and result.keep == [0, 3]


def test_near_duplicates_are_decided_by_the_exact_jaccard_not_the_estimate():
    rng = random.Random(0)
    vocab = [f"w{i}" for i in range(5000)]
    texts = []
    for _ in range(20):
        base = rng.sample(vocab, 200)  # 196 distinct 5-grams
        close, far = list(base), list(base)
        close[100] = "x" + close[100]  # 5 of 196 5-grams changed: Jaccard 191/201 = 0.95
        for position in (20, 60, 100, 140):  # 20 changed: Jaccard 176/216 = 0.81, under 0.85
            far[position] = "y" + far[position]
        texts += [" ".join(base), " ".join(close), " ".join(far)]
    result = deduplicate(texts, threshold=0.85)
    # 64-permutation estimates of 0.81 exceed 0.85 about one time in five; none may count.
    assert result.near == [3 * case + 1 for case in range(20)] and result.exact == []


def test_splits_are_by_scenario_with_ood_terms_held_out():
    scenarios = build_scenarios(load_glossary(SHIPPED))
    ids = [s.id for s in scenarios]
    term_of = {s.id: s.term.term for s in scenarios}
    a = assign_splits(ids, term_of, SplitConfig(), seed=0, ood_terms=["eSIM"])
    assert a == assign_splits(ids, term_of, SplitConfig(), seed=0, ood_terms=["eSIM"])
    assert a != assign_splits(ids, term_of, SplitConfig(), seed=1, ood_terms=["eSIM"])
    counts = Counter(a.values())
    assert counts["test_ood"] == 30
    assert abs(counts["val"] - 153) <= 1 and abs(counts["test"] - 153) <= 1
    assert all(a[sid] == "test_ood" for sid in ids if term_of[sid] == "eSIM")


def run_small(tmp_path, **overrides):
    glossary = write_glossary(tmp_path, small_glossary())
    cfg = DataConfig(glossary=str(glossary), per_scenario=3, **overrides)
    out = tmp_path / "data"
    return cfg, out, run_data_stage(cfg, out, progress=False)


def test_data_stage_writes_every_file_with_manifest_last(tmp_path):
    cfg, out, stats = run_small(tmp_path)
    names = {p.name for p in out.iterdir()}
    assert {"scenarios.jsonl", "train.jsonl", "val.jsonl", "test.jsonl", "rejects.jsonl",
            "stats.json", "manifest.json"} <= names
    manifest = read_manifest(out)
    assert manifest.stage == "data" and set(manifest.outputs) == names - {"manifest.json"}
    assert all((out / name).stat().st_mtime <= (out / "manifest.json").stat().st_mtime
               for name in names)
    assert stats.scenarios == 4 and stats.planned == 12
    rows = [r for split in ("train", "val", "test") for r in read_jsonl(out / f"{split}.jsonl")]
    assert len(rows) == stats.conversations > 0
    for row in rows:
        assert {"id", "scenario_id", "term", "cause", "context", "persona", "messages"} <= set(row)
        roles = [m["role"] for m in row["messages"]]
        assert roles[0] == "system" and roles[-1] == "assistant"
        assert roles[1:] == ["user", "assistant"] * (len(roles[1:]) // 2)


def test_data_stage_is_skipped_when_current_and_rerun_when_config_changes(tmp_path):
    cfg, out, _ = run_small(tmp_path)
    stamp = (out / "manifest.json").stat().st_mtime_ns
    run_data_stage(cfg, out, progress=False)
    assert (out / "manifest.json").stat().st_mtime_ns == stamp
    run_data_stage(cfg.model_copy(update={"seed": 5}), out, progress=False)
    assert (out / "manifest.json").stat().st_mtime_ns != stamp


def test_no_scenario_in_two_splits(tmp_path):
    _, out, _ = run_small(tmp_path)
    seen = {}
    for split in ("train", "val", "test"):
        for row in read_jsonl(out / f"{split}.jsonl"):
            assert seen.setdefault(row["scenario_id"], split) == split


@pytest.mark.slow
def test_full_scale_shipped_glossary_gives_about_30000(tmp_path):
    cfg = DataConfig(per_scenario=19, ood_terms=["eSIM"])
    stats = run_data_stage(cfg, tmp_path / "data", progress=False)
    assert stats.scenarios == 1560
    assert 28_500 <= stats.conversations <= 29_640
    assert stats.duplicates_removed["near"] < 300
    split_of = {}
    for split in ("train", "val", "test", "test_ood"):
        for row in read_jsonl(tmp_path / "data" / f"{split}.jsonl"):
            assert split_of.setdefault(row["scenario_id"], split) == split
