"""Anthropic and Gemini backends at their SDK boundary: the SDK client object is replaced by a
fake that records what it is asked and raises the SDK's own error types. No network."""

from types import SimpleNamespace

import httpx
import httpx2
import pytest

from telcotune.llm.anthropic_backend import AnthropicBackend
from telcotune.llm.base import ChatRequest, PermanentLLMError, TransientLLMError
from telcotune.llm.gemini_backend import GeminiBackend

SECRET = "secret-value-7d1e-never-shown"
CONVERSATION = (
    {"role": "system", "content": "You are a telecom support agent."},
    {"role": "user", "content": "My SIM is not detected."},
    {"role": "assistant", "content": "Have you restarted the phone?"},
    {"role": "user", "content": "Yes."},
)


def request(**kw) -> ChatRequest:
    return ChatRequest(messages=CONVERSATION, temperature=0.3, max_tokens=64, **kw)


# --- Anthropic ---------------------------------------------------------------------------

class FakeAnthropic:
    """Stands in for `anthropic.Anthropic`; `outcome` is a message to return or an error to raise."""

    instances: list["FakeAnthropic"] = []
    outcome: object = None

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.calls = []
        self.messages = SimpleNamespace(create=self.create)
        FakeAnthropic.instances.append(self)

    def create(self, **kwargs):
        self.calls.append(kwargs)
        if isinstance(FakeAnthropic.outcome, Exception):
            raise FakeAnthropic.outcome
        return FakeAnthropic.outcome


def anthropic_message(text: str, input_tokens: int = 30, output_tokens: int = 9):
    return SimpleNamespace(content=[SimpleNamespace(type="thinking", thinking="..."), SimpleNamespace(type="text", text=text)],
                           usage=SimpleNamespace(input_tokens=input_tokens, output_tokens=output_tokens))


@pytest.fixture()
def fake_anthropic(monkeypatch):
    import anthropic

    monkeypatch.setattr(anthropic, "Anthropic", FakeAnthropic)
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    FakeAnthropic.instances = []
    FakeAnthropic.outcome = anthropic_message("Reseat the SIM card.")
    return FakeAnthropic


def make_anthropic(model: str, timeout_s: float = 60.0) -> AnthropicBackend:
    return AnthropicBackend(model, timeout_s=timeout_s, concurrency=1)


def make_gemini(model: str, timeout_s: float = 60.0) -> GeminiBackend:
    return GeminiBackend(model, timeout_s=timeout_s, concurrency=1)


def anthropic_status_error(cls, status: int, message: str, headers=None):
    req = httpx2.Request("POST", "https://api.anthropic.com/v1/messages")
    body = {"type": "error", "error": {"type": "x", "message": message}}
    return cls(message, response=httpx2.Response(status, headers=headers or {}, request=req), body=body)


def test_anthropic_maps_request_and_usage(fake_anthropic):
    completion = make_anthropic("claude-haiku-4-5", timeout_s=9).complete(request(json_mode=True))
    sdk = fake_anthropic.instances[0]
    http = sdk.kwargs.pop("http_client")
    assert sdk.kwargs == {"api_key": SECRET, "max_retries": 0, "timeout": 9}
    assert isinstance(http, httpx2.Client)  # the one whose calls keep their total deadline
    sent = sdk.calls[0]
    assert sent["system"].startswith("You are a telecom support agent.") and "JSON" in sent["system"]
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
    assert (sent["model"], sent["max_tokens"]) == ("claude-haiku-4-5", 64)
    assert completion.text == "Reseat the SIM card."
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (30, 9)
    assert completion.usage.cost_usd == pytest.approx((30 * 1.0 + 9 * 5.0) / 1e6)


def test_anthropic_without_json_mode_sends_the_system_prompt_untouched(fake_anthropic):
    make_anthropic("claude-x").complete(request())
    assert fake_anthropic.instances[0].calls[0]["system"] == "You are a telecom support agent."


