"""Token log-probabilities through the backends: the local backend's one forward pass matches a
plain full forward, the OpenAI-compatible backend reads `top_logprobs` (and asks again without
when a server refuses them), and the cache keeps them."""

from __future__ import annotations

import math

import pytest

from telcotune.generation import prompt_ids
from telcotune.llm.base import ChatRequest
from telcotune.llm.cache import CachedClient, ResponseCache
from telcotune.llm.local import LocalBackend
from telcotune.llm.openai_compat import OpenAICompatBackend
from telcotune.next_token import next_token_logprobs

from .fake_openai import FakeOpenAIServer, Reply, chat_body, error, ok

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CONVERSATIONS = [
    [{"role": "system", "content": "Judge the answer."}, {"role": "user", "content": "Check the APN settings."}],
    [{"role": "system", "content": "Judge the answer."}, {"role": "user", "content": "Reset the router and check the cable."}],
    [{"role": "system", "content": "Judge the answer."}, {"role": "user", "content": "Roaming charges apply."}],
    [{"role": "system", "content": "Judge the answer."}, {"role": "user", "content": "Check the APN settings and restart."}],
]
"""The first and last share a long prefix: the walk through the cache reuses it."""


def reference_distribution(model, tokenizer, ids: list[int], top_k: int) -> dict[str, float]:
    """Token text -> log-probability after `ids`, from one plain forward over the whole sequence."""
    import torch

    with torch.inference_mode():
        logits = model(input_ids=torch.tensor([ids])).logits[0, -1]
    values, indices = torch.log_softmax(logits, dim=-1).topk(top_k)
    return {tokenizer.decode([i]): v for i, v in zip(indices.tolist(), values.tolist())}


@pytest.mark.parametrize("batch_size", [1, 2, 3])
def test_one_forward_pass_matches_a_full_forward(tiny_model_dir, batch_size):
    """Also with a prompt alone in its batch (its whole prompt but the last token is "shared")."""
    from telcotune.models import load_model, load_tokenizer

    model, tokenizer = load_model(tiny_model_dir), load_tokenizer(tiny_model_dir)
    prefill, probe = '{"overall": ', "1"
    results = next_token_logprobs(model, tokenizer, CONVERSATIONS, top_k=5, prefills=[prefill] * 4,
                                  probes=[probe, None, probe, None], batch_size=batch_size)
    probe_ids = tokenizer(probe, add_special_tokens=False)["input_ids"]
    for conversation, result, probed in zip(CONVERSATIONS, results, (True, False, True, False)):
        ids = prompt_ids(tokenizer, conversation, prefill)
        want = reference_distribution(model, tokenizer, ids, 5)
        assert set(result.top) == set(want)
        for token, value in want.items():
            assert result.top[token] == pytest.approx(value, abs=1e-4)
        assert result.logprob == pytest.approx(max(want.values()), abs=1e-4)
        assert result.prompt_tokens == len(ids)
        if probed:
            after = reference_distribution(model, tokenizer, ids + probe_ids, 5)
            assert len(result.after_probe) == len(probe_ids)
            assert result.after_probe[-1] == pytest.approx(after, abs=1e-4)
        else:
            assert result.after_probe == ()


def test_choices_get_their_probability_from_the_whole_distribution(tiny_model_dir):
    """A choice far outside the top tokens still gets its exact log-probability; a choice that is
    not one token is left out rather than read from its first token."""
    import torch

    from telcotune.models import load_model, load_tokenizer

    model, tokenizer = load_model(tiny_model_dir), load_tokenizer(tiny_model_dir)
    prefill, choices = '{"verdict": "', ("A", "B", "tie", "A or B")
    [result] = next_token_logprobs(model, tokenizer, CONVERSATIONS[:1], top_k=2, prefills=[prefill],
                                   choices=[choices])
    ids = prompt_ids(tokenizer, CONVERSATIONS[0], prefill)
    with torch.inference_mode():
        logprobs = torch.log_softmax(model(input_ids=torch.tensor([ids])).logits[0, -1], dim=-1)
    one_token = {c: tokenizer(c, add_special_tokens=False)["input_ids"] for c in choices}
    want = {c: logprobs[i[0]].item() for c, i in one_token.items() if len(i) == 1}
    assert "A or B" not in want and set(result.choices) == set(want)
    assert result.choices == pytest.approx(want, abs=1e-4)
    assert not set(want) <= set(result.top)  # some choice lies outside the top 2 here


