"""Decoding options of the server on the tiny model, against the real server on 127.0.0.1:
`stop` through the official `openai` client (streamed and not), `top_p`, `n`, `response_format`,
the penalties (the defaults break a greedy loop; per-request overrides), the study config's
`decoding` section, and `/metrics` scraped and parsed as Prometheus text."""

from __future__ import annotations

import re

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from telcotune.artifacts.io import write_record
from telcotune.config import DecodingConfig, ExperimentConfig
from telcotune.serve.app import create_app
from telcotune.decoding import PLAIN_GREEDY, adjust_scores, banned_tokens, pick_token
from telcotune.serve.engine import ChatEngine
from telcotune.serve.limits import ServeLimits
from telcotune.serve.server import ServerThread
from telcotune.serve.streaming import ReplyText
from telcotune.serve.target import study_target

from .test_serve_api import ASK, assert_error
from .test_serve_study import build_study

LIMITS = ServeLimits(max_input_tokens=300, max_new_tokens=32, default_new_tokens=8, max_body_bytes=20_000,
                     concurrency=2, max_batch=2)
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def engine(tmp_path_factory, tiny_model_dir) -> ChatEngine:
    study = build_study(tmp_path_factory.mktemp("study"), tiny_model_dir)
    return ChatEngine.load(study_target(study.root, None), LIMITS)


@pytest.fixture(scope="module")
def server(engine):
    with ServerThread(create_app(engine)) as running:
        yield running


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="unused", max_retries=0, timeout=60)


def reply_text(engine, model="r4-a", max_tokens=24, **options) -> str:
    return engine.reply(engine.prepare(model, ASK, max_tokens), lambda _: None, **options).text


def test_openai_client_stop_strings(client, engine):
    full = reply_text(engine)
    stop = full[6:9]
    assert len(full) > 12 and stop
    cut = full[:full.index(stop)]
    reply = client.chat.completions.create(model="r4-a", messages=ASK, max_tokens=24, stop=[stop, "never-said"])
    assert reply.choices[0].message.content == cut and reply.choices[0].finish_reason == "stop"
    stream = client.chat.completions.create(model="r4-a", messages=ASK, max_tokens=24, stop=stop, stream=True,
                                            stream_options={"include_usage": True})
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == cut  # nothing taken back
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage.completion_tokens < 24 and not chunks[-1].choices
    with pytest.raises(openai.UnprocessableEntityError, match="at most 4 stop strings"):
        client.chat.completions.create(model="r4-a", messages=ASK, stop=list("abcde"))


def test_stop_text_is_held_back_until_it_cannot_be_a_stop(engine):
    text = ReplyText(engine.tokenizer, ("thank", "you"))
    ids = engine.tokenizer("Hello, thank you", add_special_tokens=False)["input_ids"]
    handed = ""
    for token in ids:
        handed += text.feed(token)
        assert "t" not in handed  # a "t" may begin "thank": it waits, and is never handed out
    assert handed == "Hello, " and text.text == "Hello, " and text.stopped
    plain = ReplyText(engine.tokenizer, ("xyz",))
    assert "".join(plain.feed(t) for t in ids) + plain.flush() == "Hello, thank you" and not plain.stopped


def test_top_p_n_and_response_format(server, client, engine):
    greedy = reply_text(engine, max_tokens=10)
    # top_p this small keeps only the most likely token: sampling then equals greedy decoding
    nucleus = client.chat.completions.create(model="r4-a", messages=ASK, max_tokens=10, temperature=1.5,
                                             top_p=1e-6, seed=3)
    assert nucleus.choices[0].message.content == greedy
    url = f"{server.base_url}/v1/chat/completions"
    one = httpx.post(url, json={"model": "r4-a", "messages": ASK, "max_tokens": 3, "n": 1}, timeout=60)
    assert one.status_code == 200
    assert_error(httpx.post(url, json={"model": "r4-a", "messages": ASK, "n": 3}), 422, "unsupported_parameter")
    assert_error(httpx.post(url, json={"model": "r4-a", "messages": ASK, "response_format": {"type": "json_object"}}),
                 422, "unsupported_parameter", "cannot guarantee JSON")
    plain = httpx.post(url, json={"model": "r4-a", "messages": ASK, "max_tokens": 3,
                                  "response_format": {"type": "text"}}, timeout=60)
    assert plain.status_code == 200
    error = assert_error(httpx.post(url, json={"model": "r4-a", "messages": ASK, "top_p": 0}), 422,
                         "invalid_request", "top_p")
    assert error["param"] == "top_p"


