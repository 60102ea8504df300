"""Issue 12, items 18-21: LLM backends against hostile servers on 127.0.0.1 (each bounded in
requests and time): malformed reply shapes, a trickling server, a huge reply, a key echoed back."""

from __future__ import annotations

import json
import re
import socketserver
import threading
import time

import pytest

from telcotune.config import ClientSettings, DataConfig
from telcotune.data.stage import run_data_stage
from telcotune.fsio import read_jsonl
from telcotune.llm.base import ChatRequest, PermanentLLMError, TransientLLMError
from telcotune.llm.http import MAX_REPLY_BYTES
from telcotune.llm.client import build_client

from .fake_openai import FakeOpenAIServer, Reply, chat_body, ok
from .test_data_glossary import write_glossary
from .test_data_llm_backend import conversation, glossary_with_terms

MALFORMED_BODIES = {
    "choices of strings": {"choices": ["hello"]},
    "message a string": {"choices": [{"message": "hello"}]},
    "usage a list": {**chat_body("hi"), "usage": [1, 2]},
    "tokens a word": {**chat_body("hi"), "usage": {"prompt_tokens": "lots", "completion_tokens": 1}},
    "no choices": {"usage": {"prompt_tokens": 1}},
    "empty choices": {"choices": []},
    "no message": {"choices": [{"finish_reason": "stop"}]},
    "content a number": {"choices": [{"message": {"content": 7}}]},
    "body a list": [1, 2, 3],
    "body not json": "<html>bad gateway</html>",
}


def ask(text: str) -> ChatRequest:
    return ChatRequest(messages=({"role": "user", "content": text},))


def client_for(server, tmp_path, **settings):
    return build_client(f"openai:m@{server.base_url}", ClientSettings(**settings), cache_dir=tmp_path / "llm",
                        sleep=lambda s: None)


def term_of(body) -> str:
    return re.search(r"^Term: (\w+)", body["messages"][0]["content"], re.M).group(1)


@pytest.mark.parametrize("name", sorted(MALFORMED_BODIES))
def test_a_malformed_200_is_a_retried_typed_backend_error(tmp_path, monkeypatch, name):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with FakeOpenAIServer([Reply(200, {}, MALFORMED_BODIES[name])]) as server:
        client = client_for(server, tmp_path, max_retries=2)
        [result] = client.complete_many([ask("q")])
        assert isinstance(result, TransientLLMError) and "malformed reply" in str(result)
        assert server.calls == 3  # the first try and two retries, then given up
        assert not list((tmp_path / "llm").rglob("*.json"))  # nothing cached


def test_malformed_replies_become_rejects_and_the_chunks_other_conversations_are_kept(tmp_path, isolated_cache):
    shapes = list(MALFORMED_BODIES.values())

    def respond(body, index):
        term = term_of(body)
        if term == "Bravo":  # always a wrong shape, a different one each time
            return Reply(200, {}, shapes[index % len(shapes)])
        return ok(conversation(term, body.get("seed")))

    glossary = write_glossary(tmp_path, glossary_with_terms(["Alpha", "Bravo", "Charlie"]))
    with FakeOpenAIServer(respond) as server:
        spec = f"openai:m@{server.base_url}"
        cfg = DataConfig(glossary=str(glossary), per_scenario=2, backend=spec, concurrency=2, max_retries=1,
                         timeout_s=5.0, split={"train": 0.34, "val": 0.33, "test": 0.33})
        stats = run_data_stage(cfg, tmp_path / "data", client=build_client(spec, cfg, sleep=lambda s: None),
                               progress=False)
        assert server.calls <= 6 + 2 * 2  # bounded: 4 good calls, Bravo's 2 x (1 + 1 retry)
    assert stats.conversations == 4
    rejects = read_jsonl(tmp_path / "data" / "rejects.jsonl")
    assert len(rejects) == 2 and {r["reason"] for r in rejects} == {"backend_error"}
    assert all("malformed reply" in r["detail"] for r in rejects)


