from pathlib import Path

import pytest

from telcotune.config import (
    BUILTIN_GLOSSARY_FILE, CLIENT_SETTINGS, GENERATION_BATCH_SIZE, TARGET_PRESETS, ClientSettings, DataConfig,
    EvalConfig, ExperimentConfig, JudgesConfig, ModelConfig, TrainConfig, expand_sweep, field_help, load_config,
    load_sweep_file, resolve_config,
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


# ---------------------------------------------------------------- one merge of YAML and options


def _study(tmp_path, text: str) -> Path:
    path = tmp_path / "study.yaml"
    path.write_text(text)
    return path


def test_options_override_the_yaml_and_none_means_not_given(tmp_path):
    path = _study(tmp_path, "name: s\ndata: {per_scenario: 3, seed: 7}\nmodel: {spec: some/model}\n")
    cfg = resolve_config(path, {"data": {"per_scenario": 5, "seed": None, "backend": None},
                                "model": {"spec": None}})
    assert (cfg.data.per_scenario, cfg.data.seed, cfg.data.backend, cfg.model.spec) == (5, 7, "template", "some/model")
    assert resolve_config(None, {}) == ExperimentConfig()


def test_epochs_clears_a_yaml_max_steps_and_both_are_an_error(tmp_path):
    path = _study(tmp_path, "train: {max_steps: 40, epochs: 3}\n")
    assert resolve_config(path, {"train": {"epochs": None}}).train.max_steps == 40
    cfg = resolve_config(path, {"train": {"epochs": 2.0, "max_steps": None}})
    assert (cfg.train.epochs, cfg.train.max_steps) == (2.0, None)
    with pytest.raises(ConfigError, match="--epochs and --max-steps"):
        resolve_config(path, {"train": {"epochs": 2.0, "max_steps": 5}})


@pytest.mark.parametrize("overrides, message", [
    ({"data": {"per_scenario": 0}}, r"^--per-scenario 0: Input should be greater than or equal to 1 \(data.per_scenario\)$"),
    ({"data": {"timeout_s": -1.0}}, r"^--timeout-s -1.0: .*\(data.timeout_s\)$"),
    ({"data": {"ood_terms": [3]}}, r"^--ood-term \[3\]: .*\(data.ood_terms.0\)$"),
    ({"judges": {"panel": "rubric"}}, r"^--judge rubric: .*\(judges.panel\)$"),
    ({"eval": {"protocol": "ranked"}}, r"^--protocol ranked: .*'pointwise', 'pairwise' or 'both' \(eval.protocol\)$"),
    ({"data": {"glossary": "nowhere.yaml"}}, r"^--glossary: file not found: nowhere.yaml$"),
    ({"eval": {"prompts": ["test", "absent.jsonl"]}}, r"^--prompts: file not found: absent.jsonl$"),
])
def test_an_invalid_option_is_one_line_naming_the_option(overrides, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config(None, overrides)


def test_a_missing_file_of_the_yaml_is_named_by_its_key(tmp_path):
    path = _study(tmp_path, "data: {glossary: gone.yaml}\n")
    with pytest.raises(ConfigError, match=r"study.yaml: data.glossary: file not found: .*gone.yaml"):
        resolve_config(path, {})
    # ...unless the command line replaces it.
    assert resolve_config(path, {"data": {"glossary": "telecom"}}).data.glossary == "telecom"


# ---------------------------------------------------------------- one source for each default


def test_the_data_stage_and_the_judges_share_the_client_settings():
    for name in CLIENT_SETTINGS:
        shared = ClientSettings.model_fields[name]
        for section in (DataConfig, JudgesConfig):
            field = section.model_fields[name]
            assert (field.default, field.description) == (shared.default, shared.description)
    assert {"timeout_s", "max_retries", "concurrency", "allow_plain_http"} == set(CLIENT_SETTINGS)


def test_model_prompt_set_and_glossary_defaults_come_from_their_owners():
    from telcotune.models import DEFAULT_MODEL, EMBEDDED
    from telcotune.paths import TEST_SPLITS

    assert ModelConfig().spec == DEFAULT_MODEL and DEFAULT_MODEL in EMBEDDED
    assert f"local:{DEFAULT_MODEL}" in JudgesConfig().panel
    assert EvalConfig().prompts[0] in TEST_SPLITS
    assert DataConfig().glossary_path() == BUILTIN_GLOSSARY_FILE and BUILTIN_GLOSSARY_FILE.is_file()


def test_the_local_backend_batches_like_the_evaluation():
    from telcotune.llm.local import LocalBackend

    assert LocalBackend("m").batch_size == EvalConfig().batch_size == GENERATION_BATCH_SIZE


def test_a_judges_own_protocol_must_name_a_judge_of_the_panel_and_follows_judge_overrides(tmp_path):
    from telcotune.config import resolve_config

    bad = tmp_path / "bad.yaml"
    bad.write_text("judges:\n  panel: [rubric]\n  protocols: {semantc: pointwise}\n")
    with pytest.raises(ConfigError, match="semantc"):
        load_config(bad)
    good = tmp_path / "good.yaml"
    good.write_text("judges:\n  panel: [rubric, semantic]\n  protocols: {semantic: pointwise}\n")
    assert load_config(good).judges.protocol("semantic", "both") == "pointwise"
    assert load_config(good).judges.protocol("rubric", "both") == "both"
    # --judge replaces the panel: the protocols of judges no longer in it are dropped, not an error
    assert resolve_config(good, {"judges": {"panel": ["rubric"]}}).judges.protocols == {}
    assert resolve_config(good, {"judges": {"panel": ["semantic"]}}).judges.protocols == {"semantic": "pointwise"}
