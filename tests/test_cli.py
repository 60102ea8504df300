import subprocess
import sys


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
