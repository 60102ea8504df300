import subprocess
import sys

import pytest

from telcotune.config import DataConfig, field_help
from telcotune.serve.limits import ServeLimits, option_help


def telcotune(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "telcotune", *args], capture_output=True, text=True, cwd=cwd,
        timeout=300,
    )


def test_help_lists_commands():
    out = telcotune("--help")
    assert out.returncode == 0
    for command in ("run", "model"):
        assert command in out.stdout


def test_bad_config_exits_nonzero_naming_the_key(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("name: bad\ntrain: {r: 8, lora_rank: 4}\n")
    out = telcotune("run", "--config", str(cfg), "--workdir", str(tmp_path / "w"))
    assert out.returncode == 2
    assert "train.lora_rank: unknown key" in out.stderr
    assert not (tmp_path / "w").exists()


def test_missing_config_file_is_named(tmp_path):
    out = telcotune("run", "--config", str(tmp_path / "absent.yaml"))
    assert out.returncode == 2
    assert "absent.yaml: file not found" in out.stderr


def test_version_prints_the_package_version():
    from telcotune import __version__

    out = telcotune("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"telcotune {__version__}"


def _help(capsys, *args) -> str:
    from telcotune.cli import main

    with pytest.raises(SystemExit) as info:
        main([*args, "--help"])
    assert info.value.code == 0
    return " ".join(capsys.readouterr().out.split())


def test_data_help_shows_the_schema_defaults_of_the_client_settings(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    text = _help(capsys, "data")
    for name in ("concurrency", "max_retries", "timeout_s"):
        assert f"--{name.replace('_', '-')}" in text
        assert " ".join(field_help(DataConfig, name).split()) in text
    assert "[default: 120.0]" in text and "[default: 5]" in text


def test_serve_and_chat_defaults_are_the_server_limits(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    text = _help(capsys, "serve")
    limits = ServeLimits()
    for name in ("concurrency", "max_new_tokens", "max_input_tokens"):
        assert f"--{name.replace('_', '-')}" in text
        assert f"{option_help(name)} [default: {getattr(limits, name)}; x>=1]" in text
    assert f"Longest reply, in tokens. [default: {limits.default_new_tokens}; x>=1]" in _help(capsys, "chat")


def test_serve_limits_keep_the_default_reply_under_the_cap():
    assert ServeLimits.capped(max_input_tokens=100, max_new_tokens=64, concurrency=1, max_batch=1).default_new_tokens == 64
    assert ServeLimits.capped(max_input_tokens=100, max_new_tokens=4096, concurrency=1, max_batch=1).default_new_tokens == ServeLimits().default_new_tokens
