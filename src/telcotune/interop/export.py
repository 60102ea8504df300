"""`telcotune export-config`: one run's configuration (its resolved `config.json`) written as a
config that retrains it with Axolotl, LLaMA-Factory or TRL on the study's own data folder. Only
keys those projects document are written; what they cannot express is said in a comment."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from ..artifacts.io import read_record
from ..artifacts.run import RunConfig
from ..data.card import HF_SPLIT, llamafactory_name
from ..errors import ConfigError
from ..fsio import write_text
from ..models import EMBEDDED, looks_like_hub_id
from ..paths import DataPaths, StudyPaths

HF_SCHEDULER = {"cosine": "cosine", "linear": "linear", "constant": "constant_with_warmup"}
"""telcotune's schedule -> the transformers scheduler name (warmup then the schedule)."""
LLAMAFACTORY_TEMPLATES = (("qwen", "qwen"), ("llama-3", "llama3"), ("llama3", "llama3"), ("mistral", "mistral"),
                          ("phi-3", "phi"), ("gemma", "gemma"), ("smollm", "qwen"))
"""Model name fragment -> LLaMA-Factory chat template (SmolLM2 uses the same ChatML turns as Qwen)."""


def export_model(cfg: RunConfig) -> str:
    """The base model another tool should load: a hub id as given, else the local folder the run
    loaded (for the embedded model, telcotune's converted safetensors copy)."""
    spec = cfg.model.strip()
    if spec.lower() in EMBEDDED or Path(spec).expanduser().is_dir() or not looks_like_hub_id(spec):
        return cfg.model_path
    return spec


def _alpha(alpha: float) -> int | float:
    """LoRA alpha as the tools type it (an int: TRL's parser refuses `16.0`)."""
    return int(alpha) if float(alpha).is_integer() else alpha


def _length(cfg: RunConfig, steps_key: str, epochs_key: str) -> dict[str, Any]:
    train = cfg.train
    return {steps_key: train.max_steps} if train.max_steps else {epochs_key: train.epochs}


def axolotl(cfg: RunConfig, data: DataPaths, out_dir: str) -> dict[str, Any]:
    t = cfg.train

    def dataset(split: str) -> dict[str, Any]:
        return {"path": str(data.split(split)), "ds_type": "json", "type": "chat_template", "split": "train",
                "field_messages": "messages", "message_property_mappings": {"role": "role", "content": "content"},
                "roles_to_train": ["assistant"]}

    return {
        "base_model": export_model(cfg), "trust_remote_code": cfg.trust_remote_code,
        "chat_template": "tokenizer_default",
        "datasets": [dataset("train")], "test_datasets": [dataset("val")],
        "dataset_prepared_path": f"{out_dir}/prepared", "output_dir": out_dir,
        "adapter": "lora", "lora_r": t.r, "lora_alpha": _alpha(t.alpha), "lora_dropout": t.dropout,
        "lora_target_modules": list(cfg.target_modules), "peft_use_rslora": t.rslora, "peft_use_dora": t.dora,
        "sequence_len": t.max_length, "sample_packing": False, "train_on_inputs": False,
        "micro_batch_size": t.batch_size, "gradient_accumulation_steps": t.grad_accum,
        **_length(cfg, "max_steps", "num_epochs"),
        "optimizer": "adamw_torch", "learning_rate": t.lr, "lr_scheduler": HF_SCHEDULER[t.schedule],
        "warmup_steps": cfg.warmup_steps, "weight_decay": t.weight_decay, "max_grad_norm": cfg.max_grad_norm,
        "eval_steps": t.eval_every, "save_steps": t.save_every,
        **({"early_stopping_patience": t.early_stopping} if t.early_stopping else {}),
        "bf16": cfg.precision == "bf16", "seed": t.seed,
    }


def llamafactory(cfg: RunConfig, data: DataPaths, out_dir: str) -> dict[str, Any]:
    t = cfg.train
    model = cfg.model.lower()
    template = next((tpl for frag, tpl in LLAMAFACTORY_TEMPLATES if frag in model), "default")
    return {
        "model_name_or_path": export_model(cfg), "trust_remote_code": cfg.trust_remote_code,
        "stage": "sft", "do_train": True, "finetuning_type": "lora",
        "lora_rank": t.r, "lora_alpha": _alpha(t.alpha), "lora_dropout": t.dropout,
        "lora_target": ",".join(cfg.target_modules), "use_rslora": t.rslora, "use_dora": t.dora,
        "dataset_dir": str(data.root), "dataset": llamafactory_name("train"),
        "eval_dataset": llamafactory_name("val"), "template": template, "cutoff_len": t.max_length,
        "train_on_prompt": False, "overwrite_cache": True,
        "output_dir": out_dir, "logging_steps": 1, "save_steps": t.save_every, "overwrite_output_dir": True,
        "per_device_train_batch_size": t.batch_size, "gradient_accumulation_steps": t.grad_accum,
        "learning_rate": t.lr, **_length(cfg, "max_steps", "num_train_epochs"),
        "lr_scheduler_type": HF_SCHEDULER[t.schedule], "warmup_steps": cfg.warmup_steps,
        "weight_decay": t.weight_decay, "max_grad_norm": cfg.max_grad_norm, "bf16": cfg.precision == "bf16",
        "per_device_eval_batch_size": t.batch_size, "eval_strategy": "steps", "eval_steps": t.eval_every,
        "seed": t.seed,
    }


