"""LoRA targets: which linear modules a model has, checks before training, and the PEFT wrap."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import torch

from ..config import ALL_LINEAR, ARCH_TARGET_PRESETS, TrainConfig
from ..errors import ConfigError


def linear_module_names(model: torch.nn.Module) -> list[str]:
    """Full names of the model's linear leaf modules (what LoRA can be injected into)."""
    linear_types: tuple[type, ...] = (torch.nn.Linear,)
    try:
        from transformers.pytorch_utils import Conv1D

        linear_types += (Conv1D,)
    except ImportError:  # pragma: no cover
        pass
    return [name for name, mod in model.named_modules() if name and isinstance(mod, linear_types)]


def short_names(full_names: Iterable[str]) -> list[str]:
    """`model.layers.0.self_attn.q_proj` -> `q_proj`, unique, in first-seen order."""
    return list(dict.fromkeys(n.rsplit(".", 1)[-1] for n in full_names))


def check_targets(targets: Iterable[str], full_names: list[str], label: str = "the model") -> None:
    """Raise ConfigError naming the targets the model lacks and listing the ones it has.
    A target matches like PEFT matches it: a module name equal to it or ending in `.target`."""
    missing = [t for t in targets if not any(n == t or n.endswith("." + t) for n in full_names)]
    if missing:
        have = ", ".join(short_names(full_names)) or "(none)"
        raise ConfigError(
            f"LoRA target module(s) {', '.join(missing)} not found in {label}; "
            f"its linear modules are: {have}")


def _matches(target: str, full_names: list[str]) -> bool:
    return any(n == target or n.endswith("." + target) for n in full_names)


def preset_family(full_names: list[str]) -> str | None:
    """The architecture family whose presets fit the model: the first whose `all` modules it
    has (`config.ARCH_TARGET_PRESETS`), None when no family fits."""
    return next((family for family, presets in ARCH_TARGET_PRESETS.items()
                 if all(_matches(t, full_names) for t in presets["all"])), None)


def all_linear(full_names: list[str], output_names: Iterable[str] = ("lm_head",)) -> list[str]:
    """PEFT's `all-linear`: the short names of every linear layer but the output head."""
    head = set(output_names)
    return short_names(n for n in full_names if n not in head)


def resolve_targets(targets: str, full_names: list[str], label: str = "the model",
                    output_names: Iterable[str] = ("lm_head",)) -> list[str]:
    """`targets` (a preset, `all-linear` or a comma list) as the module names LoRA is injected
    into; a ConfigError when the model lacks one. Presets take the names of the model's
    architecture family. Resolved once per run and stored in its config."""
    presets = ARCH_TARGET_PRESETS["llama"]
    if targets == ALL_LINEAR:
        modules = all_linear(full_names, output_names)
    elif targets in presets:
        family = preset_family(full_names)
        if family is None:
            have = ", ".join(short_names(full_names)) or "(none)"
            raise ConfigError(f"targets {targets!r}: no preset fits {label} (presets know "
                              f"{', '.join(ARCH_TARGET_PRESETS)} module names); its linear modules are: {have}; "
                              f"list the modules to target instead")
        modules = list(ARCH_TARGET_PRESETS[family][targets])
    else:
        modules = targets.split(",")
    check_targets(modules, full_names, label)
    return modules


def output_module_names(model: torch.nn.Module) -> list[str]:
    """Full names of the model's output head (what `all-linear` leaves out)."""
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    return [name for name, mod in model.named_modules() if head is not None and mod is head]


def meta_model(model_dir: Path, trust_remote_code: bool = False) -> torch.nn.Module:
    """The model built from its config alone on the meta device: no weights are read or allocated."""
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(model_dir, trust_remote_code=trust_remote_code)
    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(config, trust_remote_code=trust_remote_code)


def meta_model_linear_names(model_dir: Path, trust_remote_code: bool = False) -> list[str]:
    """Linear module names from the model's config alone (`meta_model`)."""
    return linear_module_names(meta_model(model_dir, trust_remote_code))


def model_targets(model: torch.nn.Module, targets: str, label: str = "the model") -> list[str]:
    """`resolve_targets` for a loaded (or meta) model."""
    return resolve_targets(targets, linear_module_names(model), label, output_module_names(model))


def lora_config(cfg: TrainConfig, modules: list[str]):
    from peft import LoraConfig

    return LoraConfig(
        r=cfg.r, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout,
        target_modules=list(modules), use_rslora=cfg.rslora, use_dora=cfg.dora,
        bias="none", task_type="CAUSAL_LM",
    )


def add_lora(model: torch.nn.Module, cfg: TrainConfig, modules: list[str]):
    """Wrap a fresh base model with a new LoRA adapter on `modules` (base weights frozen)."""
    import warnings

    from peft import get_peft_model

    with warnings.catch_warnings():  # peft 0.21 calls a transformers 5 method it deprecates
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        return get_peft_model(model, lora_config(cfg, modules))


def count_params(model: torch.nn.Module) -> tuple[int, int]:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return trainable, total
