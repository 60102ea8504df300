"""PEFT / Axolotl key names as aliases of telcotune's, `all-linear`, and the presets resolved per
architecture on tiny models of each family built here."""

from __future__ import annotations

import pytest

from telcotune.config import TRAIN_ALIASES, ExperimentConfig, TrainConfig, expand_sweep, load_config
from telcotune.errors import ConfigError


def test_every_alias_sets_its_setting():
    values = {"lora_r": 8, "lora_alpha": 16.0, "lora_dropout": 0.1, "lora_target_modules": ["q_proj", "k_proj"],
              "learning_rate": 1e-3, "micro_batch_size": 4, "gradient_accumulation_steps": 2,
              "sequence_len": 256, "num_epochs": 2.0}
    assert set(values) == set(TRAIN_ALIASES)
    cfg = TrainConfig.model_validate(values)
    assert (cfg.r, cfg.alpha, cfg.dropout, cfg.targets, cfg.lr, cfg.batch_size, cfg.grad_accum, cfg.max_length,
            cfg.epochs) == (8, 16.0, 0.1, "q_proj,k_proj", 1e-3, 4, 2, 256, 2.0)


def test_both_names_for_one_setting_is_an_error(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text("train:\n  r: 8\n  lora_r: 16\n")
    with pytest.raises(ConfigError, match=r"study.yaml: invalid config\n  train: .*lora_r is another name for r"):
        load_config(path)


def test_aliases_in_yaml_and_sweep_runs(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text("train:\n  learning_rate: 0.001\n  sequence_len: 128\n"
                    "sweep:\n  base: {lora_alpha: 8}\n  runs:\n    - {name: a, lora_r: 4}\n    - {name: b, r: 2}\n")
    cfg = load_config(path)
    runs = {r.name: r for r in expand_sweep(cfg)}
    assert cfg.train.lr == 0.001 and cfg.train.max_length == 128
    assert (runs["a"].r, runs["a"].alpha, runs["a"].lr) == (4, 8, 0.001)
    assert (runs["b"].r, runs["b"].alpha) == (2, 8)


def test_alias_and_name_in_one_sweep_run_is_an_error():
    cfg = ExperimentConfig(sweep={"runs": [{"name": "a", "lr": 1e-3, "learning_rate": 1e-4}]})
    with pytest.raises(ConfigError, match="run a: learning_rate is another name for lr"):
        expand_sweep(cfg)


def test_grid_over_an_alias():
    cfg = ExperimentConfig(sweep={"grid": {"lora_r": [4, 8]}})
    assert [r.r for r in expand_sweep(cfg)] == [4, 8]


def _tiny(arch: str):
    """A tiny random model of `arch` (hidden 32, 1 layer): weights are built, then LoRA wrapped."""
    import torch
    import transformers as tf

    common = dict(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                  bos_token_id=0, eos_token_id=1, pad_token_id=2)
    torch.manual_seed(0)
    if arch == "gpt2":
        return tf.GPT2LMHeadModel(tf.GPT2Config(vocab_size=64, n_embd=32, n_layer=1, n_head=4, n_positions=64))
    config_cls, model_cls = {"llama": (tf.LlamaConfig, tf.LlamaForCausalLM), "qwen2": (tf.Qwen2Config, tf.Qwen2ForCausalLM),
                             "mistral": (tf.MistralConfig, tf.MistralForCausalLM),
                             "phi3": (tf.Phi3Config, tf.Phi3ForCausalLM)}[arch]
    return model_cls(config_cls(**common))


LLAMA_ALL = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
EXPECTED = {
    "llama": {"qv": ["q_proj", "v_proj"], "attn": LLAMA_ALL[:4], "all": LLAMA_ALL},
    "qwen2": {"qv": ["q_proj", "v_proj"], "attn": LLAMA_ALL[:4], "all": LLAMA_ALL},
    "mistral": {"qv": ["q_proj", "v_proj"], "attn": LLAMA_ALL[:4], "all": LLAMA_ALL},
    "phi3": {"qv": ["qkv_proj"], "attn": ["qkv_proj", "o_proj"], "all": ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"]},
    "gpt2": {"qv": ["c_attn"], "attn": ["c_attn", "attn.c_proj"], "all": ["c_attn", "c_proj", "c_fc"]},
}


@pytest.mark.parametrize("arch", list(EXPECTED))
def test_presets_resolve_per_architecture_and_peft_injects_them(arch):
    from telcotune.train.lora import add_lora, model_targets

    for preset, modules in EXPECTED[arch].items():
        model = _tiny(arch)
        assert model_targets(model, preset, arch) == modules
        wrapped = add_lora(model, TrainConfig(r=2, targets=preset), modules)
        lora_parents = {n.rsplit(".lora_A", 1)[0] for n, _ in wrapped.named_parameters() if ".lora_A." in n}
        # every resolved module got an adapter, and nothing else did
        assert lora_parents and all(any(p.endswith("." + m) for m in modules) for p in lora_parents)
        assert all(any(p.endswith("." + m) for p in lora_parents) for m in modules)
    if arch == "gpt2":  # `attn` must not reach the MLP's c_proj
        model = _tiny(arch)
        wrapped = add_lora(model, TrainConfig(r=2), EXPECTED[arch]["attn"])
        assert not any("mlp.c_proj.lora_A" in n for n, _ in wrapped.named_parameters())


@pytest.mark.parametrize("arch", ["llama", "phi3", "gpt2"])
def test_all_linear_is_every_linear_layer_but_the_head(arch):
    from telcotune.train.lora import model_targets

    modules = model_targets(_tiny(arch), "all-linear", arch)
    assert "lm_head" not in modules
    assert sorted(modules) == sorted(m.rsplit(".", 1)[-1] for m in EXPECTED[arch]["all"])


def test_no_preset_fits_an_unknown_architecture():
    from telcotune.train.lora import resolve_targets

    names = ["transformer.h.0.self_attention.query_key_value", "transformer.h.0.mlp.dense_h_to_4h"]
    with pytest.raises(ConfigError, match="no preset fits.*query_key_value"):
        resolve_targets("qv", names, "model 'falcon'")
    assert resolve_targets("query_key_value", names) == ["query_key_value"]