def trl_args(cfg: RunConfig, data: DataPaths, out_dir: str) -> list[str]:
    """`trl sft` arguments (TRL's ScriptArguments, SFTConfig and ModelConfig fields). The dataset
    is the data folder itself: its dataset card names the splits."""
    t = cfg.train
    length = _length(cfg, "max_steps", "num_train_epochs")
    args: dict[str, Any] = {
        "model_name_or_path": export_model(cfg), "dataset_name": str(data.root),
        "dataset_train_split": HF_SPLIT["train"], "dataset_test_split": HF_SPLIT["val"],
        "use_peft": True, "lora_r": t.r, "lora_alpha": _alpha(t.alpha), "lora_dropout": t.dropout,
        "use_rslora": t.rslora, "use_dora": t.dora,
        "learning_rate": t.lr, "per_device_train_batch_size": t.batch_size,
        "per_device_eval_batch_size": t.batch_size, "gradient_accumulation_steps": t.grad_accum,
        "max_length": t.max_length, **length, "lr_scheduler_type": HF_SCHEDULER[t.schedule],
        "warmup_steps": cfg.warmup_steps, "weight_decay": t.weight_decay, "max_grad_norm": cfg.max_grad_norm,
        "eval_strategy": "steps", "eval_steps": t.eval_every, "save_steps": t.save_every,
        "logging_steps": 1, "seed": t.seed, "bf16": cfg.precision == "bf16", "output_dir": out_dir,
    }
    out = []
    for key, value in args.items():
        out += [f"--{key}", str(value).lower() if isinstance(value, bool) else str(value)]
    return [*out, "--lora_target_modules", *cfg.target_modules]


def _yaml(header: str, body: dict[str, Any]) -> str:
    return header + yaml.safe_dump(body, sort_keys=False)


def _header(cfg: RunConfig, run: str, tool: str, notes: list[str]) -> str:
    lines = [f"telcotune run {run!r} as a {tool} config (telcotune export-config).",
             f"Base model: {cfg.model} (loaded from {export_model(cfg)}); target modules resolved by telcotune.",
             "telcotune trains on assistant tokens only, in length-grouped micro-batches; step counts can",
             "differ where the other tool batches differently.", *notes]
    return "".join(f"# {line}\n" for line in lines)


def render(fmt: str, cfg: RunConfig, run: str, data: DataPaths, out_dir: str) -> str:
    if fmt == "axolotl":
        return _yaml(_header(cfg, run, "Axolotl", ["Run: axolotl train FILE"]), axolotl(cfg, data, out_dir))
    if fmt == "llamafactory":
        notes = ["Run: llamafactory-cli train FILE (dataset_dir holds telcotune's dataset_info.json).",
                 "Check `template` matches the model's chat format."]
        return _yaml(_header(cfg, run, "LLaMA-Factory", notes), llamafactory(cfg, data, out_dir))
    notes = ["TRL computes the loss on every token of the conversation unless the chat template marks",
             "assistant turns with {% generation %} (then add --assistant_only_loss true).",
             "trust_remote_code models need --model_init_kwargs '{\"trust_remote_code\": true}'."]
    command = " \\\n  ".join(shlex.quote(a) for a in ["trl", "sft", *trl_args(cfg, data, out_dir)])
    return "#!/bin/sh\n" + _header(cfg, run, "TRL (`trl sft`)", notes) + command + "\n"


FORMATS: dict[str, Callable[..., Any]] = {"axolotl": axolotl, "llamafactory": llamafactory, "trl": trl_args}


def export_config(workdir: Path, run: str, fmt: str, out: Path) -> Path:
    """Write run `run` of the study in `workdir` as a `fmt` config to `out`."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt}: expected one of {', '.join(FORMATS)}")
    study = StudyPaths(Path(workdir))
    paths = study.sweep_paths.run(run)
    if not paths.config.is_file():
        have = ", ".join(p.name for p in study.sweep_paths.run_folders() if p.config.is_file()) or "(none)"
        raise ConfigError(f"--run {run}: {paths.config} not found; runs with a config: {have}")
    cfg = read_record(paths.config, RunConfig)
    data = DataPaths(study.data.resolve() if DataPaths(study.data).split("train").is_file() else Path(cfg.data_dir))
    out_dir = str(study.exported(run, fmt).resolve())
    write_text(out, render(fmt, cfg, run, data, out_dir))
    return Path(out)
