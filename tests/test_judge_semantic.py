"""The `semantic` judge: paraphrased step coverage scores high, an unrelated answer low, an
empty answer 1; deterministic, and it loads and runs with no network."""

from __future__ import annotations

import socket

import pytest

from telcotune.judge.base import JudgeContext, PairItem, PointwiseItem
from telcotune.judge.semantic import MATCH_FLOOR, MATCH_FULL, SemanticJudge

pytestmark = pytest.mark.usefixtures("one_torch_thread")

APN = {
    "term": "APN", "definition": "The gateway settings a phone uses to reach the operator's data network.",
    "resolution_steps": ["Check the APN matches the operator's published values",
                         "Reset the network settings", "Restart the phone and test mobile data with Wi-Fi off"],
    "escalate_when": "The APN is correct and data still fails after a network reset.",
}
CONTEXT = JudgeContext(
    "p1", [{"role": "system", "content": "You are a customer support assistant."},
           {"role": "user", "content": "My phone says it is connected to mobile data but no web page loads."}],
    "Sorry about that. Please check that your APN matches our published values, then reset your network "
    "settings and restart the phone, testing mobile data with Wi-Fi off. If the APN is right and data still "
    "fails after the reset, I'll escalate it to our technical team.", APN, None)
PARAPHRASE = ("I'm sorry your data isn't working. First, open the APN settings on your phone and compare each "
              "field with the values listed on our website. Next, clear your network configuration back to its "
              "defaults. Then switch the handset off and on again and try browsing with Wi-Fi disabled. If the "
              "APN is configured properly and pages still won't load after the reset, our engineers will look "
              "into it.")
GENERIC = "Please restart your device and contact us if the problem persists."
UNRELATED = ("Your bill this month includes a roaming charge from your trip to Spain. Roaming is billed per "
             "day when you use your allowance abroad; you can see the daily charges in the app.")


@pytest.fixture(scope="module")
def judge():
    return SemanticJudge()


def test_paraphrased_steps_score_high_and_unrelated_low(judge):
    reference, paraphrase, unrelated, generic = judge.score_many(
        [(CONTEXT.reference, CONTEXT), (PARAPHRASE, CONTEXT), (UNRELATED, CONTEXT), (GENERIC, CONTEXT)])
    assert reference.overall >= 8.5
    assert generic.overall <= 4.5 and generic.parts["steps"] <= 0.2
    assert paraphrase.overall >= 7.5 and paraphrase.parts["steps"] >= 0.8
    assert min(paraphrase.step_similarity) > (MATCH_FLOOR + MATCH_FULL) / 2  # every step found in other words
    assert max(unrelated.step_similarity) < MATCH_FLOOR
    assert unrelated.overall <= 3.5 and unrelated.parts["steps"] <= 0.2
    assert paraphrase.overall - unrelated.overall >= 4


def test_empty_and_repetitive_answers(judge):
    empty, blank, looped, once = judge.score_many([("", CONTEXT), ("  \n", CONTEXT),
                                                   (" ".join(["Please reset your network settings."] * 20), CONTEXT),
                                                   ("Please reset your network settings.", CONTEXT)])
    assert empty.overall == blank.overall == 1.0 and empty.rationale == "empty answer"
    assert looped.overall < once.overall - 3 and "repetitive" in looped.rationale


def test_judge_interface_is_deterministic_and_batched(judge):
    items = [PointwiseItem(CONTEXT, "good", PARAPHRASE), PointwiseItem(CONTEXT, "bad", UNRELATED)]
    first, second = judge.pointwise(items), SemanticJudge().pointwise(items)
    assert [j.overall for j in first] == [j.overall for j in second]
    assert all(j.method == "embedding" and j.status == "ok" for j in first)
    assert set(first[0].scores) == {"steps", "escalation", "reference", "relevance"}
    ab, ba = judge.pairwise([PairItem(CONTEXT, "good", PARAPHRASE, "bad", UNRELATED, "ab"),
                             PairItem(CONTEXT, "bad", UNRELATED, "good", PARAPHRASE, "ba")])
    assert (ab.verdict, ab.winner, ba.verdict, ba.winner) == ("A", "good", "B", "good")


def test_without_scenario_or_reference_the_parts_that_apply_count(judge):
    bare = JudgeContext("p2", CONTEXT.messages, "", None, None)
    [score] = judge.score_many([(PARAPHRASE, bare)])
    assert set(score.parts) == {"relevance"} and 1 <= score.overall <= 10


def test_loads_and_scores_with_no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access in a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    [score] = SemanticJudge().score_many([(PARAPHRASE, CONTEXT)])  # a fresh judge loads the model here
    assert score.overall >= 7.5


def test_semantic_is_a_judge_spec_and_in_the_default_offline_panel():
    from telcotune.config import JudgesConfig
    from telcotune.judge.base import Judge
    from telcotune.judge.factory import make_judge

    judge = make_judge("semantic", JudgesConfig(), [])
    assert isinstance(judge, SemanticJudge) and isinstance(judge, Judge)
    assert "semantic" in JudgesConfig().panel
