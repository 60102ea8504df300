"""The evaluation stage on the tiny model: answers from the base and two hand-made adapters,
the rubric plus a fake OpenAI-compatible judge (good, malformed and failing replies), both
answer orders judged, rankings written, and a second evaluation makes no judge call."""

import csv
import json
import re

import pytest

from telcotune.artifacts.answers import AnswersMeta
from telcotune.config import DataConfig, DecodingConfig, EvalConfig, JudgesConfig, TrainConfig
from telcotune.data.stage import run_data_stage
from telcotune.evaluate.stage import run_evaluate
from telcotune.models import ModelRef
from telcotune.paths import EvalPaths
from telcotune.artifacts.io import read_record
from telcotune.artifacts.ranking import Ranking
from telcotune.fsio import read_json, read_jsonl, write_json
from telcotune.judge.pairs import SwissTournament, all_pairs

from . import fake_study as fake
from .fake_openai import FakeOpenAIServer, error, ok
from .test_data_glossary import small_glossary, write_glossary


def make_adapter(model_dir, out, seed):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                                  init_lora_weights=False))
    peft_model.save_pretrained(out / "adapter")


def fake_sweep(tmp_path, model_dir):
    sweep = tmp_path / "sweep"
    # a dot in a run name (r4-d0.1) must survive PEFT, whose adapter names may not contain one
    for i, (name, loss) in enumerate([("r4-a", 1.5), ("r4-d0.1", 2.5)]):
        run = sweep / name
        run.mkdir(parents=True)
        make_adapter(model_dir, run, seed=i)
        fake.write_run(run, TrainConfig(r=4, targets="qv"), fake.run_metrics(loss), model=str(model_dir))
    (sweep / "r4-unfinished").mkdir()  # no manifest: ignored
    return sweep


class JudgeServer:
    """Pointwise: a good score; every 5th request malformed, every 7th failing (500 forever)."""

    def __init__(self):
        self.n = 0

    def __call__(self, body, index):
        text = body["messages"][0]["content"]  # the same for a re-ask: malformed stays malformed
        if "Answer A:" in text:
            return ok(json.dumps({"verdict": "A", "rationale": "first is better"}))
        digest = sum(map(ord, text)) % 35
        if digest % 7 == 0:
            return error(500, "judge down")
        if digest % 5 == 0:
            return ok("I think it is pretty good, maybe 7?")
        return ok(json.dumps({"accuracy": 7, "helpfulness": 6, "grounding": 8, "tone": 9,
                              "conciseness": 7, "overall": 7, "rationale": "fine"}))


@pytest.fixture()
def study(tmp_path, tiny_model_dir, isolated_cache):
    data = small_glossary()
    data["failure_causes"].append({"id": "hardware-fault", "description": "A part is broken."})
    glossary = write_glossary(tmp_path, data)
    run_data_stage(DataConfig(glossary=str(glossary), per_scenario=6, ood_terms=["DNS"],
                              split={"train": 0.5, "val": 0.25, "test": 0.25}), tmp_path / "data", progress=False)
    return tmp_path, fake_sweep(tmp_path, tiny_model_dir)


def test_evaluate_with_rubric_and_fake_llm_judge(study, tiny_model_dir):
    tmp_path, sweep = study
    with FakeOpenAIServer(JudgeServer()) as server:
        spec = f"openai:judge-model@{server.base_url}"
        eval_cfg = EvalConfig(prompts=["test", "test_ood"], limit=3, max_new_tokens=8, protocol="both",
                              pairs="all", bootstrap=50)
        judges = JudgesConfig(panel=["rubric", spec], max_retries=1, timeout_s=5)
        out = tmp_path / "eval"
        ranking = run_evaluate(tmp_path / "data", sweep, out, ModelRef(str(tiny_model_dir)), eval_cfg, judges)
        calls = server.calls

        answers = read_jsonl(out / "answers" / "r4-a.jsonl")
        assert len(answers) == 6 and {"id", "prompt", "answer", "new_tokens", "latency_s"} <= set(answers[0])
        assert read_json(out / "answers" / "base.energy.json")["method"] == "missing"
        assert set(ranking.runs) == {"base", "r4-a", "r4-d0.1"}
        for judge in ("rubric", spec):
            section = ranking.judges[judge]
            assert None not in (section.pointwise, section.pairwise, section.position_bias, section.loss_vs_judge)
            assert set(section.pointwise_by_set) == {"test", "test_ood"}
        assert ranking.judges["rubric"].unparseable == 0
        llm = ranking.judges[spec]
        assert llm.unparseable > 0 and llm.errors > 0
        assert llm.position_bias.first_position_share == 1.0  # it always says "A"
        assert ranking.agreement is not None
        assert read_record(out / "ranking.json", Ranking) == ranking  # written and read through one record

        rows = read_jsonl(next((out / "judgments").glob("openai-*.jsonl")))
        bad = [r for r in rows if r["status"] == "unparseable"]
        assert bad and all(r["raw"] and r["overall"] is None for r in bad)
        pair_rows = [r for r in rows if r["protocol"] == "pairwise"]
        assert {r["order"] for r in pair_rows} == {"ab", "ba"}
        assert len(pair_rows) == 3 * 6 * 2  # 3 pairs x 6 prompts x both orders
        assert {r["prompt_version"] for r in rows} == {"v2"}

        with open(out / "leaderboard.csv") as f:
            board = list(csv.DictReader(f))
        assert [r["name"] for r in board] == ["base", "r4-a", "r4-d0.1"]
        assert {"val_loss", "loss_rank", "rubric_score", "rubric_rank", "inference_j_per_generated_token"} <= set(board[0])
        assert board[1]["r"] == "4" and board[1]["targets"] == "qv" and board[1]["val_loss"] == "1.5"

        (out / "manifest.json").unlink()  # force the stage to run again: answers resume, judges hit the cache
        run_evaluate(tmp_path / "data", sweep, out, ModelRef(str(tiny_model_dir)), eval_cfg, judges)
        # every good or malformed reply came from the cache; only failures (never cached) are sent again
        assert server.calls == calls + llm.errors * (judges.max_retries + 1)


