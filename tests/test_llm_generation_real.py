"""`generate_batch` on the real embedded model, whose pad, eos and end-of-turn are one token."""

import pytest

from telcotune.generation import generate_batch, stop_token_ids
from telcotune.models import load_model, load_tokenizer, resolve_model


@pytest.mark.slow
def test_embedded_model_batched_equals_single_and_stops(embedded_cache, monkeypatch):
    monkeypatch.setenv("TELCOTUNE_CACHE", str(embedded_cache))
    folder = resolve_model("smollm2-135m-instruct")
    model, tokenizer = load_model(folder), load_tokenizer(folder)
    assert tokenizer.pad_token_id == tokenizer.eos_token_id == tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert stop_token_ids(model, tokenizer) == [tokenizer.eos_token_id]
    conversations = [
        [{"role": "user", "content": "What is 2+2? Answer with a number only."}],
        [{"role": "system", "content": "You are a concise telecom support agent."},
         {"role": "user", "content": "My mobile data is not working. What should I check first?"}],
    ]
    batched = generate_batch(model, tokenizer, conversations, max_new_tokens=24)
    single = [generate_batch(model, tokenizer, [c], max_new_tokens=24)[0] for c in conversations]
    assert [r.text for r in batched] == [r.text for r in single]
    assert "4" in batched[0].text and batched[0].new_tokens < 24  # stopped at <|im_end|>
    assert "<|im_end|>" not in batched[0].text
