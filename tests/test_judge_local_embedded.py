"""The local judge on the real embedded model (slow): scored from one forward pass, no judgment
is unparseable and its scores vary across answers."""

from __future__ import annotations

import statistics
import time

import pytest

from telcotune.config import DataConfig
from telcotune.data.conversation import prompt_of, reference_of
from telcotune.data.stage import run_data_stage
from telcotune.fsio import read_jsonl
from telcotune.judge.base import JudgeContext, PairItem, PointwiseItem
from telcotune.judge.llm_judge import LLMJudge
from telcotune.config import ClientSettings
from telcotune.llm.client import build_client

from .test_data_glossary import small_glossary, write_glossary

LOCAL = "local:smollm2-135m-instruct"
GENERIC = "Please restart your device and contact us if the problem persists."


@pytest.mark.slow
def test_local_judge_scores_every_answer_and_its_scores_vary(tmp_path, embedded_cache, monkeypatch):
    import torch

    torch.set_num_threads(2)
    monkeypatch.setenv("TELCOTUNE_CACHE", str(embedded_cache))
    glossary = write_glossary(tmp_path, small_glossary())
    run_data_stage(DataConfig(glossary=str(glossary), per_scenario=3, split={"train": 0.5, "val": 0.1, "test": 0.4}),
                   tmp_path / "data", progress=False)
    rows = read_jsonl(tmp_path / "data" / "test.jsonl")[:4]
    scenarios = {s["id"]: s for s in read_jsonl(tmp_path / "data" / "scenarios.jsonl")}
    contexts = [JudgeContext(r["id"], prompt_of(r["messages"]), reference_of(r["messages"]),
                             scenarios.get(r["scenario_id"]), r.get("misconception")) for r in rows]
    assert len(contexts) == 4
    answers = {"reference": lambda k: contexts[k].reference, "generic": lambda k: GENERIC,
               "other": lambda k: contexts[(k + 1) % 4].reference, "loop": lambda k: " ".join([GENERIC] * 8)}
    items = [PointwiseItem(c, run, make(k)) for k, c in enumerate(contexts) for run, make in answers.items()]
    judge = LLMJudge(LOCAL, build_client(LOCAL, ClientSettings(), use_cache=False))

    started = time.perf_counter()
    judgments = judge.pointwise(items)
    seconds = time.perf_counter() - started
    pairs = judge.pairwise([item for c in contexts for item in (
        PairItem(c, "reference", c.reference, "generic", GENERIC, "ab"),
        PairItem(c, "generic", GENERIC, "reference", c.reference, "ba"))])

    assert all(j.status == "ok" and j.method == "logprob" for j in judgments), [j.reason for j in judgments]
    scores = [j.overall for j in judgments]
    assert len(set(scores)) >= len(scores) - 2 and statistics.pstdev(scores) > 0.05  # not one score for all
    assert all(1 <= s <= 10 for s in scores)
    assert all(j.extra["score_distribution"]["mass"] >= 0.5 for j in judgments)
    assert all(j.status == "ok" and j.method == "logprob" for j in pairs)
    probabilities = [j.extra["verdict_probabilities"] for j in pairs]
    assert all(abs(p["p_a"] + p["p_b"] + p["p_tie"] - 1) < 1e-9 for p in probabilities)
    print(f"local judge: {len(items)} answers in {seconds:.1f} s ({len(items) / seconds:.2f} answers/s); "
          f"scores {min(scores):.2f}-{max(scores):.2f}, sd {statistics.pstdev(scores):.2f}; "
          f"pairwise P(A) {[round(p['p_a'], 2) for p in probabilities]}")
