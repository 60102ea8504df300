"""`export` on the tiny model: the merged folder loads with plain transformers (no peft), carries
the tokenizer, chat template and end-of-turn stop, and answers greedy prompts with exactly the
adapter's token ids; written atomically, never over a folder that is not an export."""

from __future__ import annotations

import json

import pytest

from telcotune.errors import ConfigError
from telcotune.generation import prompt_ids, stop_token_ids
from telcotune.serve.export import EXPORT_MARKER, export_merged

from .test_evaluate import make_adapter

PROMPTS = ["My router lights are red, what now?", "I was charged for roaming in France.",
           "Wi-Fi calling drops at home."]


def greedy_ids(model, tokenizer, stops, text: str) -> list[int]:
    import torch

    prompt = prompt_ids(tokenizer, [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}])
    input_ids = torch.tensor([prompt])
    with torch.inference_mode():
        output = model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), max_new_tokens=12,
                                do_sample=False, eos_token_id=stops, pad_token_id=stops[0])
    return output[0, len(prompt):].tolist()


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def adapter(tmp_path_factory, tiny_model_dir):
    root = tmp_path_factory.mktemp("run")
    make_adapter(tiny_model_dir, root, seed=5)
    return root / "adapter"


def test_merged_model_answers_like_the_adapter(adapter, tiny_model_dir, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = export_merged(str(tiny_model_dir), adapter, tmp_path / "merged")
    names = {p.name for p in out.iterdir()}
    assert {"model.safetensors", "config.json", "generation_config.json", "tokenizer.json", EXPORT_MARKER} <= names
    assert "adapter_config.json" not in names and not list(tmp_path.glob(".merged*"))  # no temp folder left

    merged = AutoModelForCausalLM.from_pretrained(out)
    tokenizer = AutoTokenizer.from_pretrained(out)
    original = AutoTokenizer.from_pretrained(tiny_model_dir)
    assert tokenizer.chat_template == original.chat_template
    stops = stop_token_ids(merged, tokenizer)
    assert tokenizer.convert_tokens_to_ids("<|im_end|>") in json.loads((out / "generation_config.json").read_text())[
        "eos_token_id"]

    with_adapter = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_dir), str(adapter)).eval()
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    answers = [(greedy_ids(merged, tokenizer, stops, p), greedy_ids(with_adapter, original, stops, p),
                greedy_ids(base, original, stops, p)) for p in PROMPTS]
    assert all(m == a for m, a, _ in answers), answers
    assert any(m != b for m, _, b in answers)  # the adapter changes answers: the merge carried it


def test_bf16_export_and_safe_replacing(adapter, tiny_model_dir, tmp_path):
    out = tmp_path / "merged"
    export_merged(str(tiny_model_dir), adapter, out, dtype="bf16")
    assert json.loads((out / "config.json").read_text())["dtype"] == "bfloat16"
    export_merged(str(tiny_model_dir), adapter, out)  # an earlier export is replaced
    assert json.loads((out / "config.json").read_text())["dtype"] == "float32"
    assert json.loads((out / EXPORT_MARKER).read_text())["dtype"] == "fp32"

    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="not an earlier export"):
        export_merged(str(tiny_model_dir), adapter, precious)
    assert (precious / "notes.txt").read_text() == "keep me"
    with pytest.raises(ConfigError, match="--dtype"):
        export_merged(str(tiny_model_dir), adapter, tmp_path / "x", dtype="fp8")
    with pytest.raises(ConfigError, match="adapter_config.json"):
        export_merged(str(tiny_model_dir), tmp_path, tmp_path / "y")
