"""The decode loop on a tiny random model: a row that stops leaves the running batch (later steps
run on fewer rows, the window of columns narrows) and every row's tokens stay those of
one-prompt-at-a-time decoding."""

import torch

from telcotune import generation
from telcotune.generation import generate_batch, prompt_ids
from telcotune.models import load_model, load_tokenizer

from .test_prefill import _randomize

CONVERSATIONS = [
    [{"role": "user", "content": "The router lights are red and the fibre ONT lost its signal since this morning."}],
    [{"role": "user", "content": "Hello"}],
    [{"role": "user", "content": "Roaming in France?"}],
    [{"role": "user", "content": "Wi-Fi calling drops at home. What should I check first?"}],
]


def test_finished_rows_leave_the_batch_and_outputs_match_one_at_a_time(tiny_model_dir, monkeypatch):
    model, tokenizer = _randomize(load_model(tiny_model_dir)), load_tokenizer(tiny_model_dir)
    # Stop at the third token the longest prompt produces: it then leaves first, mid-decode.
    longest = max(range(len(CONVERSATIONS)), key=lambda i: len(prompt_ids(tokenizer, CONVERSATIONS[i])))
    ids = torch.tensor([prompt_ids(tokenizer, CONVERSATIONS[longest])])
    with torch.inference_mode():
        free = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=3,
                              min_new_tokens=3, do_sample=False, top_k=None, top_p=None)
    stop = int(free[0, -1])
    monkeypatch.setattr(generation, "stop_token_ids", lambda *args: [stop])

    rows, widths = [], []

    def record(module, args, kwargs):
        if kwargs["input_ids"].shape[1] == 1:  # decode steps (the prefill runs whole prompts)
            rows.append(kwargs["input_ids"].shape[0])
            widths.append(kwargs["attention_mask"].shape[-1])

    handle = model.register_forward_pre_hook(record, with_kwargs=True)
    try:
        batched = generate_batch(model, tokenizer, CONVERSATIONS, max_new_tokens=12, batch_size=4)
    finally:
        handle.remove()
    single = [generate_batch(model, tokenizer, [c], max_new_tokens=12)[0] for c in CONVERSATIONS]
    assert [r.text for r in batched] == [r.text for r in single]
    assert [r.new_tokens for r in batched] == [r.new_tokens for r in single]
    assert batched[longest].new_tokens <= 2
    assert rows[0] == 4 and rows[-1] < 4 and rows == sorted(rows, reverse=True)
    # Once the longest prompt has left, its left padding is no longer attended.
    after = rows.index(rows[-1])
    assert widths[after] < widths[after - 1]
