"""Loss mask, batching, schedule and loss function of the training package (tiny model)."""

from __future__ import annotations

import pytest
import torch

from telcotune.config import TARGET_PRESETS
from telcotune.paths import SweepPaths
from telcotune.errors import ConfigError

from .test_train_data import conversation_row, tiny_threads, write_data  # noqa: F401 (autouse fixture)

MESSAGES = [
    {"role": "system", "content": "You are a telecom support assistant."},
    {"role": "user", "content": "My router lights are red."},
    {"role": "assistant", "content": "Reset the router and check the cable."},
    {"role": "user", "content": "Still red."},
    {"role": "assistant", "content": "Check the fibre ONT signal.\nThen restart the phone."},
]


@pytest.fixture(scope="module")
def tok(tiny_model_dir):
    from telcotune.models import load_tokenizer

    return load_tokenizer(tiny_model_dir)


def _expected_mask(tok, text: str, ids: list[int], pieces: list[str]) -> list[bool]:
    """Independent of the implementation: each token's start from the lengths of the decoded
    tokens before it; a token is expected in the loss when it starts inside `piece` where
    `<|im_start|>assistant\\n` + piece occurs in the text."""
    spans, pos = [], 0
    for piece in pieces:
        header = "<|im_start|>assistant\n"
        at = text.index(header + piece, pos) + len(header)
        spans.append((at, at + len(piece)))
        pos = at + len(piece)
    starts, cursor = [], 0
    for i in ids:
        starts.append(cursor)
        cursor += len(tok.decode([i]))
    assert cursor == len(text)
    return [any(a <= s < b for a, b in spans) for s in starts]


def test_label_mask_token_by_token_on_chatml_without_generation_markers(tok):
    from telcotune.train.tokenize import encode_conversation

    assert "{% generation %}" not in tok.chat_template
    ids, targets = encode_conversation(tok, MESSAGES)
    text = tok.apply_chat_template(MESSAGES, tokenize=False)
    assert tok.decode(ids) == text
    pieces = [m["content"] + "<|im_end|>" for m in MESSAGES if m["role"] == "assistant"]
    assert targets == _expected_mask(tok, text, ids, pieces)
    # the masked tokens are exactly the assistant contents, each with its end-of-turn token
    runs, run = [], []
    for i, (t, flag) in enumerate(zip(ids, targets)):
        if flag:
            run.append(i)
        elif run:
            runs.append(run)
            run = []
    assert [tok.decode([ids[i] for i in r]) for r in runs] == pieces
    for r in runs:
        assert tok.decode([ids[r[0] - 1]]).endswith("\n")  # role header `assistant\n` excluded
        assert tok.decode([ids[r[-1] + 1]]) == "\n"  # the newline after <|im_end|> excluded
    assert tok.decode([i for i, f in zip(ids, targets) if not f]).count("<|im_start|>assistant\n") == 2


def test_label_mask_with_default_system_prompt_template(tok):
    """SmolLM2's template inserts a system prompt when the conversation has none."""
    from telcotune.train.tokenize import encode_conversation

    tok = _with_template(tok, (
        "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
        "{{ '<|im_start|>system\nYou are helpful.<|im_end|>\n' }}{% endif %}"
        "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
        "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"))
    ids, targets = encode_conversation(tok, MESSAGES[1:])
    assert tok.decode([i for i, f in zip(ids, targets) if f]) == (
        "Reset the router and check the cable.<|im_end|>"
        "Check the fibre ONT signal.\nThen restart the phone.<|im_end|>")


