"""Probability-weighted judging (G-Eval): a fake OpenAI-compatible judge server returning
`top_logprobs` gives the expectation computed by hand; a server without logprobs falls back to
parsing the reply; the local judge scores from one forward pass; each judgment says its method."""

from __future__ import annotations

import json
import math

import pytest

from telcotune.config import ClientSettings
from telcotune.judge.base import JudgeContext, PairItem, PointwiseItem
from telcotune.judge.llm_judge import LLMJudge
from telcotune.judge.logprob import MIN_SCORE_MASS, NoScoreToken, expected_score, verdict_probabilities
from telcotune.llm.client import build_client

from .fake_openai import FakeOpenAIServer, Reply, chat_body, ok

CONTEXT = JudgeContext("p1", [{"role": "system", "content": "You help."},
                              {"role": "user", "content": "My data does not work."}], "Check the APN.",
                       {"term": "APN", "definition": "Gateway settings.", "resolution_steps": ["Check the APN"],
                        "escalate_when": "It still fails."}, None)


def lp(p: float) -> float:
    return math.log(p)


def logprob_reply(tokens: list[tuple[str, dict[str, float]]]) -> Reply:
    body = chat_body("".join(t for t, _ in tokens))
    body["choices"][0]["logprobs"] = {"content": [
        {"token": t, "logprob": top.get(t, -9.0),
         "top_logprobs": [{"token": k, "logprob": v} for k, v in top.items()]} for t, top in tokens]}
    return Reply(200, {}, body)


def pointwise_tokens(score_token: str, score_top: dict[str, float], after: dict[str, float] | None = None):
    """`{"overall": <score>, "rationale": "ok"}` as a server would tokenize it."""
    tokens = [('{"', {'{"': 0.0}), ("overall", {"overall": 0.0}), ('":', {'":': 0.0}), (" ", {" ": 0.0}),
              (score_token, score_top)]
    if after is not None:
        tokens.append(("0" if "0" in after and score_token == "1" else ",", after))
    tokens += [(', "', {', "': 0.0}), ("rationale", {"rationale": 0.0}), ('": "', {'": "': 0.0}),
               ("ok", {"ok": 0.0}), ('"}', {'"}': 0.0})]
    return tokens


def judge_with(server) -> LLMJudge:
    spec = f"openai:judge@{server.base_url}"
    return LLMJudge(spec, build_client(spec, ClientSettings(max_retries=0), use_cache=False))


def test_pointwise_score_is_the_expectation_over_score_tokens():
    top = {"7": lp(0.5), "8": lp(0.3), "1": lp(0.1), "the": lp(0.05)}
    with FakeOpenAIServer([logprob_reply(pointwise_tokens("7", top))]) as server:
        [judgment] = judge_with(server).pointwise([PointwiseItem(CONTEXT, "run-a", "Check the APN.")])
        sent = server.requests[0].json
    assert sent["logprobs"] is True and sent["top_logprobs"] == 20
    by_hand = (7 * 0.5 + 8 * 0.3 + 1 * 0.1) / (0.5 + 0.3 + 0.1)  # "1" chosen nowhere: it counts as 1
    assert judgment.status == "ok" and judgment.method == "logprob"
    assert judgment.overall == pytest.approx(by_hand, abs=1e-4)
    assert judgment.rationale == "ok"  # the rest of the reply is still read
    assert judgment.extra["score_distribution"]["mass"] == pytest.approx(0.9)


def test_a_one_that_goes_on_as_ten_counts_as_ten():
    top = {"1": lp(0.6), "9": lp(0.4)}
    after = {"0": lp(0.75), ",": lp(0.25)}
    with FakeOpenAIServer([logprob_reply(pointwise_tokens("1", top, after))]) as server:
        [judgment] = judge_with(server).pointwise([PointwiseItem(CONTEXT, "run-a", "Check the APN.")])
    by_hand = 10 * 0.6 * 0.75 + 1 * 0.6 * 0.25 + 9 * 0.4
    assert judgment.overall == pytest.approx(by_hand, abs=1e-4) and judgment.method == "logprob"


def test_a_server_without_logprobs_falls_back_to_text():
    reply = ok(json.dumps({"overall": 6, "accuracy": 5, "rationale": "fine"}))
    with FakeOpenAIServer([reply]) as server:
        [judgment] = judge_with(server).pointwise([PointwiseItem(CONTEXT, "run-a", "Check the APN.")])
    assert judgment.status == "ok" and judgment.method == "text"
    assert judgment.overall == 6 and judgment.scores == {"accuracy": 5} and judgment.rationale == "fine"


