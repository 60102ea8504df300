"""Bad input is a clear one-line error, exit 2, with nothing half-written (fault table: "input"):
non-finite numbers, lax coercions, binary or non-UTF-8 files, alias-bloated YAML, huge sweep
grids, grid run names, and a run whose loss becomes NaN."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from telcotune.config import ExperimentConfig, MAX_GRID_RUNS, TrainConfig, expand_sweep, load_config
from telcotune.data.glossary import load_glossary
from telcotune.errors import ConfigError, GlossaryError
from telcotune.yamlfile import MAX_EXPANDED_NODES

from .conftest import ROOT
from .test_data_glossary import small_glossary, write_glossary


def _config(tmp_path, text: str):
    path = tmp_path / "study.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("train", ["lr: .inf", "lr: .nan", "epochs: .inf", "alpha: -.inf"])
def test_non_finite_numbers_are_rejected(tmp_path, train):
    with pytest.raises(ConfigError, match=r"train\.\w+: .*finite"):
        load_config(_config(tmp_path, f"name: x\ntrain:\n  {train}\n"))


@pytest.mark.parametrize("train, key", [("r: true", "r"), ("max_steps: true", "max_steps"), ('lr: "1e-4"', "lr"),
                                        ('r: "16"', "r")])
def test_booleans_are_not_integers_and_strings_are_not_numbers(tmp_path, train, key):
    with pytest.raises(ConfigError, match=rf"train\.{key}: "):
        load_config(_config(tmp_path, f"name: x\ntrain:\n  {train}\n"))


@pytest.mark.parametrize("version", ["true", '"1"'])
def test_a_glossary_version_must_be_the_number_1(tmp_path, version):
    data = small_glossary()
    path = write_glossary(tmp_path, yaml.safe_dump(data).replace("version: 1", f"version: {version}"))
    with pytest.raises(GlossaryError, match=r"version: "):
        load_glossary(path)


def test_ints_still_count_as_floats(tmp_path):
    cfg = load_config(_config(tmp_path, "name: x\ntrain:\n  alpha: 32\n  lr: 0.001\n"))
    assert cfg.train.alpha == 32.0


@pytest.mark.parametrize("content", [b"\xff\xfe\x00n\x00a\x00m\x00e", b"name: caf\xe9\n", b"\x7fELF\x02\x01\x00\x00"])
def test_binary_or_non_utf8_files_are_one_line_errors_with_exit_2(tmp_path, content):
    for what in ("config", "glossary", "sweep"):
        path = tmp_path / f"{what}.yaml"
        path.write_bytes(content)
        if what == "config":
            args = ["run", "--config", str(path)]
        elif what == "glossary":
            args = ["data", "--out", str(tmp_path / "data"), "--glossary", str(path)]
        else:
            args = ["sweep", "--data", str(tmp_path), "--out", str(tmp_path / "sweep"), "--sweep", str(path)]
        out = subprocess.run([sys.executable, "-m", "telcotune", *args], capture_output=True, text=True,
                             timeout=120, cwd=ROOT)
        lines = [line for line in out.stderr.splitlines() if line.strip()]
        assert out.returncode == 2, (what, out.stderr[-1500:])
        assert len(lines) == 1 and str(path) in lines[0] and ("UTF-8" in lines[0] or "binary" in lines[0]), lines
        assert not (tmp_path / "data").exists()


def test_yaml_aliases_that_expand_beyond_the_bound_are_refused(tmp_path):
    # 9 levels of 9 copies: a few hundred bytes that would expand to 9**9 (387 million) values
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, 9)]
    path = tmp_path / "bomb.yaml"
    path.write_text(yaml.safe_dump(small_glossary()) + "\n".join(lines) + "\n")
    with pytest.raises(GlossaryError, match=rf"aliases expand to .* values \(at most {MAX_EXPANDED_NODES:,}\)"):
        load_glossary(path)
    # the aliases a YAML dumper writes for shared values stay fine
    shared = small_glossary()
    shared["terms"][1]["symptoms"] = shared["terms"][0]["symptoms"]
    assert load_glossary(write_glossary(tmp_path, shared)).terms[1].symptoms == shared["terms"][0]["symptoms"]


def test_a_sweep_grid_is_counted_before_it_is_expanded(tmp_path):
    grid = {"r": [1, 2, 3, 4, 5, 6, 7, 8, 9], "alpha": [1, 2, 3, 4, 5, 6, 7, 8, 9], "lr": [0.1] * 9, "dropout": [0.1] * 9,
            "seed": list(range(9)), "batch_size": list(range(1, 10)), "grad_accum": list(range(1, 10)),
            "max_length": list(range(16, 25)), "warmup_ratio": [0.1] * 9}
    cfg = ExperimentConfig(sweep={"grid": grid})
    with pytest.raises(ConfigError, match=rf"= 387,420,489 runs; a sweep grid may have at most {MAX_GRID_RUNS}"):
        expand_sweep(cfg)


def test_names_from_grids_are_always_valid_run_names():
    cfg = ExperimentConfig(sweep={"grid": {"targets": ["q_proj, v_proj", "attn"], "r": [8]}})
    names = [run.name for run in expand_sweep(cfg)]
    assert names == ["targetsq_proj.v_proj-r8", "targetsattn-r8"]


def test_a_run_whose_loss_becomes_nan_stops_and_is_not_finished(tmp_path, tiny_model_dir, monkeypatch):
    import torch

    from telcotune.energy.base import NullMeter
    from telcotune.models import ModelRef
    from telcotune.train import run as run_module
    from telcotune.train.run import TrainingDiverged, train_run

    from .test_train_data import write_data

    real = run_module.LossFn.__call__
    calls = []

    def diverging(self, input_ids, targets):  # what a far too high learning rate ends in
        calls.append(1)
        loss = real(self, input_ids, targets)
        return loss * torch.tensor(float("nan")) if len(calls) >= 2 else loss  # validation scores per example

    monkeypatch.setattr(run_module.LossFn, "__call__", diverging)
    data = write_data(tmp_path / "data", n_train=8, n_val=2)
    cfg = TrainConfig(max_steps=4, batch_size=4, max_length=256, eval_every=1, save_every=10)
    with pytest.raises(TrainingDiverged, match=r"run run: the training loss became nan at step 2 .*not marked finished"):
        train_run(data, tmp_path / "run", cfg, ModelRef(str(tiny_model_dir)), meter=NullMeter(), progress=False)
    assert not (tmp_path / "run" / "manifest.json").exists() and not (tmp_path / "run" / "metrics.json").exists()