def test_a_judge_with_its_own_protocol_judges_only_that_way(study, tiny_model_dir):
    """quick.yaml's local judge is pointwise only while the rubric also judges pairs."""
    tmp_path, sweep = study
    cfg = EvalConfig(prompts=["test"], limit=2, max_new_tokens=4, protocol="both", pairs="all", bootstrap=20)
    judges = JudgesConfig(panel=["rubric", "semantic"], protocols={"semantic": "pointwise"})
    ranking = run_evaluate(tmp_path / "data", sweep, tmp_path / "eval", ModelRef(str(tiny_model_dir)), cfg, judges)
    protocols = {judge: {r["protocol"] for r in read_jsonl(path)}
                 for judge, path in (("rubric", tmp_path / "eval" / "judgments" / "rubric.jsonl"),
                                     ("semantic", tmp_path / "eval" / "judgments" / "semantic.jsonl"))}
    assert protocols == {"rubric": {"pointwise", "pairwise"}, "semantic": {"pointwise"}}
    assert ranking.judges["semantic"].pairwise is None and ranking.judges["rubric"].pairwise is not None


def test_evaluate_is_skipped_when_current(study, tiny_model_dir):
    tmp_path, sweep = study
    cfg = EvalConfig(prompts=["test"], limit=2, max_new_tokens=4, bootstrap=20)
    judges = JudgesConfig(panel=["rubric"])
    run_evaluate(tmp_path / "data", sweep, tmp_path / "eval", ModelRef(str(tiny_model_dir)), cfg, judges)
    stamp = (tmp_path / "eval" / "manifest.json").stat().st_mtime_ns
    run_evaluate(tmp_path / "data", sweep, tmp_path / "eval", ModelRef(str(tiny_model_dir)), cfg, judges)
    assert (tmp_path / "eval" / "manifest.json").stat().st_mtime_ns == stamp


def test_answers_record_their_decoding_and_a_changed_decoding_answers_again(study, tiny_model_dir):
    tmp_path, sweep = study
    cfg = EvalConfig(prompts=["test"], limit=2, max_new_tokens=4, bootstrap=20, include_base=False)
    args = (tmp_path / "data", sweep, tmp_path / "eval-decoding", ModelRef(str(tiny_model_dir)), cfg,
            JudgesConfig(panel=["rubric"]))
    meta_path = EvalPaths(tmp_path / "eval-decoding").answers_meta("r4-a")
    run_evaluate(*args)
    first = read_record(meta_path, AnswersMeta)
    assert first.decoding == DecodingConfig()  # the study's default decoding, as `serve` uses it
    run_evaluate(*args, decoding=DecodingConfig(repetition_penalty=1.5))
    second = read_record(meta_path, AnswersMeta)
    assert second.decoding.repetition_penalty == 1.5
    assert second.fingerprint != first.fingerprint and second.written_at > first.written_at  # answered again


def test_swiss_pairs_never_repeat_and_cover_fewer_than_all():
    runs = [f"run{i}" for i in range(17)]
    t = SwissTournament(runs, seed=0)
    seen = set()
    for _ in range(4):
        pairs = t.next_round()
        assert len(pairs) == 8
        for pair in pairs:
            assert frozenset(pair) not in seen
            seen.add(frozenset(pair))
            t.record(pair[0], pair)
    assert len(seen) == 32 < len(all_pairs(runs)) == 136


def test_evaluate_runs_the_knowledge_step_into_ranking_and_leaderboard(study, tiny_model_dir):
    tmp_path, sweep = study
    cfg = EvalConfig(prompts=["test"], limit=2, max_new_tokens=4, bootstrap=20,
                     knowledge={"enabled": True, "limit": 6})
    ranking = run_evaluate(tmp_path / "data", sweep, tmp_path / "eval", ModelRef(str(tiny_model_dir)), cfg,
                           JudgesConfig(panel=["rubric"]), glossary=tmp_path / "glossary.yaml")
    knowledge = ranking.knowledge
    assert knowledge is not None and 0 < knowledge.questions <= 6  # the small glossary has fewer
    assert [m.run for m in knowledge.models] == ["base", "r4-a", "r4-d0.1"]
    assert knowledge.models[0].versus_base is None and knowledge.models[1].versus_base is not None
    with open(tmp_path / "eval" / "leaderboard.csv") as f:
        board = {row["name"]: row for row in csv.DictReader(f)}
    assert board["r4-a"]["knowledge_verdict"] in ("gained", "forgot", "no evidence either way")
    assert float(board["base"]["knowledge_acc"]) == knowledge.models[0].accuracy.value
