import ast
import os
import subprocess
import sys

import pytest

import telcotune.data.stage  # noqa: F401  (registers `template`, as running the data stage does)
from telcotune.config import ClientSettings
from telcotune.errors import ConfigError
from telcotune.llm import spec as spec_module
from telcotune.llm.spec import BackendSpec, make_client, parse_spec, register_backend

from .conftest import ROOT


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
    settings = ClientSettings(timeout_s=3, concurrency=2)
    # No key is needed to build: the check happens on the first uncached call.
    openai = make_client("openai:gpt-4o-mini@http://127.0.0.1:9/v1", settings)
    assert (openai.backend, openai.model, openai.base_url, openai.timeout_s, openai.concurrency) == (
        "openai", "gpt-4o-mini", "http://127.0.0.1:9/v1", 3, 2)
    anthropic = make_client("anthropic:claude-haiku-4-5", settings)
    assert (anthropic.backend, anthropic.timeout_s, anthropic.concurrency) == ("anthropic", 3, 2)
    assert make_client("gemini:gemini-2.5-flash", settings).backend == "gemini"
    local = make_client("local:/nowhere", settings)
    assert (local.backend, local.model, local.prefers_batching) == ("local", "/nowhere", True)


@pytest.mark.parametrize("spec, module, extra", [
    ("anthropic:claude-haiku-4-5", "anthropic", "anthropic"),
    ("gemini:gemini-2.5-flash", "google.genai", "gemini"),
])
def test_a_missing_sdk_names_the_extra_that_installs_it(monkeypatch, spec, module, extra):
    monkeypatch.setitem(sys.modules, module, None)  # what `import` sees when the package is absent
    with pytest.raises(ConfigError) as info:
        make_client(spec, ClientSettings())
    assert spec in str(info.value) and f"pip install 'telcotune[{extra}]'" in str(info.value)


def test_a_missing_sdk_stops_the_data_command_with_exit_2(monkeypatch, tmp_path, capsys):
    from telcotune.cli import main

    monkeypatch.setitem(sys.modules, "anthropic", None)
    with pytest.raises(SystemExit) as info:
        main(["data", "--out", str(tmp_path / "d"), "--backend", "anthropic:claude-haiku-4-5", "--quiet"])
    assert info.value.code == 2
    assert "pip install 'telcotune[anthropic]'" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


def test_registered_backends_are_built_by_name_without_args(monkeypatch):
    built = []

    class Offline:
        backend, model = "offline", "offline-v1"

        def __init__(self):
            built.append(self)

    monkeypatch.setattr(spec_module, "_REGISTERED", dict(spec_module._REGISTERED))
    with pytest.raises(ConfigError, match="unknown backend 'offline'"):
        parse_spec("offline")
    register_backend("offline", Offline)
    assert parse_spec(" Offline ") == BackendSpec("offline", "offline")
    assert isinstance(make_client("offline", ClientSettings()), Offline) and len(built) == 1
    with pytest.raises(ConfigError) as info:
        parse_spec("mistral:large")
    assert "offline" in str(info.value)  # listed among the valid forms
    with pytest.raises(ValueError, match="takes a model"):
        register_backend("local", Offline)


def test_the_llm_package_does_not_import_the_data_stage():
    # In a fresh interpreter: this test session has imported telcotune.data long ago.
    code = ("import sys, telcotune.llm.spec, telcotune.llm.client, telcotune.llm.openai_compat; "
            "print(sorted(m for m in sys.modules if m.startswith('telcotune.data')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def _llm_imports(module: str) -> set[str]:
    """The sibling modules an llm/ module imports, at the top or inside a function."""
    tree = ast.parse((ROOT / "src/telcotune/llm" / f"{module}.py").read_text())
    return {node.module for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module}


def test_openai_compat_does_not_import_spec():
    assert "spec" not in _llm_imports("openai_compat")
    assert "openai_compat" in _llm_imports("spec")  # the one direction: the factory builds it


def test_the_data_stage_registers_the_template_backend():
    from telcotune.data.template import TemplateBackend

    assert parse_spec("template") == BackendSpec("template", "template")
    assert isinstance(make_client("template", ClientSettings()), TemplateBackend)