def _longest_loop(text: str) -> int:
    """The most times one piece of 3+ characters repeats back to back."""
    runs = [len(m.group(0)) // len(m.group(1)) for m in re.finditer(r"(.{3,}?)\1+", text, flags=re.S)]
    return max(runs, default=1)


def test_repetition_penalty_breaks_a_greedy_loop(engine):
    looping = reply_text(engine, decoding=PLAIN_GREEDY)
    assert _longest_loop(looping) >= 8, looping  # the random tiny model loops when decoded greedily
    penalised = reply_text(engine)  # the default decoding: repetition penalty and no repeated 4-grams
    assert penalised != looping and _longest_loop(penalised) <= 4, penalised
    only_penalty = reply_text(engine, decoding=PLAIN_GREEDY.model_copy(update={"repetition_penalty": 2.0}))
    assert only_penalty != looping


def test_penalties_per_request(server, engine):
    url = f"{server.base_url}/v1/chat/completions"
    answer = lambda **kw: httpx.post(url, json={"model": "r4-a", "messages": ASK, "max_tokens": 16, **kw},  # noqa: E731
                                     timeout=60).json()["choices"][0]["message"]["content"]
    default = answer()
    assert default == reply_text(engine, max_tokens=16)
    assert answer(frequency_penalty=2.0) != default or answer(presence_penalty=2.0) != default
    assert answer(repetition_penalty=1.0) == reply_text(
        engine, max_tokens=16, decoding=engine.decoding.model_copy(update={"repetition_penalty": 1.0}))
    assert_error(httpx.post(url, json={"model": "r4-a", "messages": ASK, "repetition_penalty": 9}), 422,
                 "invalid_request", "repetition_penalty")


def test_penalty_arithmetic():
    import torch

    scores = torch.tensor([2.0, -2.0, 1.0, 0.5])
    settings = DecodingConfig(repetition_penalty=2.0, frequency_penalty=0.5, presence_penalty=0.25,
                              no_repeat_ngram=0)
    out = adjust_scores(scores.clone(), [0, 1, 0], settings)
    assert out.tolist() == [2.0 / 2 - 0.5 * 2 - 0.25, -2.0 * 2 - 0.5 - 0.25, 1.0, 0.5]
    assert banned_tokens([5, 6, 7, 5, 6], 3) == {7} and banned_tokens([5, 6], 3) == set()
    assert pick_token(torch.tensor([0.0, 3.0, 3.0]), DecodingConfig(), None) == 1


def test_study_config_sets_the_decoding_defaults(tmp_path, tiny_model_dir):
    study = build_study(tmp_path / "s", tiny_model_dir)
    config = ExperimentConfig(model={"spec": str(tiny_model_dir)}, decoding={"repetition_penalty": 1.3,
                                                                             "no_repeat_ngram": 0})
    write_record(study.resolved_config, config)
    assert study_target(study.root, None).decoding == config.decoding
    assert DecodingConfig().repetition_penalty > 1  # one source of the defaults, and they penalise


def test_metrics_in_prometheus_format(server):
    def scrape() -> dict[tuple[str, tuple], float]:
        response = httpx.get(f"{server.base_url}/metrics")
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(response.text) for s in family.samples}

    before = scrape()
    url = f"{server.base_url}/v1/chat/completions"
    ok = httpx.post(url, json={"model": "r4-a", "messages": ASK, "max_tokens": 5}, timeout=60).json()
    httpx.post(url, json={"model": "nope", "messages": ASK}, timeout=60)
    slots = server.server.config.app.state.slots
    held = [slots.try_acquire() for _ in range(slots.size)]
    try:
        assert httpx.post(url, json={"model": "r4-a", "messages": ASK}, timeout=60).status_code == 503
    finally:
        for slot in held:
            slot.release()
    after = scrape()
    delta = lambda name, **labels: (after.get((name, tuple(sorted(labels.items()))), 0)  # noqa: E731
                                    - before.get((name, tuple(sorted(labels.items()))), 0))
    assert delta("telcotune_requests_total", status="200") == 1
    assert delta("telcotune_requests_total", status="404") == 1
    assert delta("telcotune_requests_total", status="503") == 1
    assert delta("telcotune_rejected_requests_total") == 1
    assert delta("telcotune_completion_tokens_total") == ok["usage"]["completion_tokens"]
    assert delta("telcotune_prompt_tokens_total") == ok["usage"]["prompt_tokens"]
    assert delta("telcotune_request_duration_seconds_count") == 1
    assert delta("telcotune_request_duration_seconds_bucket", le="+Inf") == 1
    assert delta("telcotune_time_to_first_token_seconds_count") <= 1
    assert ("telcotune_batch_rows", ()) in after