def test_local_backend_scores_without_generating_and_the_cache_keeps_it(tiny_model_dir, tmp_path):
    backend = LocalBackend(str(tiny_model_dir))
    client = CachedClient(backend, ResponseCache(tmp_path / "cache"))
    request = ChatRequest(messages=tuple(CONVERSATIONS[0]), temperature=0.0, max_tokens=1, top_logprobs=4,
                          prefill='{"overall": ', logprob_probe="1")
    plain = ChatRequest(messages=tuple(CONVERSATIONS[1]), temperature=0.0, max_tokens=3)
    scored, generated = client.complete_many([request, plain])
    assert scored.text.startswith('{"overall": ') and scored.usage.completion_tokens == 1
    position = scored.top_logprobs[0]
    assert len(position.top) == 4 and position.token in position.top
    assert scored.text == '{"overall": ' + position.token
    assert math.isclose(sum(math.exp(v) for v in position.top.values()) <= 1.0 + 1e-6, True)
    assert scored.probe_logprobs is not None and len(scored.probe_logprobs[0]) == 4
    assert generated.top_logprobs is None and generated.probe_logprobs is None
    again = client.complete(request)
    assert again.cached and again.top_logprobs == scored.top_logprobs
    assert again.probe_logprobs == scored.probe_logprobs
    # asking for log-probabilities is part of the cache key
    assert client.key(request) != client.key(ChatRequest(messages=request.messages, temperature=0.0, max_tokens=1,
                                                         prefill=request.prefill))


def logprob_body(tokens: list[tuple[str, dict[str, float]]]) -> dict:
    body = chat_body("".join(t for t, _ in tokens))
    body["choices"][0]["logprobs"] = {"content": [
        {"token": t, "logprob": top.get(t, -5.0), "bytes": None,
         "top_logprobs": [{"token": k, "logprob": v, "bytes": None} for k, v in top.items()]}
        for t, top in tokens]}
    return body


def test_openai_compatible_backend_reads_top_logprobs():
    tokens = [('{"', {'{"': 0.0}), ("overall", {"overall": 0.0}), ('":', {'":': 0.0}),
              (" 7", {" 7": math.log(0.6), " 8": math.log(0.4)}), ("}", {"}": 0.0})]
    with FakeOpenAIServer([Reply(200, {}, logprob_body(tokens))]) as server:
        backend = OpenAICompatBackend("m", server.base_url, timeout_s=10, concurrency=1)
        completion = backend.complete(ChatRequest(messages=({"role": "user", "content": "hi"},), top_logprobs=5))
        sent = server.requests[0].json
    assert sent["logprobs"] is True and sent["top_logprobs"] == 5
    assert completion.text == '{"overall": 7}'
    assert [p.token for p in completion.top_logprobs] == [t for t, _ in tokens]
    assert completion.top_logprobs[3].top == {" 7": pytest.approx(math.log(0.6)), " 8": pytest.approx(math.log(0.4))}


def test_a_server_without_logprobs_gives_none_and_one_that_refuses_them_is_asked_again():
    with FakeOpenAIServer([ok('{"overall": 7}')]) as server:
        completion = OpenAICompatBackend("m", server.base_url, timeout_s=10, concurrency=1).complete(
            ChatRequest(messages=({"role": "user", "content": "hi"},), top_logprobs=5))
    assert completion.top_logprobs is None and completion.text == '{"overall": 7}'

    def refuses(body, index):
        if "logprobs" in body:
            return error(400, "logprobs is not supported with this model")
        return ok('{"overall": 6}')

    with FakeOpenAIServer(refuses) as server:
        backend = OpenAICompatBackend("m", server.base_url, timeout_s=10, concurrency=1)
        request = ChatRequest(messages=({"role": "user", "content": "hi"},), top_logprobs=5)
        first, second = backend.complete(request), backend.complete(request)
        assert first.text == second.text == '{"overall": 6}' and first.top_logprobs is None
        assert server.calls == 3  # refused once, then never asked for logprobs again
        assert backend.logprobs_refused
