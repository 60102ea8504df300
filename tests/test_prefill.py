"""Ragged prefill on tiny random models: the stacked cache holds exactly each prompt's own keys
and values, and decoding from it gives the tokens plain one-prompt `generate` gives."""

import pytest
import torch
from transformers import DynamicCache, GenerationConfig, Qwen2Config, Qwen2ForCausalLM

from telcotune.generation import prompt_ids, generate_batch, stop_token_ids
from telcotune.models import load_model, load_tokenizer
from telcotune.prefill import ragged_prefill, shared_prefix

SYSTEM = {"role": "system", "content": "You are a telecom support agent. Be brief."}
CONVERSATIONS = [
    [SYSTEM, {"role": "user", "content": "Hello"}],
    [SYSTEM, {"role": "user", "content": "The router lights are red and the fibre ONT lost its signal."}],
    [SYSTEM, {"role": "user", "content": "Roaming in France?"}],
    [{"role": "user", "content": "Wi-Fi calling drops at home. What should I check first?"}],
]


def _randomize(model):
    # The saved tiny model's weights are so small every prompt decodes alike; larger ones make
    # replies depend on the prompt, so a misplaced key or position would show.
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for param in model.parameters():
            if param.dim() >= 2:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.3)
    return model.eval()


@pytest.fixture(scope="module")
def model_and_tokenizer(tiny_model_dir):
    return _randomize(load_model(tiny_model_dir)), load_tokenizer(tiny_model_dir)


def _plain_generate(model, tokenizer, conversation, max_new_tokens) -> str:
    """The reference: one prompt, no padding, transformers' own prefill; the text before the stop."""
    ids = torch.tensor([prompt_ids(tokenizer, conversation)])
    stops = stop_token_ids(model, tokenizer)
    config = GenerationConfig(max_new_tokens=max_new_tokens, do_sample=False, top_k=None, top_p=None,
                              eos_token_id=stops, pad_token_id=tokenizer.pad_token_id)
    with torch.inference_mode():
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), generation_config=config)
    new = out[0, ids.shape[1]:].tolist()
    end = next((k for k, token in enumerate(new) if token in stops), len(new))
    return tokenizer.decode(new[:end], skip_special_tokens=True)


def test_shared_prefix_keeps_a_token_for_every_prompt():
    assert shared_prefix([[1, 2, 3, 4], [1, 2, 3, 5, 6]]) == [1, 2, 3]
    assert shared_prefix([[1, 2, 3], [1, 2, 3, 4]]) == [1, 2]
    assert shared_prefix([[1, 2], [3, 4]]) == []


def test_cache_rows_hold_each_prompts_own_keys_and_values_right_aligned(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    prompts = [prompt_ids(tokenizer, c) for c in CONVERSATIONS]
    assert len(shared_prefix(prompts[:3])) > 5  # the system prompt is shared and computed once
    width = max(len(p) for p in prompts) - 1
    cache = ragged_prefill(model, prompts, max_cache_len=width + 8)
    assert int(cache.get_seq_length()) == width
    for row, prompt in enumerate(prompts):
        alone = DynamicCache(config=model.config)
        with torch.inference_mode():
            model(input_ids=torch.tensor([prompt[:-1]]), past_key_values=alone, use_cache=True)
        pad = width - (len(prompt) - 1)
        for layer, reference in zip(cache.layers, alone.layers):
            torch.testing.assert_close(layer.keys[row, :, pad:width], reference.keys[0], rtol=1e-4, atol=1e-5)
            torch.testing.assert_close(layer.values[row, :, pad:width], reference.values[0], rtol=1e-4, atol=1e-5)
            assert not layer.keys[row, :, :pad].any()


def test_batched_greedy_equals_plain_generate_per_prompt(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    batched = generate_batch(model, tokenizer, CONVERSATIONS, max_new_tokens=10, batch_size=4)
    assert [r.text for r in batched] == [_plain_generate(model, tokenizer, c, 10) for c in CONVERSATIONS]
    assert len({r.text for r in batched}) > 1


def test_unwritten_buffer_memory_never_reaches_the_output(model_and_tokenizer, monkeypatch):
    """The cache buffers are not zero-filled (only their pad columns are): with every new buffer
    full of NaN, as reused memory may be, the replies are still plain generate's."""
    model, tokenizer = model_and_tokenizer
    real_empty = torch.empty
    monkeypatch.setattr(torch, "empty", lambda *a, **k: real_empty(*a, **k).fill_(float("nan")))
    batched = generate_batch(model, tokenizer, CONVERSATIONS, max_new_tokens=10, batch_size=4)
    assert [r.text for r in batched] == [_plain_generate(model, tokenizer, c, 10) for c in CONVERSATIONS]


def test_adapter_layers_take_part_in_the_prefill(model_and_tokenizer):
    from peft import LoraConfig, get_peft_model

    base, tokenizer = model_and_tokenizer
    model = get_peft_model(_randomize(load_model(base.name_or_path)),
                           LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    with torch.no_grad():  # LoRA B starts at zero; a non-zero one changes every key and value
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.copy_(torch.randn(param.shape, generator=torch.Generator().manual_seed(2)))
    model.eval()
    batched = [r.text for r in generate_batch(model, tokenizer, CONVERSATIONS, max_new_tokens=8, batch_size=4)]
    assert batched == [_plain_generate(model, tokenizer, c, 8) for c in CONVERSATIONS]
    assert batched != [_plain_generate(base, tokenizer, c, 8) for c in CONVERSATIONS]


def test_sliding_window_models_fall_back_to_the_padded_prefill(model_and_tokenizer):
    _, tokenizer = model_and_tokenizer
    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, use_sliding_window=True,
                         sliding_window=16, layer_types=["sliding_attention", "full_attention"],
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    model = _randomize(Qwen2ForCausalLM(config))
    prompts = [prompt_ids(tokenizer, c) for c in CONVERSATIONS]
    assert ragged_prefill(model, prompts, max_cache_len=200) is None
    results = generate_batch(model, tokenizer, CONVERSATIONS, max_new_tokens=6, batch_size=4)
    assert all(0 <= r.new_tokens <= 6 for r in results)


def test_single_token_prompts_fall_back(model_and_tokenizer):
    model, _ = model_and_tokenizer
    assert ragged_prefill(model, [[5], [5, 6, 7]], max_cache_len=20) is None
