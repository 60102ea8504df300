"""The OpenAI-compatible backend, retries, cache and metering against a real local HTTP server."""

import pytest

from telcotune.config import ClientSettings
from telcotune.llm.base import ChatRequest, PermanentLLMError, TransientLLMError
from telcotune.llm.client import build_client
from telcotune.llm.openai_compat import OpenAICompatBackend
from telcotune.llm.replies import OpenAIUsage
from telcotune.llm.retry import RetryingClient
from tests.fake_openai import FakeOpenAIServer, error, ok

SECRET = "sk-test-9f3c2a7e-unique-secret-do-not-leak"


def ask(text: str, **kw) -> ChatRequest:
    return ChatRequest(messages=({"role": "system", "content": "You are support."},
                                 {"role": "user", "content": text}), **kw)


class Sleeps(list):
    """An injected `sleep` that records delays instead of waiting."""

    def __call__(self, delay_s: float) -> None:
        self.append(delay_s)


@pytest.fixture()
def no_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def client_for(server, tmp_path, *, base_delay_s=1.0, use_cache=True, **settings):
    """A client of the fake server whose waits are recorded (`client.retry.sleep`), not slept."""
    return build_client(f"openai:test-model@{server.base_url}", ClientSettings(**settings),
                        cache_dir=tmp_path / "llm", use_cache=use_cache, sleep=Sleeps(), base_delay_s=base_delay_s)


def openai_backend(model: str, base_url: str | None = None) -> OpenAICompatBackend:
    return OpenAICompatBackend(model, base_url, timeout_s=5.0, concurrency=1)


def test_success_maps_request_and_usage(no_key):
    with FakeOpenAIServer([ok("Restart the router.", prompt_tokens=21, completion_tokens=4)]) as server:
        backend = openai_backend("test-model", server.base_url)
        completion = backend.complete(ask("No internet", temperature=0.2, max_tokens=50, json_mode=True, seed=7))
    assert completion.text == "Restart the router."
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (21, 4)
    assert completion.usage.cost_usd is None  # custom server: no known price
    assert (completion.backend, completion.model, completion.cached) == ("openai", "test-model", False)
    sent = server.requests[0]
    assert sent.path == "/v1/chat/completions" and "authorization" not in sent.headers
    assert sent.json == {
        "model": "test-model", "temperature": 0.2, "max_tokens": 50, "seed": 7,
        "response_format": {"type": "json_object"},
        "messages": [{"role": "system", "content": "You are support."}, {"role": "user", "content": "No internet"}],
    }


def test_official_openai_requires_key_and_names_the_variable(no_key):
    with pytest.raises(PermanentLLMError, match="OPENAI_API_KEY"):
        openai_backend("gpt-4o-mini").complete(ask("hi"))


def test_known_model_is_priced(monkeypatch):
    backend = openai_backend("gpt-4o-mini-2024-07-18")
    assert backend._usage(OpenAIUsage(prompt_tokens=1_000_000, completion_tokens=1_000_000)).cost_usd == pytest.approx(0.75)
    assert openai_backend("gpt-4o-audio-preview")._usage(OpenAIUsage(prompt_tokens=5)).cost_usd is None


def test_429_then_success_waits_retry_after(no_key, tmp_path):
    with FakeOpenAIServer([error(429, "slow down", {"Retry-After": "7"}), ok("fine")]) as server:
        client = client_for(server, tmp_path)
        assert client.complete(ask("hi")).text == "fine"
    assert client.retry.sleep == [7.0] and server.calls == 2
    assert client.stats()["retries"] == 1


def test_500_then_success_backs_off_with_jitter(no_key, tmp_path):
    with FakeOpenAIServer([error(500), error(503), ok("fine")]) as server:
        client = client_for(server, tmp_path, base_delay_s=0.5)
        assert client.complete(ask("hi")).text == "fine"
    first, second = client.retry.sleep
    assert 0 <= first <= 0.5 and 0 <= second <= 1.0 and server.calls == 3


def test_slow_reply_times_out_and_is_retried(no_key, tmp_path):
    with FakeOpenAIServer([ok("late", delay_s=5.0), ok("on time")]) as server:
        client = client_for(server, tmp_path, timeout_s=0.3)
        assert client.complete(ask("hi")).text == "on time"
    assert server.calls == 2 and client.stats()["retries"] == 1


def test_gives_up_after_max_retries_with_last_transient_error(no_key, tmp_path):
    with FakeOpenAIServer([error(502, "bad gateway")]) as server:
        client = client_for(server, tmp_path, max_retries=2)
        with pytest.raises(TransientLLMError, match="HTTP 502") as info:
            client.complete(ask("hi"))
    assert info.value.status == 502 and server.calls == 3


