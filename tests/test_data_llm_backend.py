"""The data stage against a fake OpenAI-compatible server on 127.0.0.1: rate limits, server
errors, malformed and slow replies are retried, re-asked or rejected; a rerun makes no call."""

import json
import re
import threading

from telcotune.config import DataConfig
from telcotune.data.stage import run_data_stage
from telcotune.fsio import read_jsonl
from telcotune.llm.client import build_client

from .fake_openai import FakeOpenAIServer, Reply, error, ok
from .test_data_glossary import write_glossary


def glossary_with_terms(names):
    def term(name):
        return {"term": name, "category": "mobile-data", "definition": f"{name} is a telecom thing.",
                "symptoms": [f"{name} fails"], "resolution_steps": ["Restart the phone", "Check settings"],
                "escalate_when": "It still fails."}
    return {"version": 1, "domain": "telecom",
            "failure_causes": [{"id": "misconfiguration", "description": "A setting is wrong."}],
            "usage_contexts": [{"id": "home", "description": "The customer is at home."}],
            "terms": [term(n) for n in names]}


def conversation(term: str, seed) -> str:
    return json.dumps({"messages": [
        {"role": "user", "content": f"Hello, my phone stopped working properly this morning (case {seed})."},
        {"role": "assistant", "content": f"Sorry to hear that. It sounds like the {term}; please restart the phone."},
    ]})


class Behaviour:
    """Replies by the scenario's term: Alpha gets a 429 first, Bravo a 500, Charlie one malformed
    reply (then valid on re-ask), Delta is always malformed, Echo is slow once (timeout)."""

    def __init__(self):
        self.attempts: dict[str, int] = {}
        self.lock = threading.Lock()

    def __call__(self, body, index):
        first = body["messages"][0]["content"]
        term = re.search(r"^Term: (\w+)", first, re.M).group(1)
        key = first + str(body.get("seed"))
        with self.lock:
            n = self.attempts[key] = self.attempts.get(key, 0) + 1
        if term == "Alpha" and n == 1:
            return error(429, "slow down", {"Retry-After": "0"})
        if term == "Bravo" and n == 1:
            return error(500, "boom")
        if term == "Charlie" and len(body["messages"]) == 1:
            return ok("Sure! Here is a conversation: (not json)")
        if term == "Delta":
            return ok("I cannot produce JSON today.")
        if term == "Echo" and n == 1:
            return Reply(200, {}, None, delay_s=3.0)
        return ok(conversation(term, body.get("seed")))


def test_data_stage_with_fake_openai_server(tmp_path, isolated_cache):
    glossary = write_glossary(tmp_path, glossary_with_terms(["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"]))
    with FakeOpenAIServer(Behaviour()) as server:
        spec = f"openai:fake-model@{server.base_url}"
        cfg = DataConfig(glossary=str(glossary), per_scenario=2, backend=spec, concurrency=3, timeout_s=1.0,
                         max_retries=3, split={"train": 0.6, "val": 0.2, "test": 0.2})
        client = build_client(spec, cfg, sleep=lambda s: None)  # the stage's client, without the waits
        stats = run_data_stage(cfg, tmp_path / "data", client=client, progress=False)
        first_calls = server.calls
        assert server.max_in_flight <= 3

        rejects = read_jsonl(tmp_path / "data" / "rejects.jsonl")
        assert {r["reason"] for r in rejects} == {"invalid_json"}
        assert {r["scenario_id"].split("--")[0] for r in rejects} == {"delta"}
        assert all(r["attempts"] == 3 and "cannot produce JSON" in r["raw"] for r in rejects)
        assert stats.conversations == 10  # 6 terms x 2, minus Delta's 2
        assert client.stats()["retries"] >= 6  # 2 x 429, 2 x 500, 2 x timeout
        charlie = [r for r in server.requests if "Term: Charlie" in r.json["messages"][0]["content"]]
        assert any(len(r.json["messages"]) == 3 and "not usable" in r.json["messages"][2]["content"]
                   for r in charlie)

        again = build_client(spec, cfg, sleep=lambda s: None)
        run_data_stage(cfg.model_copy(update={"seed": 0, "per_scenario": 2}), tmp_path / "data2",
                       client=again, progress=False)
        assert server.calls == first_calls  # every reply came from the cache
        assert again.stats()["cache_hits"] >= 10


def test_the_stage_calls_its_backend_with_the_data_sections_settings(tmp_path, monkeypatch):
    import telcotune.data.stage as stage

    built = []
    real_build_client = stage.build_client

    def spy(spec, settings, **kw):
        built.append((spec, settings.concurrency, settings.max_retries, settings.timeout_s))
        return real_build_client(spec, settings, **kw)

    monkeypatch.setattr(stage, "build_client", spy)
    glossary = write_glossary(tmp_path, glossary_with_terms(["Alpha", "Bravo", "Charlie"]))
    cfg = DataConfig(glossary=str(glossary), per_scenario=1, concurrency=3, max_retries=2, timeout_s=7.5,
                     split={"train": 0.34, "val": 0.33, "test": 0.33})
    run_data_stage(cfg, tmp_path / "data", progress=False)
    assert built == [("template", 3, 2, 7.5)]
    # How the backend is called changes no output: the finished stage stays current.
    patient = cfg.model_copy(update={"concurrency": 1, "max_retries": 9, "timeout_s": 600.0})
    run_data_stage(patient, tmp_path / "data", progress=False)
    assert len(built) == 1
