"""The on-premises rule: imported data goes only to local backends unless allow_remote."""

from __future__ import annotations

import pytest

from telcotune.errors import ConfigError
from telcotune.manifest import write_manifest
from telcotune.privacy.onprem import (
    RemoteBackendRefused,
    check_remote_allowed,
    holds_imported,
    is_local_base_url,
    is_remote_spec,
    may_cache,
)


@pytest.mark.parametrize("url, local", [
    ("http://127.0.0.1:8000/v1", True),
    ("http://127.8.9.10/v1", True),
    ("http://localhost:11434/v1", True),
    ("http://LOCALHOST./v1", True),
    ("http://vllm.localhost:8000/v1", True),
    ("http://[::1]:8080/v1", True),
    ("http://[::ffff:10.1.2.3]/v1", True),
    ("http://10.0.0.5:8000/v1", True),
    ("http://172.16.0.1/v1", True),
    ("http://172.31.255.254/v1", True),
    ("http://192.168.1.20:8080/v1", True),
    ("http://[fd12:3456:789a::1]/v1", True),
    ("http://llm.corp.internal/v1", True),
    ("http://gpu-box.local:8000/v1", True),
    ("http://ollama.home.arpa/v1", True),
    ("https://api.openai.com/v1", False),
    ("http://172.32.0.1/v1", False),
    ("http://11.0.0.1/v1", False),
    ("http://8.8.8.8/v1", False),
    ("http://[2001:4860::1]/v1", False),
    ("http://100.64.0.1/v1", False),          # carrier-grade NAT: shared, not on premises
    ("http://169.254.169.254/v1", False),     # link-local (cloud metadata), not a private network
    ("http://localhost.evil.com/v1", False),
    ("http://127.0.0.1.nip.io/v1", False),
    ("http://my-vllm-server:8000/v1", False),  # a bare name could resolve anywhere
    ("not a url", False),
])
def test_is_local_base_url(url, local):
    assert is_local_base_url(url) is local


@pytest.mark.parametrize("spec, remote", [
    ("template", False), ("rubric", False), ("local:smollm2-135m-instruct", False),
    ("openai:qwen@http://127.0.0.1:8000/v1", False), ("openai:llama3@http://192.168.1.7:11434/v1", False),
    ("openai:gpt-4o-mini", True), ("openai:gpt@https://api.example.com/v1", True),
    ("anthropic:claude-sonnet-4-5", True), ("gemini:gemini-2.0-flash", True),
])
def test_is_remote_spec(spec, remote):
    assert is_remote_spec(spec) is remote


def test_remote_backends_are_refused_for_imported_data():
    with pytest.raises(RemoteBackendRefused) as exc:
        check_remote_allowed("anthropic:claude-sonnet-4-5", holds_imported=True, allow_remote=False,
                             purpose="judge answers")
    message = str(exc.value)
    assert "'anthropic:claude-sonnet-4-5'" in message and "judge answers" in message
    assert "allow_remote: true" in message and "\n" not in message
    assert isinstance(exc.value, ConfigError)  # the CLI exits 2


def test_what_is_allowed():
    for spec in ("openai:qwen@http://127.0.0.1:8000/v1", "local:smollm2-135m-instruct", "rubric", "template"):
        check_remote_allowed(spec, holds_imported=True, allow_remote=False, purpose="answer prompts")
    check_remote_allowed("gemini:gemini-2.0-flash", holds_imported=True, allow_remote=True, purpose="generate conversations")
    check_remote_allowed("gemini:gemini-2.0-flash", holds_imported=False, allow_remote=False, purpose="generate conversations")


def test_the_message_never_shows_credentials_of_a_base_url():
    with pytest.raises(RemoteBackendRefused) as exc:
        check_remote_allowed("openai:gpt@https://user:s3cret@llm.example.com:8443/v1", holds_imported=True,
                             allow_remote=False, purpose="judge answers")
    assert "s3cret" not in str(exc.value) and "openai:gpt@https://llm.example.com:8443" in str(exc.value)


def test_holds_imported_reads_the_manifest(tmp_path):
    assert holds_imported(tmp_path) is False
    write_manifest(tmp_path, "data", "h", {}, "t")
    assert holds_imported(tmp_path) is False
    write_manifest(tmp_path, "import", "h", {}, "t", extra={"holds_imported": True})
    assert holds_imported(tmp_path) is True


def test_remote_replies_about_imported_data_are_not_cached():
    assert may_cache("gemini:gemini-2.0-flash", holds_imported=False)
    assert not may_cache("gemini:gemini-2.0-flash", holds_imported=True)
    assert may_cache("openai:qwen@http://127.0.0.1:8000/v1", holds_imported=True)
    assert may_cache("local:smollm2-135m-instruct", holds_imported=True)