def test_401_is_permanent_not_retried_and_hides_the_key(monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    # A server that echoes the credential back in its error message.
    responder = lambda body, i: error(401, f"Incorrect API key provided: {SECRET}")  # noqa: E731
    with FakeOpenAIServer(responder) as server:
        client = client_for(server, tmp_path)
        with pytest.raises(PermanentLLMError) as info:
            client.complete(ask("hi"))
    assert server.calls == 1 and client.retry.sleep == []
    assert info.value.status == 401 and "HTTP 401" in str(info.value)
    assert SECRET not in str(info.value) and SECRET not in repr(client.raw)


def test_key_is_sent_but_never_written_to_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with FakeOpenAIServer() as server:
        client = client_for(server, tmp_path)
        client.complete_many([ask("one"), ask("two")])
    assert server.requests[0].headers["authorization"] == f"Bearer {SECRET}"
    files = list((tmp_path / "llm").rglob("*"))
    assert sum(f.is_file() for f in files) == 2
    for f in files:
        assert SECRET not in f.name and (f.is_dir() or SECRET not in f.read_text())


def test_second_identical_run_makes_zero_http_calls(no_key, tmp_path):
    requests = [ask(f"question {i}") for i in range(5)]
    with FakeOpenAIServer() as server:
        first = client_for(server, tmp_path).complete_many(requests)
        assert server.calls == 5
        rerun = client_for(server, tmp_path)
        second = rerun.complete_many(requests)
        assert server.calls == 5
    assert [c.text for c in second] == [c.text for c in first] == [f"echo: question {i}" for i in range(5)]
    assert all(c.cached for c in second) and not any(c.cached for c in first)
    stats = rerun.stats()
    assert (stats["cache_hits"], stats["cache_misses"], stats["prompt_tokens"]) == (5, 0, 0)


def test_cache_key_includes_attempt_and_server(no_key, tmp_path):
    with FakeOpenAIServer() as server, FakeOpenAIServer() as other:
        client_for(server, tmp_path).complete(ask("q"))
        client_for(server, tmp_path).complete(ask("q", attempt=1))
        client_for(other, tmp_path).complete(ask("q"))
    assert (server.calls, other.calls) == (2, 1)


def test_complete_many_sends_only_misses_and_duplicates_once(no_key, tmp_path):
    with FakeOpenAIServer() as server:
        client_for(server, tmp_path).complete(ask("a"))
        results = client_for(server, tmp_path).complete_many([ask("a"), ask("b"), ask("b")])
    assert [r.text for r in results] == ["echo: a", "echo: b", "echo: b"]
    assert server.calls == 2 and [r.json["messages"][-1]["content"] for r in server.requests] == ["a", "b"]


def test_errors_come_back_in_place_and_are_not_cached(no_key, tmp_path):
    def responder(body, i):
        return error(400, "bad request") if "bad" in body["messages"][-1]["content"] else ok("good")

    with FakeOpenAIServer(responder) as server:
        client = client_for(server, tmp_path)
        results = client.complete_many([ask("fine"), ask("bad one"), ask("fine too")])
        assert isinstance(results[1], PermanentLLMError) and results[0].text == results[2].text == "good"
        client.complete_many([ask("bad one")])
    assert server.calls == 4 and client.stats()["errors"] == 2


def test_concurrency_bound_is_respected(no_key, tmp_path):
    with FakeOpenAIServer(lambda body, i: ok("x", delay_s=0.15)) as server:
        client = client_for(server, tmp_path, concurrency=3)
        results = client.complete_many([ask(f"q{i}") for i in range(9)])
    assert len(results) == 9 and server.calls == 9
    assert 2 <= server.max_in_flight <= 3  # really concurrent, never above the bound


def test_stats_sum_tokens_and_cost(no_key, tmp_path):
    with FakeOpenAIServer([ok("x", prompt_tokens=10, completion_tokens=3)]) as server:
        client = client_for(server, tmp_path, use_cache=False)
        client.complete_many([ask("a"), ask("b")])
    stats = client.stats()
    assert (stats["calls"], stats["prompt_tokens"], stats["completion_tokens"]) == (2, 20, 6)
    assert stats["cost_usd"] is None and stats["unpriced_calls"] == 2 and stats["cache_hits"] == 0


class FlakyBatcher:
    """A local-like backend: batches, and fails transiently once for the first request."""

    backend, model, prefers_batching = "local", "fake", True

    def __init__(self):
        self.batches = []

    def complete_many(self, requests):
        self.batches.append(len(requests))
        from telcotune.llm.base import Completion, Usage

        if len(self.batches) == 1:
            return [TransientLLMError("busy", retry_after_s=0.5)] + [
                Completion(f"r{i}", Usage(), "local", "fake") for i in range(1, len(requests))]
        return [Completion("again", Usage(), "local", "fake") for _ in requests]


def test_retry_delegates_whole_batches_to_a_batching_backend():
    inner, sleeps = FlakyBatcher(), Sleeps()
    client = RetryingClient(inner, max_retries=5, concurrency=1, sleep=sleeps)
    results = client.complete_many([ask(str(i)) for i in range(4)])
    assert inner.batches == [4, 1] and sleeps == [0.5] and client.retries == 1
    assert [r.text for r in results] == ["again", "r1", "r2", "r3"]


def test_backoff_is_capped_and_honours_retry_after_cap():
    client = RetryingClient(FlakyBatcher(), max_retries=5, concurrency=1, base_delay_s=1.0, max_delay_s=4.0)
    assert all(0 <= client.delay_s(n, None) <= 4.0 for n in range(10))
    assert client.delay_s(0, 100.0) == 4.0 and client.delay_s(0, 2.5) == 2.5


def test_every_layer_is_an_llm_client(no_key, tmp_path):
    from telcotune.llm.base import LLMClient

    client = build_client("openai:m@http://127.0.0.1:9/v1", ClientSettings(), cache_dir=tmp_path)
    for layer in (client, client.cache, client.retry, client.raw):
        assert isinstance(layer, LLMClient) and layer.model == "m"


def test_default_cache_folder_is_under_telcotune_cache(no_key, isolated_cache):
    with FakeOpenAIServer() as server:
        build_client(f"openai:m@{server.base_url}", ClientSettings()).complete(ask("q"))
    assert len(list((isolated_cache / "llm").rglob("*.json"))) == 1


def test_a_registered_backend_gets_no_cache_and_no_retries(monkeypatch, isolated_cache):
    from telcotune.llm import spec
    from telcotune.llm.base import Completion, Usage

    class Offline:
        backend, model = "offline", "offline-v1"

        def complete_many(self, requests):
            return [Completion("written", Usage(0, 0, 0.0), "offline", "offline-v1") for _ in requests]

    monkeypatch.setattr(spec, "_REGISTERED", {"offline": Offline})
    client = build_client("offline", ClientSettings())
    assert client.cache is None and client.retry is None
    assert client.complete(ask("q")).text == "written"
    assert not isolated_cache.exists()
    assert client.stats()["calls"] == 1 and client.stats()["cost_usd"] == 0.0


def test_the_settings_reach_retries_timeout_and_concurrency(no_key, tmp_path):
    settings = ClientSettings(concurrency=3, max_retries=7, timeout_s=9.5)
    client = build_client("openai:m@http://127.0.0.1:9/v1", settings, cache_dir=tmp_path)
    assert (client.retry.max_retries, client.retry.concurrency) == (7, 3)
    assert (client.raw.timeout_s, client.raw.concurrency) == (9.5, 3)


def test_retry_after_header_forms():
    from email.utils import format_datetime
    from datetime import datetime, timedelta, timezone

    from telcotune.llm.base import parse_retry_after_s

    assert parse_retry_after_s({"retry-after": "2.5"}) == 2.5
    assert parse_retry_after_s({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert parse_retry_after_s({"retry-after": "soon"}) is None and parse_retry_after_s({}) is None
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    assert 25 < parse_retry_after_s({"retry-after": later}) <= 30


def test_redact_removes_secrets_and_key_like_strings():
    from telcotune.llm.base import redact

    assert redact(f"bad key {SECRET}!", [SECRET]) == "bad key [redacted]!"
    assert redact("Incorrect API key provided: sk-proj-ab***xyz.") == "Incorrect API key provided: [redacted]."


def test_a_long_error_is_redacted_before_it_is_shortened(monkeypatch, tmp_path):
    token = "local-server-token-0123456789abcdef"  # a custom server's key: no recognisable prefix
    monkeypatch.setenv("OPENAI_API_KEY", token)
    with FakeOpenAIServer([error(403, "x" * 270 + f" token {token} rejected")]) as server:
        with pytest.raises(PermanentLLMError) as info:
            client_for(server, tmp_path).complete(ask("q"))
    assert "local-server" not in str(info.value) and len(str(info.value)) < 400