class RawServer:
    """A raw HTTP/1.1 server on 127.0.0.1 whose `reply(wfile, stop)` writes the bytes of each
    reply as it likes (slowly, endlessly). `open_handlers` counts replies still being written; a
    handler ends when `stop` is set or when the client has gone (a write fails)."""

    def __init__(self, reply):
        self.reply = reply
        self.stop = threading.Event()
        self.open_handlers = 0
        self.calls = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                length = 0
                while (line := self.rfile.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                self.rfile.read(length)
                with outer.lock:
                    outer.calls += 1
                    outer.open_handlers += 1
                try:
                    outer.reply(self.wfile, outer.stop)
                except OSError:
                    pass  # the client hung up: what a deadline does
                finally:
                    with outer.lock:
                        outer.open_handlers -= 1

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> "RawServer":
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()

    def wait_idle(self, within_s: float) -> bool:
        end = time.monotonic() + within_s
        while time.monotonic() < end:
            with self.lock:
                if self.open_handlers == 0:
                    return True
            time.sleep(0.05)
        return False


def trickle(wfile, stop, head: bytes, interval_s: float, limit_bytes: int) -> None:
    """Write `head` at once, then one byte every `interval_s`, at most `limit_bytes` of them."""
    wfile.write(head)
    wfile.flush()
    for _ in range(limit_bytes):
        if stop.wait(interval_s):
            return
        wfile.write(b" ")
        wfile.flush()


BODY = json.dumps(chat_body("hello")).encode()
TRICKLED_BODY = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"


@pytest.mark.parametrize("head", [TRICKLED_BODY, b"HTTP/1.1 200 OK\r\nX-Slow: "], ids=["body", "headers"])
def test_a_trickling_server_cannot_hold_a_call_beyond_its_total_deadline(tmp_path, monkeypatch, head):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    # One byte every 0.5 s, endless for this test's purposes (100 s): every read succeeds in time.
    with RawServer(lambda w, stop: trickle(w, stop, head, 0.5, 200)) as server:
        client = client_for(server, tmp_path, timeout_s=1.0, max_retries=1)
        started = time.monotonic()
        [result] = client.complete_many([ask("q")])
        elapsed_s = time.monotonic() - started
        assert isinstance(result, TransientLLMError) and "no complete reply within 1 s" in str(result)
        assert server.calls == 2 and elapsed_s < 2 * 1.0 + 3.0  # two calls of at most 1 s each (not 100 s)
        assert server.wait_idle(within_s=2.0)  # the trickle ended: the client hung up


def test_a_slow_but_steady_reply_within_the_deadline_is_read(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(BODY)}\r\n\r\n".encode()

    def reply(wfile, stop):
        wfile.write(head + BODY[:10])
        wfile.flush()
        stop.wait(0.5)
        wfile.write(BODY[10:])

    with RawServer(reply) as server:
        assert client_for(server, tmp_path, timeout_s=3.0, max_retries=0).complete(ask("q")).text == "hello"


def test_a_reply_beyond_the_size_cap_is_refused_never_cached_nor_retried(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    huge = chat_body("x" * (MAX_REPLY_BYTES + 10))
    with FakeOpenAIServer([Reply(200, {}, huge)]) as server:
        client = client_for(server, tmp_path, max_retries=3)
        with pytest.raises(PermanentLLMError, match=f"reply larger than {MAX_REPLY_BYTES} bytes"):
            client.complete(ask("q"))
        assert server.calls == 1
    assert not list((tmp_path / "llm").rglob("*.json"))


def test_a_huge_reply_without_content_length_is_cut_off_at_the_cap(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    sent = []

    def endless_chunks(wfile, stop):  # chunked encoding, no length: only the cap stops it
        wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"x" * 65536
        for _ in range(4 * MAX_REPLY_BYTES // len(chunk)):
            if stop.is_set():
                return
            wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent.append(len(chunk))

    with RawServer(endless_chunks) as server:
        with pytest.raises(PermanentLLMError, match="reply larger than"):
            client_for(server, tmp_path, max_retries=3).complete(ask("q"))
        assert server.wait_idle(within_s=5.0)
    assert sum(sent) < 2 * MAX_REPLY_BYTES  # the client stopped reading soon after the cap
    assert not list((tmp_path / "llm").rglob("*.json"))


def test_a_huge_reply_in_the_data_stage_is_a_reject_without_the_reply(tmp_path, isolated_cache):
    def respond(body, index):
        term = term_of(body)
        if term == "Bravo":
            return Reply(200, {}, chat_body("y" * (MAX_REPLY_BYTES + 1)))
        return ok(conversation(term, body.get("seed")))

    glossary = write_glossary(tmp_path, glossary_with_terms(["Alpha", "Bravo"]))
    with FakeOpenAIServer(respond) as server:
        spec = f"openai:m@{server.base_url}"
        cfg = DataConfig(glossary=str(glossary), per_scenario=1, backend=spec, max_retries=2,
                         split={"train": 0.5, "val": 0.25, "test": 0.25})
        run_data_stage(cfg, tmp_path / "data", client=build_client(spec, cfg, sleep=lambda s: None), progress=False)
        bravo = [r for r in server.requests if "Term: Bravo" in r.json["messages"][0]["content"]]
        assert len(bravo) == 1 and len(bravo[0].json["messages"]) == 1  # not retried, not re-asked
    [reject] = read_jsonl(tmp_path / "data" / "rejects.jsonl")
    assert reject["reason"] == "backend_error" and "reply larger than" in reject["detail"]
    assert reject["raw"] == ""
    cached = sum(p.stat().st_size for p in isolated_cache.rglob("*.json"))
    assert cached < 100_000


@pytest.mark.parametrize("backend", ["anthropic", "gemini"])
def test_the_sdk_backends_keep_the_total_deadline_against_a_trickle(tmp_path, monkeypatch, backend):
    """The SDKs' own timeouts are per read too; their HTTP clients get the same deadline."""
    with RawServer(lambda w, stop: trickle(w, stop, TRICKLED_BODY, 0.5, 200)) as server:
        root = server.base_url.removesuffix("/v1")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", root)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key-anthropic")
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", root)
        monkeypatch.setenv("GEMINI_API_KEY", "test-key-gemini")
        client = build_client(f"{backend}:m", ClientSettings(timeout_s=1.5, max_retries=0), use_cache=False)
        client.raw._client()  # imports the SDK (seconds on a busy machine) before the clock starts
        started = time.monotonic()
        [result] = client.complete_many([ask("q")])
        # Without the deadline this call lasts the whole 100 s trickle.
        assert isinstance(result, TransientLLMError) and time.monotonic() - started < 1.5 + 3.0
        assert server.calls == 1 and server.wait_idle(within_s=2.0)


# --- Item 21: secrets ---------------------------------------------------------------------

KEY = "local-server-token-0123456789abcdef"  # no recognisable prefix: found by its value
URL_PASSWORD = "pw-4f1d9c-never-on-disk"


def every_file_text(*folders) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace")
                     for folder in folders for p in folder.rglob("*") if p.is_file())


def test_a_key_echoed_in_replies_lands_in_no_artifact_and_no_cache_file(tmp_path, isolated_cache, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    seen_keys = []

    def echo_key(body, index):  # echoes what it was sent: the key, inside good and bad replies
        term = term_of(body)
        key = server.requests[index].headers["authorization"].removeprefix("Bearer ")
        seen_keys.append(key)
        if term == "Alpha":  # not a conversation: a reject, whose raw reply is kept
            return ok(f"I cannot do that with key {key}.")
        turns = json.loads(conversation(term, body.get("seed")))
        turns["messages"][1]["content"] += f" Your account key is {key}, sk-proj-{key}."
        return ok(json.dumps(turns))

    glossary = write_glossary(tmp_path, glossary_with_terms(["Alpha", "Bravo"]))
    with FakeOpenAIServer(echo_key) as server:
        spec = f"openai:m@{server.base_url}"
        cfg = DataConfig(glossary=str(glossary), per_scenario=1, backend=spec, max_retries=0,
                         split={"train": 0.5, "val": 0.25, "test": 0.25})
        stats = run_data_stage(cfg, tmp_path / "data", client=build_client(spec, cfg, sleep=lambda s: None),
                               progress=False)
    assert set(seen_keys) == {KEY} and stats.conversations == 1  # the key was sent, and echoed
    text = every_file_text(tmp_path / "data", isolated_cache)
    assert KEY not in text and "[redacted]" in text
    [reject] = read_jsonl(tmp_path / "data" / "rejects.jsonl")
    assert reject["raw"] == "I cannot do that with key [redacted]."


def test_credentials_in_a_base_url_are_redacted_in_manifest_stats_and_config(tmp_path, isolated_cache, monkeypatch):
    from telcotune.artifacts.io import write_record

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    glossary = write_glossary(tmp_path, glossary_with_terms(["Alpha"]))
    with FakeOpenAIServer(lambda body, i: ok(conversation(term_of(body), body.get("seed")))) as server:
        spec = f"openai:m@{server.base_url.replace('://', f'://user:{URL_PASSWORD}@')}"
        cfg = DataConfig(glossary=str(glossary), per_scenario=2, backend=spec,
                         split={"train": 0.5, "val": 0.25, "test": 0.25})
        run_data_stage(cfg, tmp_path / "data", client=build_client(spec, cfg, sleep=lambda s: None), progress=False)
        write_record(tmp_path / "config.json", cfg)
        assert server.calls == 2
    for name in ("data/manifest.json", "data/stats.json", "config.json"):
        text = (tmp_path / name).read_text()
        assert URL_PASSWORD not in text and "user:" not in text and "http://[redacted]@127.0.0.1" in text, name
    assert URL_PASSWORD not in every_file_text(tmp_path, isolated_cache)


def test_redact_is_one_function_for_keys_registered_keys_and_url_credentials(monkeypatch):
    from telcotune.redaction import redact, register_secret

    monkeypatch.setenv("ANTHROPIC_API_KEY", "anthropic-value-abcdef12")
    register_secret("custom-variable-key-99887766")
    text = ("a anthropic-value-abcdef12 b custom-variable-key-99887766 c https://me:pw@host/x "
            "sk-ant-api03-abcdefgh AIzaSyA1234567 skipping sketches")
    assert redact(text) == ("a [redacted] b [redacted] c https://[redacted]@host/x [redacted] [redacted] "
                            "skipping sketches")
    assert redact("http://127.0.0.1:8000/v1 and user@example.com") == "http://127.0.0.1:8000/v1 and user@example.com"


@pytest.mark.parametrize("url, key, opt_in, refused", [
    ("http://10.0.0.7:8000/v1", KEY, False, True),
    ("http://llm.internal/v1", KEY, False, True),
    ("http://llm.internal/v1", KEY, True, False),
    ("http://llm.internal/v1", None, False, False),
    ("https://llm.internal/v1", KEY, False, False),
    ("http://127.0.0.1:8000/v1", KEY, False, False),
    ("http://localhost:8000/v1", KEY, False, False),
    ("http://[::1]:8000/v1", KEY, False, False),
])
def test_a_key_over_plain_http_beyond_loopback_needs_an_explicit_opt_in(monkeypatch, url, key, opt_in, refused):
    from telcotune.errors import ConfigError

    if key:
        monkeypatch.setenv("OPENAI_API_KEY", key)
    else:
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    settings = ClientSettings(allow_plain_http=opt_in)
    if refused:
        with pytest.raises(ConfigError, match="allow_plain_http: true") as info:
            build_client(f"openai:m@{url}", settings, use_cache=False)
        assert KEY not in str(info.value) and "clear text" in str(info.value)
    else:
        build_client(f"openai:m@{url}", settings, use_cache=False)


# --- The probe's passing cases, kept: how each backend status is treated ------------------

@pytest.mark.parametrize("status, retried", [
    (400, False), (401, False), (403, False), (404, False), (413, False), (422, False),
    (408, True), (409, True), (429, True), (500, True), (502, True), (503, True),
])
def test_backend_statuses_are_retried_or_not_and_end_in_a_typed_error(tmp_path, monkeypatch, status, retried):
    from .fake_openai import error

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with FakeOpenAIServer([error(status, f"status {status}")]) as server:
        [result] = client_for(server, tmp_path, max_retries=2).complete_many([ask("q")])
        assert server.calls == (3 if retried else 1)
    assert isinstance(result, TransientLLMError if retried else PermanentLLMError)
    assert result.status == status and f"HTTP {status}: status {status}" in str(result)


@pytest.mark.parametrize("spec, says", [
    (f"openai:m@http://user:{URL_PASSWORD}@10.1.2.3:8000/v1", "allow_plain_http"),  # the key in clear text
    (f"openai:m@ftp://user:{URL_PASSWORD}@10.1.2.3/v1", "must start with http"),  # the spec quoted whole
])
def test_the_cli_error_line_redacts_url_credentials(tmp_path, capsys, monkeypatch, spec, says):
    from telcotune.cli import main

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    glossary = write_glossary(tmp_path, glossary_with_terms(["Alpha"]))
    with pytest.raises(SystemExit) as info:
        main(["data", "--glossary", str(glossary), "--backend", spec, "--out", str(tmp_path / "data")])
    err = capsys.readouterr().err
    assert info.value.code == 2 and says in err
    assert URL_PASSWORD not in err and KEY not in err and not (tmp_path / "data").exists()


@pytest.mark.parametrize("backend", ["anthropic", "gemini"])
def test_the_sdk_backends_stop_reading_a_huge_reply_at_the_cap(tmp_path, monkeypatch, backend):
    sent = []

    def huge(wfile, stop):  # a valid start, then far more than the cap
        size = 3 * MAX_REPLY_BYTES
        wfile.write(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n".encode())
        chunk = b" " * 65536
        for _ in range(size // len(chunk)):
            if stop.is_set():
                return
            wfile.write(chunk)
            sent.append(len(chunk))

    with RawServer(huge) as server:
        root = server.base_url.removesuffix("/v1")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", root)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key-anthropic")
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", root)
        monkeypatch.setenv("GEMINI_API_KEY", "test-key-gemini")
        client = build_client(f"{backend}:m", ClientSettings(max_retries=2), use_cache=False)
        [result] = client.complete_many([ask("q")])
        assert isinstance(result, PermanentLLMError) and "reply larger than" in str(result)
        assert server.calls == 1 and server.wait_idle(within_s=5.0)
    assert sum(sent) < 2 * MAX_REPLY_BYTES
