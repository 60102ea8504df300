"""The HTTP server on the tiny model with two adapters, on a free 127.0.0.1 port: the official
`openai` client gets a completion and a streamed one; raw SSE framing; every refusal in OpenAI's
error format (401, 404, 413, 422, 503); parallel requests to different adapters; a client that
leaves mid-stream stops its generation and gives its slot back."""

from __future__ import annotations

import json
import threading
import time

import httpx
import openai
import pytest

from telcotune.serve.app import LOOPBACK_HOSTS, create_app
from telcotune.serve.engine import ChatEngine
from telcotune.serve.limits import ServeLimits
from telcotune.serve.server import ServerThread
from telcotune.serve.target import study_target

from .test_serve_study import build_study

KEY = "test-key-123"
LIMITS = ServeLimits(max_input_tokens=300, max_new_tokens=32, default_new_tokens=8, max_body_bytes=20_000,
                     concurrency=2)
ASK = [{"role": "user", "content": "My router lights are red, what now?"}]


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
def keyed_server(engine):
    with ServerThread(create_app(engine, api_key=KEY, allowed_hosts=LOOPBACK_HOSTS)) as running:
        yield running


def direct_reply(engine, model, messages, max_tokens):
    return engine.reply(engine.prepare(model, messages, max_tokens), lambda _: None)


def assert_error(response: httpx.Response, status: int, code: str | None, match: str = "") -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) >= {"message", "type", "code"} and error["code"] == code
    assert match in error["message"], error["message"]
    return error


def test_openai_client_completion_and_stream(server, engine):
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="unused", max_retries=0, timeout=60)
    assert [m.id for m in client.models.list()] == ["r4-a", "r4-b", "base"]  # the default first

    reply = client.chat.completions.create(model="r4-b", messages=ASK, max_tokens=10, temperature=0)
    expected = direct_reply(engine, "r4-b", ASK, 10)
    assert reply.choices[0].message.content == expected.text and reply.model == "r4-b"
    assert reply.choices[0].finish_reason in ("stop", "length")
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (expected.prompt_tokens,
                                                                          expected.completion_tokens)

    stream = client.chat.completions.create(model="r4-b", messages=ASK, max_completion_tokens=10, stream=True,
                                            stream_options={"include_usage": True})
    chunks = list(stream)
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert "".join(pieces) == expected.text and len(pieces) > 1  # really streamed, piece by piece
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] in ("stop", "length")
    assert chunks[-1].usage.completion_tokens == expected.completion_tokens
    # the base model is one of the models; temperature > 0 samples (a seed makes it repeatable)
    base = client.chat.completions.create(model="base", messages=ASK, max_tokens=4)
    assert base.choices[0].message.content == direct_reply(engine, "base", ASK, 4).text
    sampled = [client.chat.completions.create(model="r4-a", messages=ASK, max_tokens=6, temperature=1.5, seed=7)
               .choices[0].message.content for _ in range(2)]
    assert sampled[0] == sampled[1]


def test_sse_framing(server):
    body = {"model": "r4-a", "messages": ASK, "max_tokens": 4, "stream": True}
    with httpx.stream("POST", f"{server.base_url}/v1/chat/completions", json=body, timeout=60) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = response.read().decode()
    events = raw.split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""] and all(e.startswith("data: ") for e in events[:-1])
    first = json.loads(events[0][len("data: "):])
    assert first["object"] == "chat.completion.chunk" and first["choices"][0]["delta"]["role"] == "assistant"


def test_refusals_in_openai_format(server):
    url = f"{server.base_url}/v1/chat/completions"
    post = lambda body, **kw: httpx.post(url, json=body, timeout=30, **kw)  # noqa: E731
    assert_error(post({"model": "r9", "messages": ASK}), 404, "model_not_found", "r4-a, r4-b, base")
    assert_error(post({"model": "r4-a", "messages": ASK, "max_tokens": 10_000}), 422, "max_tokens_too_large",
                 "at most 32")
    too_long = [{"role": "user", "content": "router " * 400}]
    assert_error(post({"model": "r4-a", "messages": too_long}), 413, "context_length_exceeded", "at most 300")
    huge = [{"role": "user", "content": "x" * 30_000}]
    assert_error(post({"model": "r4-a", "messages": huge}), 413, "request_too_large")
    chunked = (json.dumps({"model": "r4-a", "messages": huge})[i:i + 4096].encode() for i in range(0, 40_000, 4096))
    assert_error(httpx.post(url, content=chunked, headers={"Content-Type": "application/json"}), 413,
                 "request_too_large")  # no Content-Length: counted as it arrives
    assert_error(post({"model": "r4-a"}), 422, "invalid_request", "messages")
    assert_error(post({"model": "r4-a", "messages": [{"role": "tool", "content": "x"}]}), 422, "invalid_request")
    assert_error(post({"model": "r4-a", "messages": [*ASK, {"role": "assistant", "content": "hi"}]}), 422,
                 "invalid_request", "last message must come from the user")
    assert_error(post({"model": "r4-a", "messages": ASK, "n": 2}), 422, "unsupported_parameter")
    assert_error(post({"model": "r4-a", "messages": ASK, "temperature": 5}), 422, "invalid_request", "temperature")
    assert_error(httpx.get(f"{server.base_url}/v1/nothing"), 404, "not_found")
    with pytest.raises(openai.NotFoundError, match="not served"):
        openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="x", max_retries=0).chat.completions.create(
            model="r9", messages=ASK)


