"""Continuous batching on the tiny model: replies decoded together (joining and leaving the
running batch at token boundaries, per adapter) equal lone ones; a client that leaves mid-stream
leaves the batch at the next token and frees its slot while the others go on; the 503 limit
holds under load."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from telcotune.serve.app import create_app
from telcotune.serve.engine import ChatEngine
from telcotune.serve.limits import ServeLimits
from telcotune.serve.server import ServerThread
from telcotune.serve.target import study_target

from .test_serve_api import assert_error
from .test_serve_study import build_study

LIMITS = ServeLimits(max_input_tokens=300, max_new_tokens=40, default_new_tokens=8, max_body_bytes=20_000,
                     concurrency=3, max_batch=3)
QUESTIONS = ["My router lights are red, what now?", "Wi-Fi calling drops at home.",
             "I was charged for roaming in France, why?", "Hello", "My mobile data says connected but no page loads."]
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def engine(tmp_path_factory, tiny_model_dir) -> ChatEngine:
    study = build_study(tmp_path_factory.mktemp("study"), tiny_model_dir)
    engine = ChatEngine.load(study_target(study.root, None), LIMITS)
    yield engine
    engine.close()


def ask(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def lone(engine, model, text, max_tokens):
    return engine.reply(engine.prepare(model, ask(text), max_tokens), lambda _: None)


def test_batched_greedy_replies_equal_lone_ones(engine):
    jobs = [("r4-a", QUESTIONS[0], 30), ("r4-a", QUESTIONS[1], 12), ("r4-a", QUESTIONS[2], 24),
            ("r4-b", QUESTIONS[3], 20), ("base", QUESTIONS[4], 16), ("r4-b", QUESTIONS[0], 26)]
    expected = [lone(engine, *job) for job in jobs]
    rows_seen: list[int] = []
    results: dict[int, object] = {}

    def slowly(piece: str) -> None:  # slows every step, so the later requests join a running batch
        rows_seen.append(engine.batcher.running)
        time.sleep(0.01)

    def run(i: int) -> None:
        model, text, max_tokens = jobs[i]
        results[i] = engine.reply(engine.prepare(model, ask(text), max_tokens), slowly)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
        time.sleep(0.05)
    for thread in threads:
        thread.join(60)
    assert max(rows_seen) == LIMITS.max_batch  # full batch (across adapters); the rest waited for room
    assert [results[i] for i in range(len(jobs))] == expected


@pytest.fixture(scope="module")
def server(engine):
    with ServerThread(create_app(engine)) as running:
        yield running


def stream_body(text: str, max_tokens: int) -> dict:
    return {"model": "r4-a", "messages": ask(text), "max_tokens": max_tokens, "stream": True,
            "stream_options": {"include_usage": True}}


def slow_engine(engine, monkeypatch, delay_s: float = 0.03):
    """Every text piece takes `delay_s`, so requests overlap in the batch."""
    reply = engine.reply

    def slow_reply(prepared, on_text, **options):
        return reply(prepared, lambda piece: (time.sleep(delay_s), on_text(piece)), **options)

    monkeypatch.setattr(engine, "reply", slow_reply)


def test_a_client_leaving_mid_stream_leaves_the_batch_and_frees_its_slot(server, engine, monkeypatch):
    expected = lone(engine, "r4-a", QUESTIONS[1], 30)
    slow_engine(engine, monkeypatch)
    staying: dict[str, str] = {}

    def stay() -> None:
        with httpx.stream("POST", f"{server.base_url}/v1/chat/completions", json=stream_body(QUESTIONS[1], 30),
                          timeout=60) as response:
            staying["raw"] = response.read().decode()

    other = threading.Thread(target=stay)
    other.start()
    with httpx.stream("POST", f"{server.base_url}/v1/chat/completions", json=stream_body(QUESTIONS[0], 40),
                      timeout=60) as response:
        lines = response.iter_lines()
        assert next(lines).startswith("data: ") and next(lines) == "" and next(lines).startswith("data: ")
    left_at = time.monotonic()
    health = lambda: httpx.get(f"{server.base_url}/health").json()  # noqa: E731
    while health()["free_slots"] < LIMITS.concurrency - 1 or engine.batcher.running > 1:
        assert time.monotonic() - left_at < 5, "the leaving request kept its row or its slot"
        time.sleep(0.02)
    other.join(60)
    pieces = _stream_text(staying["raw"])
    assert pieces == expected.text  # the request that stayed was not disturbed by the one that left


def _stream_text(raw: str) -> str:
    import json

    text = ""
    for event in raw.split("\n\n"):
        if event.startswith("data: {"):
            body = json.loads(event[len("data: "):])
            for choice in body.get("choices", []):
                text += choice["delta"].get("content") or ""
    return text


def test_503_limit_holds_under_load(server, engine, monkeypatch):
    slow_engine(engine, monkeypatch, delay_s=0.05)
    url = f"{server.base_url}/v1/chat/completions"
    statuses: list[int] = []

    def load(i: int) -> None:
        body = {"model": "r4-a", "messages": ask(QUESTIONS[i % len(QUESTIONS)]), "max_tokens": 20}
        statuses.append(httpx.post(url, json=body, timeout=60).status_code)

    threads = [threading.Thread(target=load, args=(i,)) for i in range(LIMITS.concurrency)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while httpx.get(f"{server.base_url}/health").json()["free_slots"] > 0:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    started = time.monotonic()
    assert_error(httpx.post(url, json={"model": "r4-a", "messages": ask("hi")}, timeout=30), 503, "server_busy")
    assert time.monotonic() - started < 2  # refused at once, not queued
    for thread in threads:
        thread.join(60)
    assert statuses == [200] * LIMITS.concurrency
    assert httpx.post(url, json={"model": "r4-a", "messages": ask("hi"), "max_tokens": 2}, timeout=60).status_code == 200


def test_a_request_cancelled_while_waiting_is_never_prefilled(engine):
    """Its client left before it joined the batch: it ends without a token (joining would have
    prefilled its prompt and picked one)."""
    stats = engine.reply(engine.prepare("r4-a", ask("Hello"), 30), lambda _: None, should_stop=lambda: True)
    assert stats.finish_reason == "cancelled" and stats.completion_tokens == 0 and stats.text == ""


def test_a_shared_prompt_prefix_is_reused_and_changes_nothing(engine):
    import os

    from telcotune.serve.batching import MIN_SHARED_TOKENS

    prompts = [engine.prepare("r4-b", ask(q), 12).prompt for q in QUESTIONS[2:4]]
    assert len(os.path.commonprefix(prompts)) >= MIN_SHARED_TOKENS  # template and system prompt
    engine.batcher._prefixes.clear()
    lone(engine, "r4-b", QUESTIONS[2], 12)
    reused = lone(engine, "r4-b", QUESTIONS[3], 12)  # its prefill starts after the shared prefix
    assert engine.batcher._prefixes["r4-b"][0] == prompts[1]
    engine.batcher._prefixes.clear()
    assert lone(engine, "r4-b", QUESTIONS[3], 12) == reused  # the whole prompt prefilled
