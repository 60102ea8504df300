"""AdapterHost on the tiny model: adapters load, switch and unload on one base, and the base
answers as itself whatever is loaded."""

import pytest
import torch

from telcotune.adapters import BASE_RUN, AdapterHost, UnknownAdapter
from telcotune.errors import ConfigError
from telcotune.models import load_model

INPUT = torch.tensor([[5, 17, 42, 99, 7]])


def _logits(model):
    with torch.inference_mode():
        return model(input_ids=INPUT).logits


def _save_adapter(model_dir, folder, seed):
    from peft import LoraConfig, get_peft_model

    model = get_peft_model(load_model(model_dir), LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # LoRA B starts at zero, which would make every adapter the base
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.copy_(torch.randn(param.shape, generator=generator))
    model.save_pretrained(folder)
    return _logits(model.eval())


@pytest.fixture(scope="module")
def adapters(tiny_model_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("adapters")
    expected = {name: _save_adapter(tiny_model_dir, root / name, seed) for name, seed in (("a", 1), ("r16-d0.1", 2))}
    return {name: root / name for name in expected}, expected


def test_each_name_answers_as_its_own_adapter_and_the_base_as_itself(tiny_model_dir, adapters):
    folders, expected = adapters
    base_logits = _logits(load_model(tiny_model_dir).eval())
    host = AdapterHost(tiny_model_dir)
    with host.use(BASE_RUN) as model:
        torch.testing.assert_close(_logits(model), base_logits)
    for name, folder in folders.items():
        host.load(name, folder)
    assert host.names == ["a", "r16-d0.1", BASE_RUN]
    for name in ["r16-d0.1", BASE_RUN, "a", "r16-d0.1"]:  # switching back and forth
        with host.use(name) as model:
            torch.testing.assert_close(_logits(model), base_logits if name == BASE_RUN else expected[name])
    assert not torch.allclose(expected["a"], base_logits)


def test_unloading_every_adapter_leaves_the_base(tiny_model_dir, adapters):
    folders, expected = adapters
    base_logits = _logits(load_model(tiny_model_dir).eval())
    host = AdapterHost(tiny_model_dir)
    for name, folder in folders.items():  # one at a time, as the evaluation does
        host.load(name, folder)
        with host.use(name) as model:
            torch.testing.assert_close(_logits(model), expected[name])
        host.unload(name)
    assert host.names == [BASE_RUN]
    with host.use(BASE_RUN) as model:
        torch.testing.assert_close(_logits(model), base_logits)
    with pytest.raises(UnknownAdapter, match="'a' is not loaded; loaded: base"):
        with host.use("a"):
            pass


def test_bad_adapters_are_refused_with_the_folder_named(tiny_model_dir, tmp_path):
    host = AdapterHost(tiny_model_dir)
    with pytest.raises(ConfigError, match="no adapter_config.json"):
        host.load("x", tmp_path)
    with pytest.raises(ConfigError, match="'base' is reserved"):
        host.load(BASE_RUN, tmp_path)
    with pytest.raises(UnknownAdapter):
        host.unload("x")