def test_anthropic_missing_key_names_the_variable(fake_anthropic, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    with pytest.raises(PermanentLLMError, match="ANTHROPIC_API_KEY"):
        make_anthropic("claude-x").complete(request())


@pytest.mark.parametrize("make_error, kind, retry_after_s", [
    (lambda a: anthropic_status_error(a.RateLimitError, 429, "slow", {"retry-after": "3"}), TransientLLMError, 3.0),
    (lambda a: anthropic_status_error(a.OverloadedError, 529, "overloaded"), TransientLLMError, None),
    (lambda a: anthropic_status_error(a.InternalServerError, 500, "oops"), TransientLLMError, None),
    (lambda a: a.APITimeoutError(request=httpx2.Request("POST", "https://x")), TransientLLMError, None),
    (lambda a: a.APIConnectionError(request=httpx2.Request("POST", "https://x")), TransientLLMError, None),
    (lambda a: anthropic_status_error(a.AuthenticationError, 401, f"invalid x-api-key {SECRET}"), PermanentLLMError, None),
    (lambda a: anthropic_status_error(a.BadRequestError, 400, "prompt is too long"), PermanentLLMError, None),
])
def test_anthropic_error_mapping(fake_anthropic, make_error, kind, retry_after_s):
    import anthropic

    fake_anthropic.outcome = make_error(anthropic)
    with pytest.raises(kind) as info:
        make_anthropic("claude-x").complete(request())
    assert type(info.value) is kind and SECRET not in str(info.value)
    if kind is TransientLLMError:
        assert info.value.retry_after_s == retry_after_s


# --- Gemini ------------------------------------------------------------------------------

class FakeGenai:
    """Stands in for `google.genai.Client`."""

    instances: list["FakeGenai"] = []
    outcome: object = None

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.calls = []
        self.models = SimpleNamespace(generate_content=self.generate_content)
        FakeGenai.instances.append(self)

    def generate_content(self, **kwargs):
        self.calls.append(kwargs)
        if isinstance(FakeGenai.outcome, Exception):
            raise FakeGenai.outcome
        return FakeGenai.outcome


def gemini_response(text, prompt_tokens=40, output_tokens=12):
    return SimpleNamespace(text=text, usage_metadata=SimpleNamespace(
        prompt_token_count=prompt_tokens, candidates_token_count=output_tokens), candidates=[], prompt_feedback=None)


@pytest.fixture()
def fake_genai(monkeypatch):
    from google import genai

    monkeypatch.setattr(genai, "Client", FakeGenai)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.setenv("GOOGLE_API_KEY", SECRET)
    FakeGenai.instances = []
    FakeGenai.outcome = gemini_response('{"ok": true}')
    return FakeGenai


def test_gemini_maps_request_and_usage(fake_genai):
    completion = make_gemini("gemini-2.5-flash", timeout_s=2.5).complete(request(json_mode=True, seed=4))
    sdk = fake_genai.instances[0]
    http = sdk.kwargs["http_options"].pop("httpx_client")
    assert sdk.kwargs == {"api_key": SECRET, "vertexai": False, "http_options": {"timeout": 2500}}
    assert isinstance(http, httpx.Client)
    sent = sdk.calls[0]
    assert sent["model"] == "gemini-2.5-flash"
    assert sent["config"] == {"temperature": 0.3, "max_output_tokens": 64, "seed": 4,
                              "system_instruction": "You are a telecom support agent.",
                              "response_mime_type": "application/json"}
    assert [c["role"] for c in sent["contents"]] == ["user", "model", "user"]
    assert sent["contents"][1]["parts"] == [{"text": "Have you restarted the phone?"}]
    assert completion.text == '{"ok": true}'
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (40, 12)
    assert completion.usage.cost_usd == pytest.approx((40 * 0.30 + 12 * 2.50) / 1e6)


def test_gemini_prefers_gemini_api_key(fake_genai, monkeypatch):
    monkeypatch.setenv("GEMINI_API_KEY", "first-choice")
    make_gemini("gemini-x").complete(request())
    assert fake_genai.instances[0].kwargs["api_key"] == "first-choice"
    assert "response_mime_type" not in fake_genai.instances[0].calls[0]["config"]


def test_gemini_missing_key_names_both_variables(fake_genai, monkeypatch):
    monkeypatch.delenv("GOOGLE_API_KEY")
    with pytest.raises(PermanentLLMError, match="GEMINI_API_KEY or GOOGLE_API_KEY"):
        make_gemini("gemini-x").complete(request())


def test_gemini_blocked_reply_is_permanent(fake_genai):
    fake_genai.outcome = SimpleNamespace(text=None, usage_metadata=None, candidates=[],
                                         prompt_feedback=SimpleNamespace(block_reason="SAFETY"))
    with pytest.raises(PermanentLLMError, match="SAFETY"):
        make_gemini("gemini-x").complete(request())


def gemini_error(status: int, message: str, details=None):
    from google.genai import errors

    body = {"error": {"code": status, "message": message, "status": "X", "details": details or []}}
    return (errors.ClientError if status < 500 else errors.ServerError)(status, body)


@pytest.mark.parametrize("make_error, kind, retry_after_s", [
    (lambda: gemini_error(429, "quota", [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                          "retryDelay": "12s"}]), TransientLLMError, 12.0),
    (lambda: gemini_error(503, "unavailable"), TransientLLMError, None),
    (lambda: httpx.ReadTimeout("timed out"), TransientLLMError, None),
    (lambda: httpx2.ConnectError("refused"), TransientLLMError, None),
    (lambda: gemini_error(400, f"API key not valid: {SECRET}"), PermanentLLMError, None),
    (lambda: gemini_error(404, "model not found"), PermanentLLMError, None),
])
def test_gemini_error_mapping(fake_genai, make_error, kind, retry_after_s):
    fake_genai.outcome = make_error()
    with pytest.raises(kind) as info:
        make_gemini("gemini-x").complete(request())
    assert type(info.value) is kind and SECRET not in str(info.value)
    if kind is TransientLLMError:
        assert info.value.retry_after_s == retry_after_s


