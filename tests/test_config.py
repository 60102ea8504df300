from pathlib import Path

import pytest

from telcotune.config import (
    TARGET_PRESETS,
    ExperimentConfig, TrainConfig, expand_sweep, field_help, load_config, load_sweep_file,
)
from telcotune.errors import ConfigError

from .conftest import ROOT

SHIPPED = sorted((ROOT / "configs").rglob("*.yaml"))


def test_configs_folder_has_the_three_studies_and_the_sweep():
    names = {p.relative_to(ROOT / "configs").as_posix() for p in SHIPPED}
    assert {"quick.yaml", "cpu.yaml", "paper.yaml", "sweeps/paper16.yaml"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_shipped_yaml_validates(path):
    if path.parent.name == "sweeps":
        sweep = load_sweep_file(path)
        runs = expand_sweep(ExperimentConfig(sweep={"file": str(path)}))
        assert len(runs) == len(sweep.runs or []) or sweep.grid
    else:
        cfg = load_config(path)
        assert cfg.name == path.stem
        assert len(expand_sweep(cfg)) >= 1


def test_paper_sweep_spans_ranks_and_targets():
    runs = expand_sweep(ExperimentConfig(sweep={"file": str(ROOT / "configs/sweeps/paper16.yaml")}))
    assert len(runs) == 16
    assert {r.r for r in runs} == {16, 32}
    assert {len(TARGET_PRESETS.get(r.targets, ())) for r in runs} == {2, 4, 7}
    assert len({r.lr for r in runs}) >= 3 and len({r.alpha for r in runs}) >= 3
    assert len({r.dropout for r in runs}) >= 3


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "study.yaml"
    p.write_text(text)
    return p


def test_unknown_key_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"train\.rank: unknown key"):
        load_config(write(tmp_path, "train: {rank: 8}\n"))


def test_wrong_type_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"data\.per_scenario: Input should be a valid integer"):
        load_config(write(tmp_path, "data: {per_scenario: many}\n"))


def test_missing_glossary_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"data\.glossary: file not found: .*nope\.yaml"):
        load_config(write(tmp_path, "data: {glossary: nope.yaml}\n"))


def test_split_must_sum_to_one(tmp_path):
    with pytest.raises(ConfigError, match="sum to 1"):
        load_config(write(tmp_path, "data: {split: {train: 0.5, val: 0.1, test: 0.1}}\n"))


def test_invalid_yaml_names_file(tmp_path):
    with pytest.raises(ConfigError, match="study.yaml: not valid YAML"):
        load_config(write(tmp_path, "train: [unclosed\n"))


def test_sweep_run_with_bad_key_names_run_and_key(tmp_path):
    text = "sweep:\n  runs:\n    - {name: a}\n    - {name: b, rank: 4}\n"
    with pytest.raises(ConfigError, match=r"run b: invalid config\n  rank: unknown key"):
        load_config(write(tmp_path, text))


def test_sweep_grid_expands_every_combination():
    cfg = ExperimentConfig(sweep={"base": {"lr": 1e-4}, "grid": {"r": [8, 16], "targets": ["qv", "all"]}})
    runs = expand_sweep(cfg)
    assert [r.name for r in runs] == ["r8-targetsqv", "r8-targetsall", "r16-targetsqv", "r16-targetsall"]
    assert all(r.lr == 1e-4 for r in runs)


def test_duplicate_run_names_rejected():
    cfg = ExperimentConfig(sweep={"runs": [{"name": "a"}, {"name": "a", "r": 8}]})
    with pytest.raises(ConfigError, match="run a: duplicate run name"):
        expand_sweep(cfg)


def test_target_presets_resolve_to_module_lists_once():
    from telcotune.train.lora import resolve_targets

    llama = [f"model.layers.0.{p}.{m}" for p, ms in (("self_attn", ("q_proj", "k_proj", "v_proj", "o_proj")),
                                                      ("mlp", ("gate_proj", "up_proj", "down_proj"))) for m in ms]
    assert resolve_targets(TrainConfig(targets="qv").targets, llama) == ["q_proj", "v_proj"]
    assert len(resolve_targets("attn", llama)) == 4 and len(resolve_targets("all", llama)) == 7
    assert resolve_targets(TrainConfig(targets="q_proj, k_proj").targets, llama) == ["q_proj", "k_proj"]
    with pytest.raises(ConfigError, match="c_attn not found.*q_proj"):
        resolve_targets("q_proj,c_attn", llama)


def test_help_comes_from_field_docs():
    assert field_help(TrainConfig, "r") == "LoRA rank. [default: 16]"
