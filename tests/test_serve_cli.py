"""`telcotune chat`, `serve` and `export` from the command line: a scripted terminal chat on a
study, an export picked by `best-loss`, and the errors a user can fix (exit code 2, one line)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .test_serve_study import build_study


@pytest.fixture(scope="module")
def study(tmp_path_factory, tiny_model_dir):
    return build_study(tmp_path_factory.mktemp("study"), tiny_model_dir)


def telcotune(*args: str, stdin: str = ""):
    # One torch thread: the tiny model gains nothing from two, and a shared machine loses a lot.
    return subprocess.run([sys.executable, "-m", "telcotune", *args], input=stdin, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    """In-process (no torch import per call): exit code, stdout, stderr."""
    from telcotune.cli import main

    with pytest.raises(SystemExit) as exited:
        main(list(args))
    captured = capsys.readouterr()
    return exited.value.code or 0, captured.out, captured.err


def test_help_lists_the_deployment_commands(capsys):
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0 and all(c in out for c in ("chat", "serve", "export"))


@pytest.mark.slow
def test_chat_command_streams_and_quits(study):
    """A real process reading a scripted stdin, as a terminal user would type."""
    out = telcotune("chat", "--workdir", str(study.root), "--max-new-tokens", "4",
                    stdin="my router is red\n/reset\n/exit\n")
    assert out.returncode == 0, out.stderr
    assert "picked r4-b (best-judge: first in rubric's pointwise order)" in out.stderr
    assert "chatting with r4-b" in out.stdout and out.stdout.count("assistant> ") == 1
    assert "(conversation cleared)" in out.stdout
    assert "Warning" not in out.stderr  # library deprecation warnings are not the user's business


def test_export_command(study, tmp_path, capsys):
    code, out, err = run_cli(capsys, "export", "--workdir", str(study.root), "--run", "best-loss",
                             "--out", str(tmp_path / "m"))
    assert code == 0, err
    assert "picked r4-a" in err and f"merged model: {tmp_path / 'm'}" in out
    marker = json.loads((tmp_path / "m" / "telcotune_export.json").read_text())
    assert marker["adapter"].endswith("sweep/r4-a/adapter") and (tmp_path / "m" / "model.safetensors").is_file()


@pytest.mark.parametrize("args, message", [
    (["chat", "--run", "r9"], "available runs: r4-a, r4-b"),
    (["serve", "--api-key-env", "TELCOTUNE_TEST_UNSET_KEY"], "TELCOTUNE_TEST_UNSET_KEY"),
    (["export", "--out", "{tmp}/x"], "--run NAME"),
    (["export", "--run", "base", "--out", "{tmp}/x"], "no adapter to merge"),
    (["serve", "--adapter", "{tmp}"], "no adapter_config.json"),
])
def test_user_errors_exit_2_with_one_line(study, tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.delenv("TELCOTUNE_TEST_UNSET_KEY", raising=False)
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    workdir = [] if "--adapter" in args else ["--workdir", str(study.root)]
    code, _, err = run_cli(capsys, *args[:1], *workdir, *args[1:])
    assert code == 2 and message in err and err.startswith("error: ")


def test_a_study_or_an_adapter_is_needed(capsys, tmp_path):
    code, _, err = run_cli(capsys, "export", "--out", str(tmp_path / "n"))
    assert code == 2 and "give --workdir W (a study folder) or --adapter DIR" in err
