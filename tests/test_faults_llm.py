"""Issue 12, items 18-21: LLM backends against hostile servers on 127.0.0.1 (each bounded in
requests and time): malformed reply shapes, a trickling server, a huge reply, a key echoed back."""

from __future__ import annotations

import json
import re

import pytest

from telcotune.config import ClientSettings, DataConfig
from telcotune.data.stage import run_data_stage
from telcotune.fsio import read_jsonl
from telcotune.llm.base import ChatRequest, TransientLLMError
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
