"""`telcotune export-config`: a run's configuration as Axolotl and LLaMA-Factory YAML (only keys
those projects document) and as `trl sft` arguments TRL's own parser accepts."""

from __future__ import annotations

import json
import shlex

import pytest
import yaml

from telcotune.cli import main
from telcotune.config import TrainConfig
from telcotune.data.card import write_interop_files
from telcotune.paths import DataPaths, StudyPaths

from . import fake_study as fake
from .test_train_data import write_data

# Keys of Axolotl's config reference (docs/config-reference) this export may use.
AXOLOTL_KEYS = {"base_model", "trust_remote_code", "chat_template", "datasets", "test_datasets", "dataset_prepared_path",
                "output_dir", "adapter", "lora_r", "lora_alpha", "lora_dropout", "lora_target_modules",
                "peft_use_rslora", "peft_use_dora", "sequence_len", "sample_packing", "train_on_inputs",
                "micro_batch_size", "gradient_accumulation_steps", "max_steps", "num_epochs", "optimizer",
                "learning_rate", "lr_scheduler", "warmup_steps", "weight_decay", "max_grad_norm", "eval_steps",
                "save_steps", "early_stopping_patience", "bf16", "seed"}
AXOLOTL_DATASET_KEYS = {"path", "ds_type", "type", "split", "field_messages", "message_property_mappings",
                        "roles_to_train"}
# LLaMA-Factory's model, data, finetuning and training arguments (its examples/ and hparams/).
LLAMAFACTORY_KEYS = {"model_name_or_path", "trust_remote_code", "stage", "do_train", "finetuning_type", "lora_rank",
                     "lora_alpha", "lora_dropout", "lora_target", "use_rslora", "use_dora", "dataset_dir", "dataset",
                     "eval_dataset", "template", "cutoff_len", "train_on_prompt", "overwrite_cache", "output_dir",
                     "logging_steps", "save_steps", "overwrite_output_dir", "per_device_train_batch_size",
                     "gradient_accumulation_steps", "learning_rate", "max_steps", "num_train_epochs",
                     "lr_scheduler_type", "warmup_steps", "weight_decay", "max_grad_norm", "bf16",
                     "per_device_eval_batch_size", "eval_strategy", "eval_steps", "seed"}

SETTINGS = TrainConfig(r=8, alpha=16, dropout=0.1, targets="attn", lr=3e-4, max_steps=30, batch_size=4, grad_accum=2,
                       max_length=384, rslora=True, schedule="linear", seed=7)


@pytest.fixture()
def study(tmp_path):
    root = StudyPaths(tmp_path / "study")
    data = write_data(root.data, n_train=6, n_val=3)
    write_interop_files(DataPaths(data))
    fake.write_run(root.run("r8-attn"), SETTINGS, fake.run_metrics(1.2), model="Qwen/Qwen2.5-0.5B-Instruct",
                   data_dir=str(root.data))
    fake.write_run(root.run("embedded"), TrainConfig(), fake.run_metrics(1.3), data_dir=str(root.data))
    config = root.run("r8-attn") / "config.json"  # trained in fp32: TRL refuses bf16 on a CPU without it
    config.write_text(config.read_text().replace('"precision": "bf16"', '"precision": "fp32"'))
    return root


def _export(study, run, fmt, tmp_path) -> str:
    out = tmp_path / f"{run}.{fmt}"
    with pytest.raises(SystemExit) as done:
        main(["export-config", "--workdir", str(study.root), "--run", run, "--format", fmt, "--out", str(out)])
    assert done.value.code == 0
    return out.read_text()


def test_axolotl_yaml_uses_documented_keys_and_the_runs_settings(study, tmp_path):
    cfg = yaml.safe_load(_export(study, "r8-attn", "axolotl", tmp_path))
    assert set(cfg) <= AXOLOTL_KEYS
    assert all(set(d) <= AXOLOTL_DATASET_KEYS for d in cfg["datasets"] + cfg["test_datasets"])
    assert cfg["base_model"] == "Qwen/Qwen2.5-0.5B-Instruct" and cfg["adapter"] == "lora"
    assert (cfg["lora_r"], cfg["lora_alpha"], cfg["lora_dropout"], cfg["learning_rate"]) == (8, 16, 0.1, 3e-4)
    assert cfg["lora_target_modules"] == ["q_proj", "k_proj", "v_proj", "o_proj"] and cfg["peft_use_rslora"] is True
    assert (cfg["micro_batch_size"], cfg["gradient_accumulation_steps"], cfg["sequence_len"]) == (4, 2, 384)
    assert cfg["max_steps"] == 30 and "num_epochs" not in cfg and cfg["lr_scheduler"] == "linear"
    train = cfg["datasets"][0]
    assert train["type"] == "chat_template" and train["roles_to_train"] == ["assistant"]
    assert json.loads(open(train["path"]).readline())["messages"]
    assert cfg["test_datasets"][0]["path"].endswith("val.jsonl")


def test_llamafactory_yaml_points_at_the_data_folders_registry(study, tmp_path):
    cfg = yaml.safe_load(_export(study, "r8-attn", "llamafactory", tmp_path))
    assert set(cfg) <= LLAMAFACTORY_KEYS
    assert cfg["finetuning_type"] == "lora" and cfg["lora_rank"] == 8 and cfg["lora_target"] == "q_proj,k_proj,v_proj,o_proj"
    registry = json.loads((study.data / "dataset_info.json").read_text())
    assert cfg["dataset"] in registry and cfg["eval_dataset"] in registry
    assert cfg["template"] == "qwen" and cfg["cutoff_len"] == 384 and cfg["max_steps"] == 30


def test_trl_command_parses_with_trls_own_argument_parser(study, tmp_path):
    pytest.importorskip("trl")
    from transformers import HfArgumentParser
    from trl import ModelConfig, ScriptArguments, SFTConfig

    script = _export(study, "r8-attn", "trl", tmp_path)
    command = shlex.split(script.split("\n", 1)[1].replace("\\\n", " "), comments=True)
    assert command[:2] == ["trl", "sft"]
    script_args, sft, model = HfArgumentParser((ScriptArguments, SFTConfig, ModelConfig)).parse_args_into_dataclasses(
        command[2:])
    assert model.model_name_or_path == "Qwen/Qwen2.5-0.5B-Instruct" and model.use_peft and model.use_rslora
    assert (model.lora_r, model.lora_alpha, model.lora_dropout) == (8, 16, 0.1)
    assert model.lora_target_modules == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert (sft.learning_rate, sft.max_steps, sft.per_device_train_batch_size, sft.max_length) == (3e-4, 30, 4, 384)
    assert sft.gradient_accumulation_steps == 2 and sft.seed == 7 and sft.lr_scheduler_type == "linear"
    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset(script_args.dataset_name, cache_dir=str(tmp_path / "hf"))
    assert ds[script_args.dataset_train_split].num_rows == 6 and ds[script_args.dataset_test_split].num_rows == 3


def test_the_embedded_model_exports_as_its_converted_folder(study, tmp_path):
    cfg = yaml.safe_load(_export(study, "embedded", "axolotl", tmp_path))
    assert cfg["base_model"] == "/cache/m"  # the run's model_path: telcotune's safetensors copy


def test_an_unknown_run_names_the_runs_there(study, tmp_path, capsys):
    with pytest.raises(SystemExit) as done:
        main(["export-config", "--workdir", str(study.root), "--run", "nope", "--format", "trl",
              "--out", str(tmp_path / "x")])
    assert done.value.code == 2
    assert "runs with a config: embedded, r8-attn" in capsys.readouterr().err