def test_label_mask_for_template_without_generation_prompt_and_trimmed_content(tok):
    from telcotune.train.tokenize import encode_conversation

    tok = _with_template(tok, "{% for m in messages %}{{ m['role'] + ': ' + m['content'] | trim + eos_token + '\n' }}{% endfor %}")
    messages = [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": " Reset the router. "}]
    ids, targets = encode_conversation(tok, messages)
    # the separator's space is fused into the first content token (` Reset`), which is trained
    assert tok.decode([i for i, f in zip(ids, targets) if f]) == " Reset the router.<|im_end|>"
    assert tok.decode([i for i, f in zip(ids, targets) if not f]) == "user: Hello<|im_end|>\nassistant:\n"


def test_template_that_rewrites_earlier_turns_is_rejected(tok):
    from telcotune.train.tokenize import encode_conversation

    tok = _with_template(tok, (
        "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' }}"
        "{% if loop.last %}{{ m['content'] }}{% else %}{{ m['content'][:3] }}{% endif %}"
        "{{ '<|im_end|>\n' }}{% endfor %}"))
    with pytest.raises(ConfigError, match="not prefix-stable"):
        encode_conversation(tok, MESSAGES)


def _with_template(tok, template: str):
    import copy

    other = copy.deepcopy(tok)
    other.chat_template = template
    return other


def test_tokenize_data_caches_and_select_truncates(tmp_path, tok):
    from telcotune.train.batching import select
    from telcotune.train.tokenize import tokenize_data

    data = write_data(tmp_path / "data", n_train=10, n_val=4)
    first = tokenize_data(data, tok, cache=SweepPaths(tmp_path / "sweep"))
    cached = list((tmp_path / "sweep").glob(".tokenized-*.pt"))
    assert len(cached) == 1
    again = tokenize_data(data, tok, cache=SweepPaths(tmp_path / "sweep"))
    assert again.key == first.key and torch.equal(again.train.ids, first.train.ids)
    assert len(first.train) == 10 and len(first.val) == 4
    full = select(first.train, 10_000, None, 0)
    short = select(first.train, 100, None, 0)
    assert len(short) > 0 and int(short.lengths.max()) <= 100
    assert short.n_targets.sum() < full.n_targets.sum()
    assert len(select(first.train, 16, None, 0)) == 0  # no assistant token within 16 tokens: dropped
    subset = select(first.train, 10_000, 3, seed=1)
    assert len(subset) == 3 and torch.equal(subset.index, select(first.train, 10_000, 3, seed=1).index)
    # the data changes -> another key
    (data / "val.jsonl").write_text((data / "val.jsonl").read_text().splitlines()[0] + "\n")
    assert tokenize_data(data, tok, cache=SweepPaths(tmp_path / "sweep")).key != first.key
    assert len(list((tmp_path / "sweep").glob(".tokenized-*.pt"))) == 1  # the stale one is gone


def test_epoch_batches_cover_every_example_once_grouped_by_length(tmp_path, tok):
    from telcotune.train.batching import MicroBatchStream, epoch_batches, select
    from telcotune.train.tokenize import tokenize_split

    split = tokenize_split(tok, [conversation_row(i, 1 + i % 4) for i in range(37)])
    ex = select(split, 10_000, None, 0)
    batches = epoch_batches(ex, 4, seed=3, epoch=0)
    flat = sorted(p for b in batches for p in b)
    assert flat == list(range(len(ex)))
    assert batches == epoch_batches(ex, 4, seed=3, epoch=0)
    assert batches != epoch_batches(ex, 4, seed=3, epoch=1)
    for b in batches:
        lengths = ex.lengths[b].tolist()
        assert lengths == sorted(lengths, reverse=True)
    stream = MicroBatchStream(ex, 4, seed=3, pad_id=0)
    assert stream.per_epoch == 10
    assert stream.positions(10) == epoch_batches(ex, 4, seed=3, epoch=1)[0]
    b = stream.batch(0)
    assert b.n_tokens == int(ex.lengths[stream.positions(0)].sum())
    assert b.targets.shape == (b.input_ids.shape[0], b.input_ids.shape[1] - 1)


def test_right_padding_without_attention_mask_is_exact_and_fast_loss_matches_full(tiny_model_dir, tok, monkeypatch):
    from telcotune.config import TrainConfig
    from telcotune.models import load_model
    from telcotune.train.batching import collate, select
    from telcotune.train.lora import add_lora
    from telcotune.train.loss import LossFn
    from telcotune.train.tokenize import tokenize_split

    torch.manual_seed(0)
    model = add_lora(load_model(tiny_model_dir), TrainConfig(dropout=0.0), ["q_proj", "v_proj"]).eval()
    ex = select(tokenize_split(tok, [conversation_row(1, 1), conversation_row(2, 4)]), 10_000, None, 0)
    batch = collate(ex, [0, 1], pad_id=0)
    short = int(ex.lengths[0]) if ex.lengths[0] < ex.lengths[1] else int(ex.lengths[1])
    row = 0 if ex.lengths[0] < ex.lengths[1] else 1
    with torch.no_grad():
        padded = model(input_ids=batch.input_ids).logits[row, :short]
        alone = model(input_ids=batch.input_ids[row:row + 1, :short]).logits[0]
    assert torch.allclose(padded, alone, atol=1e-5)
    fast = LossFn(model, torch.device("cpu"), "fp32")
    assert fast.fast
    full = LossFn(model, torch.device("cpu"), "fp32")
    full.fast = False
    lora = [p for p in model.parameters() if p.requires_grad]
    with torch.no_grad():
        for p in lora:
            p.normal_(0, 0.05)  # lora_B starts at 0: make every gradient non-trivial
    rows = batch.n_targets // 7  # logits in several chunks, the last one partial
    monkeypatch.setattr("telcotune.train.loss.CHUNK_BYTES", rows * 4 * fast.head.weight.shape[0])
    a, b = fast(batch.input_ids, batch.targets), full(batch.input_ids, batch.targets)
    grads_a = torch.autograd.grad(a, lora)
    grads_b = torch.autograd.grad(b, lora)
    assert torch.allclose(a, b, rtol=1e-5)
    errs = [float((x - y).abs().max() / y.abs().max()) for x, y in zip(grads_a, grads_b)]
    assert max(errs) < 1e-4, errs
    with torch.inference_mode():  # validation: no gradient work
        assert torch.allclose(fast(batch.input_ids, batch.targets), a, rtol=1e-5)
    bf16 = LossFn(model, torch.device("cpu"), "bf16")
    with torch.no_grad():
        assert torch.allclose(bf16(batch.input_ids, batch.targets), a, rtol=2e-2)


def test_loss_falls_on_a_fixed_batch(tiny_model_dir, tok):
    from telcotune.config import TrainConfig
    from telcotune.models import load_model
    from telcotune.train.batching import collate, select
    from telcotune.train.lora import add_lora
    from telcotune.train.loss import LossFn
    from telcotune.train.tokenize import tokenize_split

    torch.manual_seed(0)
    model = add_lora(load_model(tiny_model_dir), TrainConfig(r=8, dropout=0.0, targets="all"),
                     list(TARGET_PRESETS["all"])).train()
    ex = select(tokenize_split(tok, [conversation_row(i, 2) for i in range(4)]), 10_000, None, 0)
    batch = collate(ex, [0, 1, 2, 3], pad_id=0)
    loss_fn = LossFn(model, torch.device("cpu"), "fp32")
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    losses = []
    for _ in range(15):
        loss = loss_fn(batch.input_ids, batch.targets) / batch.n_targets
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.5, losses


def test_lr_schedule_warms_up_then_decays():
    from telcotune.train.run import lr_factor

    cosine = [lr_factor("cosine", 2, 10)(s) for s in range(10)]
    assert cosine[0] > 0 and cosine[0] < cosine[1] < cosine[2] == 1.0
    assert all(a >= b for a, b in zip(cosine[2:], cosine[3:])) and cosine[-1] > 0
    assert [lr_factor("constant", 0, 5)(s) for s in range(5)] == [1.0] * 5
    linear = [lr_factor("linear", 0, 4)(s) for s in range(4)]
    assert linear == [1.0, 0.75, 0.5, 0.25]


def test_unknown_target_lists_the_models_modules(tiny_qwen_dir):
    from telcotune.train.lora import check_targets, meta_model_linear_names

    names = meta_model_linear_names(tiny_qwen_dir)
    check_targets(["q_proj", "v_proj"], names)
    with pytest.raises(ConfigError) as info:
        check_targets(["q_proj", "query_key_value"], names, "model 'tiny'")
    msg = str(info.value)
    assert "query_key_value" in msg and "model 'tiny'" in msg
    for have in ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"):
        assert have in msg


def test_auto_precision_follows_the_hardware(monkeypatch):
    from telcotune.train import precision

    cpu = torch.device("cpu")
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: True)
    monkeypatch.setattr(precision, "matmul_probe", lambda: {"bf16_speedup": 2.5})
    assert precision.resolve_precision("auto", cpu) == "bf16"
    monkeypatch.setattr(precision, "matmul_probe", lambda: {"bf16_speedup": 0.5})  # slow bf16 kernels
    assert precision.resolve_precision("auto", cpu) == "fp32"
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: False)
    monkeypatch.setattr(precision, "matmul_probe", lambda: pytest.fail("no probe without bf16"))
    assert precision.resolve_precision("auto", cpu) == "fp32"
    assert precision.resolve_precision("bf16", cpu) == "bf16"


def test_matmul_probe_measures_both_precisions():
    from telcotune.train.precision import matmul_probe

    probe = matmul_probe(n=256, rounds=1)
    assert probe["bf16_tflops"] > 0 and probe["fp32_tflops"] > 0
    assert probe == matmul_probe()  # cached: every run of a process makes the same choice
