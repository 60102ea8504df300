"""Shared fixtures. The tiny model is random (2 layers, hidden 64) with a small byte-level BPE
tokenizer trained here, so unit tests never need the real model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAT_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content']"
    " + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
CORPUS = [
    "My mobile data shows connected but no page loads. Check the APN settings and restart the phone.",
    "The router lights are red; the fibre ONT lost its signal. Reset the router and check the cable.",
    "I was charged for roaming in France. Roaming charges apply outside the fair use policy.",
    "Wi-Fi calling drops at home. Enable VoWiFi in Settings and update the phone software.",
    "Hello, thank you for contacting support. I understand, let us fix this together step by step.",
]


def build_tiny_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(CORPUS * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<|im_start|>", eos_token="<|im_end|>",
        pad_token="<|endoftext|>", unk_token="<|endoftext|>",
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_tiny_model(folder: Path, arch: str = "llama") -> Path:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    tokenizer = build_tiny_tokenizer()
    torch.manual_seed(0)
    common = dict(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=True,
    )
    if arch == "qwen2":
        model = Qwen2ForCausalLM(Qwen2Config(**common))
    else:
        model = LlamaForCausalLM(LlamaConfig(**common))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def tiny_qwen_dir(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-qwen2"), arch="qwen2")


@pytest.fixture(scope="session")
def embedded_cache() -> Path:
    """The real model's cache: shared across tests (and CI's runs) so it is converted once."""
    root = Path(os.environ.get("TELCOTUNE_CACHE", ROOT / ".cache" / "telcotune"))
    root.mkdir(parents=True, exist_ok=True)
    return root


@pytest.fixture()
def isolated_cache(tmp_path, monkeypatch) -> Path:
    """A fresh TELCOTUNE_CACHE for tests that must not see other tests' cached responses."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("TELCOTUNE_CACHE", str(cache))
    return cache


@pytest.fixture(scope="module")
def one_torch_thread():
    """The tiny model gains nothing from a second thread, and on a shared 2-core machine the
    threads' spinning makes every token 10-40x slower; restored after the module."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