def test_pairwise_verdict_from_normalised_probabilities():
    tokens = [('{"', {}), ("verdict", {}), ('":', {}), (' "', {' "': 0.0}),
              ("B", {"B": lp(0.5), "A": lp(0.2), "tie": lp(0.1), "Both": lp(0.2)}), ('"}', {})]
    with FakeOpenAIServer([logprob_reply(tokens)]) as server:
        item = PairItem(CONTEXT, "run-a", "first", "run-b", "second", "ab")
        [judgment] = judge_with(server).pairwise([item])
    probabilities = judgment.extra["verdict_probabilities"]
    assert judgment.method == "logprob" and judgment.verdict == "B" and judgment.winner == "run-b"
    assert probabilities["p_b"] == pytest.approx(0.5 / 0.8) and probabilities["p_a"] == pytest.approx(0.2 / 0.8)
    assert probabilities["p_tie"] == pytest.approx(0.1 / 0.8)


def test_expected_score_edge_cases():
    assert expected_score({"10": lp(0.5), " 9": lp(0.5)}).score == pytest.approx(9.5)  # one-token "10"
    assert expected_score({"1": lp(1.0)}, after_one={",": lp(0.9), "5": lp(0.1)}).score == 1  # "15" is no score
    with pytest.raises(NoScoreToken, match="score tokens hold 30%"):
        expected_score({"7": lp(0.3), "I": lp(0.7)})
    with pytest.raises(NoScoreToken):
        verdict_probabilities({"Answer": lp(0.9), "A": lp(0.1)})


def test_a_reply_that_misses_the_score_position_is_parsed_as_text_or_unparseable():
    tokens = [("Seven", {"Seven": 0.0}), (" out", {" out": 0.0})]
    with FakeOpenAIServer([logprob_reply(tokens)]) as server:
        [judgment] = judge_with(server).pointwise([PointwiseItem(CONTEXT, "run-a", "x")])
    assert judgment.status == "unparseable" and judgment.method is None
    assert "no score where the prompt asked" in judgment.reason and judgment.raw == "Seven out"


@pytest.mark.usefixtures("one_torch_thread")
def test_local_judge_scores_from_one_forward_pass(tiny_model_dir, isolated_cache):
    spec = f"local:{tiny_model_dir}"
    judge = LLMJudge(spec, build_client(spec, ClientSettings()))
    items = [PointwiseItem(CONTEXT, f"run-{i}", f"Check the APN settings {i}.") for i in range(3)]
    judgments = judge.pointwise(items) + judge.pairwise([PairItem(CONTEXT, "run-0", "a", "run-1", "b", "ab")])
    # The tiny model is random: its score tokens hold almost none of the probability, so a reading
    # of the top tokens would find no score; read from the whole distribution, every judgment is
    # the choice among the valid answers, and the mass they held is kept.
    assert all(j.status == "ok" and j.method == "logprob" for j in judgments)
    scores = [j.extra["score_distribution"] for j in judgments[:3]]
    assert all(s["mass"] < MIN_SCORE_MASS and sum(s["distribution"].values()) == pytest.approx(1) for s in scores)
    assert all(1 <= j.overall <= 10 for j in judgments[:3]) and len({j.overall for j in judgments[:3]}) == 3
    verdict = judgments[3].extra["verdict_probabilities"]
    assert judgments[3].verdict in {"A", "B", "tie"}
    assert verdict["p_a"] + verdict["p_b"] + verdict["p_tie"] == pytest.approx(1)
    stats = judge.client.stats()
    assert stats["completion_tokens"] == 4  # one token per judgment: nothing was generated


def test_a_malformed_text_reply_is_asked_again_once(isolated_cache):
    replies = [ok("I think it is pretty good, maybe 7?"), ok(json.dumps({"overall": 7, "rationale": "fine"}))]
    with FakeOpenAIServer(replies) as server:
        spec = f"openai:judge@{server.base_url}"
        judge = LLMJudge(spec, build_client(spec, ClientSettings(max_retries=0)))  # cached: the first reply is not asked for twice
        [judgment] = judge.pointwise([PointwiseItem(CONTEXT, "run-a", "x")])
        assert server.calls == 2 and "not usable" in server.requests[1].json["messages"][-1]["content"]
    assert judgment.status == "ok" and judgment.method == "text" and judgment.overall == 7
