"""Batched generation and the local backend on the tiny random model."""

from types import SimpleNamespace

import pytest
import torch

from telcotune.config import ClientSettings
from telcotune.decoding import PLAIN_GREEDY
from telcotune.generation import generate_batch, stop_token_ids

SAMPLING = PLAIN_GREEDY.model_copy(update={"temperature": 1.0})
from telcotune.llm.base import ChatRequest
from telcotune.llm.client import build_client
from telcotune.models import load_model, load_tokenizer

CONVERSATIONS = [
    [{"role": "user", "content": "Hello"}],
    [{"role": "system", "content": "You are a telecom support agent."},
     {"role": "user", "content": "The router lights are red and the fibre ONT lost its signal."}],
    [{"role": "user", "content": "Roaming in France?"}],
    [{"role": "user", "content": "Wi-Fi calling drops at home. What should I check first?"}],
    [{"role": "user", "content": "APN"}],
]


@pytest.fixture(scope="module")
def model_and_tokenizer(tiny_model_dir):
    model, tokenizer = load_model(tiny_model_dir), load_tokenizer(tiny_model_dir)
    # The saved tiny model's weights are so small every prompt decodes to the same text; larger
    # weights make replies depend on the prompt, so a padding mistake would show.
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for param in model.parameters():
            if param.dim() >= 2:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.3)
    return model, tokenizer


def test_batched_greedy_equals_one_at_a_time(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    batched = generate_batch(model, tokenizer, CONVERSATIONS, max_new_tokens=8, batch_size=3)
    single = [generate_batch(model, tokenizer, [c], max_new_tokens=8)[0] for c in CONVERSATIONS]
    assert [r.text for r in batched] == [r.text for r in single]
    assert [r.new_tokens for r in batched] == [r.new_tokens for r in single]
    assert len({r.text for r in batched}) > 1  # replies differ, so order and padding are tested


def test_order_and_token_counts(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    results = generate_batch(model, tokenizer, CONVERSATIONS, max_new_tokens=6, batch_size=2)
    expected_prompt_tokens = [
        len(tokenizer(tokenizer.apply_chat_template(c, add_generation_prompt=True, tokenize=False),
                      add_special_tokens=False)["input_ids"]) for c in CONVERSATIONS]
    assert [r.prompt_tokens for r in results] == expected_prompt_tokens
    assert all(0 <= r.new_tokens <= 6 and r.latency_s > 0 for r in results)
    assert model.training is False


def test_each_batch_reports_its_size(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    sizes = []
    generate_batch(model, tokenizer, CONVERSATIONS, max_new_tokens=2, batch_size=2, on_batch=sizes.append)
    assert sizes == [2, 2, 1]


def test_sampling_is_seeded_and_leaves_global_rng_alone(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    first = generate_batch(model, tokenizer, CONVERSATIONS, max_new_tokens=8, decoding=SAMPLING, seed=5)
    assert torch.equal(torch.rand(1), expected_next)
    second = generate_batch(model, tokenizer, CONVERSATIONS, max_new_tokens=8, decoding=SAMPLING, seed=5)
    assert [r.text for r in first] == [r.text for r in second]


def test_training_mode_is_restored(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    model.train()
    try:
        generate_batch(model, tokenizer, CONVERSATIONS[:1], max_new_tokens=2)
        assert model.training
    finally:
        model.eval()


class ScriptedModel:
    """Returns fixed continuations, to test stopping and order without a real decoder."""

    training = False
    device = torch.device("cpu")
    generation_config = SimpleNamespace(eos_token_id=None)

    def __init__(self, continuations):
        self.continuations = continuations
        self.seen_widths = []

    def eval(self):
        return self

    def train(self, mode=True):
        return self

    def generate(self, input_ids, attention_mask, generation_config, past_key_values=None):
        assert past_key_values is None
        self.seen_widths.append(input_ids.shape[1])
        rows = []
        for ids, mask in zip(input_ids.tolist(), attention_mask.tolist()):
            assert mask[0] == 0 or all(mask), "padding must be on the left"
            rows.append(ids + self.continuations[sum(mask)])
        return torch.tensor(rows)


def test_stops_at_end_of_turn_and_counts_only_tokens_before_it(model_and_tokenizer, monkeypatch):
    _, tokenizer = model_and_tokenizer
    # The scripted model has no layers to prefill: it gets whole prompts, as without a cache.
    monkeypatch.setattr("telcotune.generation.ragged_prefill", lambda *args, **kwargs: None)
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert end in stop_token_ids(ScriptedModel({}), tokenizer)
    text_ids = tokenizer("Reset the router", add_special_tokens=False)["input_ids"]
    lengths = [len(tokenizer(tokenizer.apply_chat_template(c, add_generation_prompt=True, tokenize=False),
                             add_special_tokens=False)["input_ids"]) for c in CONVERSATIONS[:2]]
    pad = tokenizer.pad_token_id
    width = len(text_ids) + 3  # generate returns rectangular output: finished rows are padded
    model = ScriptedModel({lengths[0]: (text_ids + [end] + [pad] * width)[:width],
                           lengths[1]: (text_ids[:1] + [end] + text_ids + [pad] * width)[:width]})
    results = generate_batch(model, tokenizer, CONVERSATIONS[:2], max_new_tokens=10)
    assert results[0].text == "Reset the router" and results[0].new_tokens == len(text_ids)
    assert results[1].new_tokens == 1
    assert model.seen_widths == [max(lengths)]


def test_local_backend_returns_real_token_counts(tiny_model_dir, tmp_path):
    client = build_client(f"local:{tiny_model_dir}", ClientSettings(), cache_dir=tmp_path / "llm")
    requests = [ChatRequest(messages=tuple(c), temperature=0.0, max_tokens=5) for c in CONVERSATIONS[:3]]
    results = client.complete_many(requests)
    tokenizer = load_tokenizer(tiny_model_dir)
    for request, completion in zip(requests, results):
        prompt = tokenizer.apply_chat_template(list(request.messages), add_generation_prompt=True, tokenize=False)
        assert completion.usage.prompt_tokens == len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
        assert 0 <= completion.usage.completion_tokens <= 5 and completion.usage.cost_usd is None
        assert (completion.backend, completion.model) == ("local", str(tiny_model_dir))
    single = client.complete(requests[0])
    assert single.cached and single.text == results[0].text
    loaded = client.raw._loaded
    client.complete(ChatRequest(messages=(CONVERSATIONS[4][0],), temperature=0.0, max_tokens=3))
    assert client.raw._loaded is loaded  # the model is loaded once
    stats = client.stats()
    assert stats["cost_usd"] is None and stats["prompt_tokens"] > 0 and stats["cache_hits"] == 1


@pytest.mark.parametrize("trusted", [True, False])
def test_trust_remote_code_reaches_from_pretrained(tiny_model_dir, tmp_path, monkeypatch, trusted):
    import transformers

    seen = {}

    class Stop(Exception):
        pass

    def fake_model(path, **kw):
        seen["model"] = kw["trust_remote_code"]
        return SimpleNamespace()

    def fake_tokenizer(path, **kw):
        seen["tokenizer"] = kw["trust_remote_code"]
        raise Stop  # loading went far enough: nothing is generated from a fake model

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", fake_model)
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", fake_tokenizer)
    client = build_client(f"local:{tiny_model_dir}", ClientSettings(), trust_remote_code=trusted,
                          cache_dir=tmp_path / "llm")
    with pytest.raises(Stop):
        client.complete(ChatRequest(messages=(CONVERSATIONS[0][0],), max_tokens=3))
    assert seen == {"model": trusted, "tokenizer": trusted}
