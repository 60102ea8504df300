"""Merge an adapter into its base model and write a standalone model folder: safetensors,
config, tokenizer with its chat template, and a generation config that stops at the end of a
turn, so plain `transformers` and vLLM load it without peft.

The merge runs in fp32 whatever the output dtype, and the folder appears in one rename (a
reader never sees half an export). An existing folder is only replaced if it is an export.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..fsio import atomic_dir, write_json
from ..generation import stop_token_ids
from ..manifest import now_iso
from ..models import load_model, load_tokenizer, resolve_model

EXPORT_MARKER = "telcotune_export.json"
DTYPES = ("fp32", "bf16")


def export_merged(model_spec: str, adapter_dir: Path, out: Path, dtype: str = "fp32",
                  trust_remote_code: bool = False) -> Path:
    """Write `base + adapter` merged to `out`; returns `out`."""
    out, adapter_dir = Path(out), Path(adapter_dir)
    _check_target(out)
    if not (adapter_dir / "adapter_config.json").is_file():
        raise ConfigError(f"{adapter_dir}: no adapter_config.json; expected a PEFT adapter folder")
    if dtype not in DTYPES:
        raise ConfigError(f"--dtype {dtype!r}: use one of {', '.join(DTYPES)}")
    model_dir = resolve_model(model_spec)
    model = merged_model(model_dir, adapter_dir, dtype, trust_remote_code)
    tokenizer = load_tokenizer(model_dir, trust_remote_code=trust_remote_code)
    _set_generation_config(model, tokenizer)
    with atomic_dir(out) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        write_json(tmp / EXPORT_MARKER, {"base_model": model_spec, "adapter": str(adapter_dir.resolve()),
                                         "dtype": dtype, "written_at": now_iso()})
    return out


def merged_model(model_dir: Path, adapter_dir: Path, dtype: str = "fp32", trust_remote_code: bool = False) -> Any:
    import torch
    from peft import PeftModel

    base = load_model(model_dir, dtype=torch.float32, trust_remote_code=trust_remote_code)
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    return merged.to(torch.bfloat16 if dtype == "bf16" else torch.float32).eval()


def _set_generation_config(model: Any, tokenizer: Any) -> None:
    # vLLM and `generate` stop at generation_config's eos ids: include the end-of-turn token.
    config = model.generation_config
    config.eos_token_id = stop_token_ids(model, tokenizer)
    if config.pad_token_id is None:
        config.pad_token_id = tokenizer.pad_token_id


def _check_target(out: Path) -> None:
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / EXPORT_MARKER).is_file())):
        raise ConfigError(f"{out} exists and is not an earlier export; choose a new or empty --out folder")