def test_sdk_bugs_are_not_disguised_as_llm_errors(fake_genai):
    fake_genai.outcome = AttributeError("a bug")
    with pytest.raises(AttributeError):
        make_gemini("gemini-x").complete(request())


@pytest.mark.parametrize("message", [
    SimpleNamespace(content="hello", usage=SimpleNamespace(input_tokens=1, output_tokens=1)),
    SimpleNamespace(content=[SimpleNamespace(type="text", text="hi")], usage=[1, 2]),
    SimpleNamespace(content=[SimpleNamespace(type="text", text="hi")],
                    usage=SimpleNamespace(input_tokens="lots", output_tokens=1)),
    SimpleNamespace(usage=SimpleNamespace(input_tokens=1, output_tokens=1)),
])
def test_anthropic_reply_of_the_wrong_shape_is_a_transient_typed_error(fake_anthropic, message):
    fake_anthropic.outcome = message
    with pytest.raises(TransientLLMError, match="malformed reply"):
        make_anthropic("claude-x").complete(request())


@pytest.mark.parametrize("response", [
    SimpleNamespace(text=["hello"], usage_metadata=None),
    SimpleNamespace(text="hi", usage_metadata=[1, 2]),
    SimpleNamespace(text="hi", usage_metadata=SimpleNamespace(prompt_token_count="lots", candidates_token_count=1)),
])
def test_gemini_reply_of_the_wrong_shape_is_a_transient_typed_error(fake_genai, response):
    fake_genai.outcome = response
    with pytest.raises(TransientLLMError, match="malformed reply"):
        make_gemini("gemini-x").complete(request())
