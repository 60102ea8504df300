import sys
import types

import pytest

from telcotune.errors import ConfigError
from telcotune.llm.spec import BackendSpec, make_client, parse_spec


@pytest.mark.parametrize("spec, expected", [
    ("template", BackendSpec("template", "template")),
    (" Template ", BackendSpec("template", "template")),
    ("openai:gpt-4o-mini", BackendSpec("openai", "gpt-4o-mini")),
    ("openai:qwen2.5:7b@http://127.0.0.1:11434/v1/", BackendSpec("openai", "qwen2.5:7b", "http://127.0.0.1:11434/v1")),
    ("anthropic:claude-haiku-4-5", BackendSpec("anthropic", "claude-haiku-4-5")),
    ("GEMINI:gemini-2.5-flash", BackendSpec("gemini", "gemini-2.5-flash")),
    ("local:smollm2-135m-instruct", BackendSpec("local", "smollm2-135m-instruct")),
    ("local:/models/my model", BackendSpec("local", "/models/my model")),
])
def test_parse_spec(spec, expected):
    assert parse_spec(spec) == expected


@pytest.mark.parametrize("spec, why", [
    ("gpt-4o", "unknown backend"),
    ("mistral:large", "unknown backend 'mistral'"),
    ("openai:", "model name is empty"),
    ("local:  ", "model name is empty"),
    ("anthropic:claude@http://x", "only valid for the openai backend"),
    ("openai:m@127.0.0.1:8000", "must start with http"),
])
def test_bad_spec_names_spec_and_lists_valid_forms(spec, why):
    with pytest.raises(ConfigError, match=why) as info:
        parse_spec(spec)
    assert repr(spec) in str(info.value)
    assert "openai:MODEL@BASE_URL" in str(info.value) and "local:MODEL_SPEC" in str(info.value)


def test_make_client_builds_each_backend_lazily(monkeypatch):
    for env in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(env, raising=False)
    # No key is needed to build: the check happens on the first uncached call.
    openai = make_client("openai:gpt-4o-mini@http://127.0.0.1:9/v1", timeout_s=3, concurrency=2)
    assert (openai.backend, openai.model, openai.base_url, openai.timeout_s) == (
        "openai", "gpt-4o-mini", "http://127.0.0.1:9/v1", 3)
    assert make_client("anthropic:claude-haiku-4-5").backend == "anthropic"
    assert make_client("gemini:gemini-2.5-flash").backend == "gemini"
    local = make_client("local:/nowhere")
    assert (local.backend, local.model, local.prefers_batching) == ("local", "/nowhere", True)


def test_template_backend_is_imported_lazily_and_built_without_args(monkeypatch):
    built = []

    class TemplateBackend:
        backend, model = "template", "template"

        def __init__(self):
            built.append(self)

    module = types.ModuleType("telcotune.data.template")
    module.TemplateBackend = TemplateBackend
    monkeypatch.setitem(sys.modules, "telcotune.data.template", module)
    assert isinstance(make_client("template"), TemplateBackend) and len(built) == 1
