import pydantic
import pytest

from telcotune.config import ClientSettings
from telcotune.llm.base import ChatRequest, Completion, PermanentLLMError, Usage
from telcotune.llm.client import build_client
from telcotune.llm.structured import InvalidJson, complete_json, complete_json_many, extract_json
from tests.fake_openai import FakeOpenAIServer, error, last_user_text, ok


class Verdict(pydantic.BaseModel):
    score: int = pydantic.Field(ge=1, le=10)
    reason: str


REQUEST = ChatRequest(messages=({"role": "user", "content": "Score this answer as JSON."},), json_mode=True)


@pytest.fixture()
def client(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)

    def make(server):
        return build_client(f"openai:judge@{server.base_url}", ClientSettings(), cache_dir=tmp_path / "llm",
                            sleep=lambda s: None)

    return make


@pytest.mark.parametrize("text, expected", [
    ('{"a": 1}', {"a": 1}),
    ('```json\n{"a": 1}\n```', {"a": 1}),
    ('```\n{"a": [1, 2]}\n```', {"a": [1, 2]}),
    ('Sure! Here it is: {"a": {"b": "}"}} Hope that helps {"c": 2}', {"a": {"b": "}"}}),
    ("[1, 2]", [1, 2]),
    ('text {not json} then {"ok": true}', {"ok": True}),
])
def test_extract_json(text, expected):
    assert extract_json(text) == expected


@pytest.mark.parametrize("text", ["", "no json here", "{broken", "```json\n{oops}\n```"])
def test_extract_json_rejects(text):
    with pytest.raises(InvalidJson):
        extract_json(text)


def test_malformed_then_valid_reasks_once(client):
    replies = [ok("I think it is a 7 out of 10.", prompt_tokens=5, completion_tokens=2),
               ok('```json\n{"score": 7, "reason": "clear"}\n```', prompt_tokens=9, completion_tokens=3)]
    with FakeOpenAIServer(replies) as server:
        outcome = complete_json(client(server), REQUEST, Verdict.model_validate)
    assert outcome.ok and outcome.value == Verdict(score=7, reason="clear") and outcome.reason is None
    assert outcome.attempts == 2 and server.calls == 2
    assert (outcome.usage.prompt_tokens, outcome.usage.completion_tokens) == (14, 5)
    second = server.requests[1].json["messages"]
    assert second[:1] == list(REQUEST.messages)
    assert second[1] == {"role": "assistant", "content": "I think it is a 7 out of 10."}
    assert second[2]["role"] == "user" and "invalid_json" in second[2]["content"]
    assert "JSON" in second[2]["content"]


def test_schema_failure_is_explained_in_the_reask(client):
    replies = [ok('{"score": 42, "reason": "x"}'), ok('{"score": 4, "reason": "x"}')]
    with FakeOpenAIServer(replies) as server:
        outcome = complete_json(client(server), REQUEST, Verdict.model_validate)
    assert outcome.ok and outcome.value.score == 4
    assert "schema:" in server.requests[1].json["messages"][-1]["content"]
    assert "less than or equal to 10" in server.requests[1].json["messages"][-1]["content"]


def test_always_malformed_gives_a_typed_failure(client):
    with FakeOpenAIServer([ok("never JSON")]) as server:
        outcome = complete_json(client(server), REQUEST, Verdict.model_validate, max_attempts=3)
    assert not outcome.ok and outcome.value is None
    assert (outcome.reason, outcome.raw, outcome.attempts, server.calls) == ("invalid_json", "never JSON", 3, 3)


def test_backend_error_is_an_outcome_not_an_exception(client):
    with FakeOpenAIServer([error(400, "context too long")]) as server:
        outcome = complete_json(client(server), REQUEST, Verdict.model_validate)
    assert not outcome.ok and outcome.reason.startswith("backend_error:") and "context too long" in outcome.reason
    assert server.calls == 1


def test_reasks_are_cached_separately_and_rerun_is_free(client):
    replies = [ok("nope"), ok('{"score": 3, "reason": "ok"}')]
    with FakeOpenAIServer(replies) as server:
        complete_json(client(server), REQUEST, Verdict.model_validate)
        again = complete_json(client(server), REQUEST, Verdict.model_validate)
    assert server.calls == 2 and again.ok and again.attempts == 2


def test_many_uses_one_complete_many_per_round():
    class Scripted:
        backend, model = "fake", "fake"

        def __init__(self):
            self.rounds = []

        def complete_many(self, requests):
            self.rounds.append([r.attempt for r in requests])
            return [self.reply(r) for r in requests]

        def reply(self, request):
            text = last_user_text({"messages": list(request.messages)})
            if "fail" in text:
                return PermanentLLMError("nope")
            good = "good" in text or request.attempt > 0
            return Completion('{"score": 5, "reason": "r"}' if good else "oops", Usage(1, 1, 0.5), "fake", "fake")

    fake = Scripted()
    requests = [ChatRequest(messages=({"role": "user", "content": t},)) for t in ("good", "bad", "fail", "good")]
    outcomes = complete_json_many(fake, requests, Verdict.model_validate)
    assert fake.rounds == [[0, 0, 0, 0], [1]]
    assert [o.ok for o in outcomes] == [True, True, False, True]
    assert [o.attempts for o in outcomes] == [1, 2, 1, 1]
    assert outcomes[1].usage.cost_usd == pytest.approx(1.0)


def test_many_accepts_one_validator_per_request():
    class Fixed:
        backend, model = "fake", "fake"

        def complete_many(self, requests):
            return [Completion('{"n": 2}', Usage(), "fake", "fake") for _ in requests]

    def expect(n):
        def validate(data):
            if data["n"] != n:
                raise ValueError(f"expected {n}")
            return data["n"]
        return validate

    outcomes = complete_json_many(Fixed(), [REQUEST, REQUEST], [expect(2), expect(3)], max_attempts=2)
    assert [o.ok for o in outcomes] == [True, False] and outcomes[1].reason == "schema: expected 3"
    with pytest.raises(ValueError, match="1 validators for 2 requests"):
        complete_json_many(Fixed(), [REQUEST, REQUEST], [expect(2)])