def test_api_key_required_on_v1_only(keyed_server):
    url = keyed_server.base_url
    body = {"model": "r4-a", "messages": ASK, "max_tokens": 2}
    assert_error(httpx.post(f"{url}/v1/chat/completions", json=body), 401, "invalid_api_key")
    assert_error(httpx.get(f"{url}/v1/models", headers={"Authorization": "Bearer wrong"}), 401, "invalid_api_key")
    assert_error(httpx.get(f"{url}/v1/models", headers={"Authorization": KEY}), 401, "invalid_api_key")
    ok = httpx.post(f"{url}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {KEY}"}, timeout=60)
    assert ok.status_code == 200 and ok.json()["usage"]["completion_tokens"] <= 2
    assert httpx.get(f"{url}/health").json()["auth_required"] is True
    page = httpx.get(f"{url}/")
    assert page.status_code == 200 and "telcotune" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert httpx.get(f"{url}/static/chat.js").status_code == 200
    # a page on another domain that re-resolves to 127.0.0.1 (DNS rebinding) is refused
    assert_error(httpx.get(f"{url}/health", headers={"Host": "evil.example"}), 400, "invalid_host")
    assert_error(httpx.post(f"{url}/v1/chat/completions", headers={"Host": "evil.example:80"}, json=body), 400,
                 "invalid_host")
    assert httpx.get(f"http://localhost:{keyed_server.port}/health").status_code == 200


def test_full_server_answers_503_at_once(server):
    slots = server.server.config.app.state.slots
    held = [slots.try_acquire() for _ in range(slots.size)]
    try:
        started = time.monotonic()
        response = httpx.post(f"{server.base_url}/v1/chat/completions", json={"model": "r4-a", "messages": ASK},
                              timeout=30)
        assert_error(response, 503, "server_busy", "busy")
        assert time.monotonic() - started < 5  # refused, not queued
        assert httpx.get(f"{server.base_url}/health").json()["free_slots"] == 0
    finally:
        for slot in held:
            slot.release()
    response = httpx.post(f"{server.base_url}/v1/chat/completions",
                          json={"model": "r4-a", "messages": ASK, "max_tokens": 2}, timeout=60)
    assert response.status_code == 200


def test_parallel_requests_to_different_adapters(server, engine):
    """Two requests at once (the semaphore admits both; the model lock runs them in turn):
    each answers as its own adapter."""
    results: dict[str, str] = {}

    def ask(model: str) -> None:
        response = httpx.post(f"{server.base_url}/v1/chat/completions",
                              json={"model": model, "messages": ASK, "max_tokens": 8}, timeout=60)
        results[model] = response.json()["choices"][0]["message"]["content"]

    threads = [threading.Thread(target=ask, args=(m,)) for m in ("r4-a", "r4-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == {m: direct_reply(engine, m, ASK, 8).text for m in ("r4-a", "r4-b")}


def slow_replies(engine, monkeypatch) -> list:
    """Make the engine take 50 ms a token (the client leaves long before the end); the list
    receives each reply's stats when its generation ends."""
    finished = []
    reply = engine.reply

    def slow_reply(prepared, on_text, **options):
        stats = reply(prepared, lambda piece: (time.sleep(0.05), on_text(piece)), **options)
        finished.append(stats)
        return stats

    monkeypatch.setattr(engine, "reply", slow_reply)
    return finished


def test_client_leaving_mid_stream_stops_generation_and_frees_its_slot(server, engine, monkeypatch):
    finished = slow_replies(engine, monkeypatch)
    body = {"model": "r4-a", "messages": ASK, "max_tokens": 32, "stream": True}
    with httpx.stream("POST", f"{server.base_url}/v1/chat/completions", json=body, timeout=60) as response:
        lines = response.iter_lines()
        assert next(lines).startswith("data: ") and next(lines) == "" and next(lines).startswith("data: ")
    deadline = time.monotonic() + 30
    while not finished or httpx.get(f"{server.base_url}/health").json()["free_slots"] < LIMITS.concurrency:
        assert time.monotonic() < deadline, "the generation never stopped or its slot was never given back"
        time.sleep(0.05)
    assert finished[0].finish_reason == "cancelled" and finished[0].completion_tokens < 32


def test_auth_is_checked_before_the_body_is_parsed(keyed_server):
    url = f"{keyed_server.base_url}/v1/chat/completions"
    malformed = {"Content-Type": "application/json"}
    assert_error(httpx.post(url, content=b"{not json", headers=malformed), 401, "invalid_api_key")
    keyed = {**malformed, "Authorization": f"Bearer {KEY}"}
    assert_error(httpx.post(url, content=b"{not json", headers=keyed), 422, "invalid_request")


@pytest.mark.parametrize("seed", [2**64, 2**63, -(2**63) - 1])
def test_a_seed_outside_64_bits_is_refused(server, seed):
    body = {"model": "r4-a", "messages": ASK, "max_tokens": 2, "temperature": 1, "seed": seed}
    error = assert_error(httpx.post(f"{server.base_url}/v1/chat/completions", json=body, timeout=30), 422,
                         "invalid_request", "seed")
    assert error["param"] == "seed"


def test_non_streaming_client_leaving_stops_generation_and_frees_its_slot(server, engine, monkeypatch):
    finished = slow_replies(engine, monkeypatch)
    body = {"model": "r4-a", "messages": ASK, "max_tokens": 32}
    with pytest.raises(httpx.ReadTimeout):  # the client gives up and closes the connection
        httpx.post(f"{server.base_url}/v1/chat/completions", json=body, timeout=httpx.Timeout(10, read=0.3))
    deadline = time.monotonic() + 30
    while not finished or httpx.get(f"{server.base_url}/health").json()["free_slots"] < LIMITS.concurrency:
        assert time.monotonic() < deadline, "the generation never stopped or its slot was never given back"
        time.sleep(0.05)
    assert finished[0].finish_reason == "cancelled" and finished[0].completion_tokens < 32
