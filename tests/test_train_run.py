"""One training run on the tiny model: files, adapter, resume, skip, early stopping."""

from __future__ import annotations

import json

import pytest
import torch

from telcotune.config import TrainConfig
from telcotune.energy.base import NullMeter
from telcotune.errors import ConfigError
from telcotune.models import ModelRef

from .test_train_data import tiny_threads, write_data  # noqa: F401 (autouse fixture)

FAST = dict(batch_size=4, max_length=256, eval_every=3, save_every=2, lr=2e-3, precision="fp32")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_data(tmp_path_factory.mktemp("train-data"), n_train=24, n_val=6)


def _adapter_tensors(run_dir):
    from safetensors.torch import load_file

    return load_file(str(run_dir / "adapter" / "adapter_model.safetensors"))


def test_run_writes_every_file_and_the_adapter_loads_with_plain_peft(tmp_path, data_dir, tiny_model_dir):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from telcotune.energy.replay import ReplayMeter
    from telcotune.train import train_run

    run = tmp_path / "run"
    cfg = TrainConfig(max_steps=4, **{**FAST, "precision": "auto"})
    metrics = train_run(data_dir, run, cfg, ModelRef(str(tiny_model_dir)), meter=ReplayMeter(power_w=10.0), progress=False)

    names = {p.name for p in run.iterdir()}
    assert names == {"adapter", "metrics.jsonl", "metrics.json", "energy.json", "config.json", "manifest.json",
                     "val_losses.json"}
    assert (run / "adapter" / "adapter_config.json").is_file()
    manifest_time = (run / "manifest.json").stat().st_mtime_ns
    assert all(p.stat().st_mtime_ns <= manifest_time for p in run.iterdir() if p.is_file())

    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    assert {"step", "train_loss", "lr", "tokens_seen", "tokens_per_s"} <= set(rows[0])
    assert [("val_loss" in r) for r in rows] == [False, False, True, True]

    saved = json.loads((run / "metrics.json").read_text())
    assert saved == json.loads(metrics.model_dump_json())
    for key in ("best_val_loss", "best_step", "final_val_loss", "val_perplexity", "train_tokens",
                "trainable_params", "total_params", "duration_s", "tokens_per_s", "steps", "precision"):
        assert saved[key] is not None, key
    assert saved["steps"] == 4 and saved["train_tokens"] == rows[-1]["tokens_seen"]
    assert saved["best_val_loss"] == min(r["val_loss"] for r in rows if "val_loss" in r)
    assert abs(saved["val_perplexity"] - torch.tensor(saved["best_val_loss"]).exp().item()) < 1e-3
    assert saved["precision"] in ("bf16", "fp32") and 0 < saved["trainable_params"] < saved["total_params"]
    per_example = json.loads((run / "val_losses.json").read_text())  # the best step's, per conversation
    assert per_example["step"] == saved["best_step"] and len(per_example["loss_sum"]) == saved["val_examples"]
    assert sum(per_example["targets"]) == saved["val_tokens"]
    assert sum(per_example["loss_sum"]) / saved["val_tokens"] == pytest.approx(saved["best_val_loss"], rel=1e-12)

    energy = json.loads((run / "energy.json").read_text())
    assert set(energy["phases"]) == {"training", "validation"} and energy["method"] == "measured"
    train_j = energy["phases"]["training"]["energy_j"]
    assert energy["j_per_train_token"] == pytest.approx(train_j / saved["train_tokens"])
    assert energy["windows"]["validation"] == 2  # steps 3 and 4, summed into one phase

    config = json.loads((run / "config.json").read_text())
    assert config["model"] == str(tiny_model_dir) and config["train"]["max_steps"] == 4 and config["data_hash"]
    assert json.loads((run / "manifest.json").read_text())["stage"] == "train"

    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    ids = torch.tensor([[1, 5, 6, 7, 8]])
    with torch.no_grad():
        before = base(input_ids=ids).logits
        tuned = PeftModel.from_pretrained(base, run / "adapter")
        after = tuned(input_ids=ids).logits
    assert not torch.allclose(before, after)


def test_only_lora_weights_train(tmp_path, data_dir, tiny_model_dir, monkeypatch):
    from telcotune.train import run as run_module

    captured = {}
    real_add_lora = run_module.add_lora

    def spy(model, cfg, modules):
        peft_model = real_add_lora(model, cfg, modules)
        captured["model"] = peft_model
        captured["before"] = {n: p.detach().clone() for n, p in peft_model.named_parameters()}
        return peft_model

    monkeypatch.setattr(run_module, "add_lora", spy)
    run_module.train_run(data_dir, tmp_path / "run", TrainConfig(max_steps=3, targets="attn", **FAST),
                         ModelRef(str(tiny_model_dir)), meter=NullMeter(), progress=False)
    after = dict(captured["model"].named_parameters())
    changed = {n for n, p in after.items() if not torch.equal(p.detach(), captured["before"][n])}
    trainable = {n for n, p in after.items() if p.requires_grad}
    assert changed and changed <= trainable
    assert all("lora_" in n for n in trainable)
    assert any("lora_B" in n for n in changed)  # B starts at zero: it moved
    assert {n.split(".lora_A")[0].rsplit(".", 1)[-1] for n in trainable if "lora_A" in n} == {"q_proj", "k_proj", "v_proj", "o_proj"}


def test_unknown_target_fails_before_training_and_lists_modules(tmp_path, data_dir, tiny_model_dir):
    from telcotune.train import train_run

    with pytest.raises(ConfigError) as info:
        train_run(data_dir, tmp_path / "run", TrainConfig(targets="q_proj,c_attn", **FAST),
                  ModelRef(str(tiny_model_dir)), meter=NullMeter(), progress=False)
    assert "c_attn" in str(info.value) and "gate_proj" in str(info.value)
    assert not (tmp_path / "run" / "metrics.jsonl").exists()


class Interrupt(Exception):
    pass


@pytest.mark.parametrize("precision", ["fp32", "auto"])
def test_interrupted_run_resumes_to_the_same_adapter(tmp_path, data_dir, tiny_model_dir, precision):
    from telcotune.train import train_run

    # dropout: the RNG state must be restored too; auto: bf16 autocast where the CPU has it
    cfg = TrainConfig(max_steps=7, dropout=0.1, **{**FAST, "precision": precision})
    reference = train_run(data_dir, tmp_path / "straight", cfg, ModelRef(str(tiny_model_dir)), meter=NullMeter(), progress=False)

    def stop_after_4(step):
        if step == 5:  # step 5 ran after the step-4 checkpoint and is lost with the crash
            raise Interrupt

    run = tmp_path / "interrupted"
    with pytest.raises(Interrupt):
        train_run(data_dir, run, cfg, ModelRef(str(tiny_model_dir)), meter=NullMeter(), progress=False, on_step=stop_after_4)
    state = json.loads((run / "checkpoint" / "state.json").read_text())
    assert state["state"]["step"] == 4
    assert not (run / "manifest.json").exists() and not (run / "adapter").exists()
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 5

    resumed = train_run(data_dir, run, cfg, ModelRef(str(tiny_model_dir)), meter=NullMeter(), progress=False)
    assert resumed.steps == reference.steps == 7 and resumed.sessions == 2
    assert not (run / "checkpoint").exists()
    a, b = _adapter_tensors(tmp_path / "straight"), _adapter_tensors(run)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    rows_a = (tmp_path / "straight" / "metrics.jsonl").read_text().splitlines()
    rows_b = (run / "metrics.jsonl").read_text().splitlines()
    strip = lambda rows: [{k: v for k, v in json.loads(r).items() if k != "tokens_per_s"} for r in rows]  # noqa: E731
    assert strip(rows_a) == strip(rows_b)
    assert resumed.best_val_loss == reference.best_val_loss


def test_a_checkpoint_of_other_settings_is_not_resumed(tmp_path, data_dir, tiny_model_dir):
    from telcotune.train import train_run

    run = tmp_path / "run"
    with pytest.raises(Interrupt):
        train_run(data_dir, run, TrainConfig(max_steps=4, **FAST), ModelRef(str(tiny_model_dir)), meter=NullMeter(),
                  progress=False, on_step=lambda s: (_ for _ in ()).throw(Interrupt) if s == 2 else None)
    assert (run / "checkpoint").is_dir()
    m = train_run(data_dir, run, TrainConfig(max_steps=3, **{**FAST, "lr": 1e-3}), ModelRef(str(tiny_model_dir)),
                  meter=NullMeter(), progress=False)
    assert m.sessions == 1 and m.steps == 3


def test_finished_run_is_skipped_and_changed_settings_retrain(tmp_path, data_dir, tiny_model_dir, monkeypatch):
    from telcotune.train import run as run_module

    run = tmp_path / "run"
    cfg = TrainConfig(max_steps=2, **FAST)
    first = run_module.train_run(data_dir, run, cfg, ModelRef(str(tiny_model_dir)), meter=NullMeter(), progress=False)
    stamps = {p.name: p.stat().st_mtime_ns for p in run.iterdir()}

    def no_loading(*a, **k):
        raise AssertionError("a finished run must not load the model again")

    monkeypatch.setattr(run_module, "prepare", no_loading)
    again = run_module.train_run(data_dir, run, cfg, ModelRef(str(tiny_model_dir)), meter=NullMeter(), progress=False)
    assert again == first
    assert {p.name: p.stat().st_mtime_ns for p in run.iterdir()} == stamps
    monkeypatch.undo()
    changed = run_module.train_run(data_dir, run, cfg.model_copy(update={"lr": 1e-3}), ModelRef(str(tiny_model_dir)),
                                   meter=NullMeter(), progress=False)
    assert changed.steps == 2 and (run / "manifest.json").stat().st_mtime_ns > stamps["manifest.json"]


def test_early_stopping_keeps_the_best_adapter(tmp_path, data_dir, tiny_model_dir):
    from telcotune.train import train_run

    cfg = TrainConfig(max_steps=12, early_stopping=2, schedule="constant", warmup_ratio=0,
                      **{**FAST, "lr": 0.5, "eval_every": 1})
    m = train_run(data_dir, tmp_path / "run", cfg, ModelRef(str(tiny_model_dir)), meter=NullMeter(), progress=False)
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    vals = [r["val_loss"] for r in rows]
    assert m.stopped_early and m.steps < 12
    assert m.best_val_loss == min(vals) and m.adapter_step == m.best_step == 1 + vals.index(min(vals))
    assert all(v >= m.best_val_loss for v in vals[-2:]) and m.final_val_loss == vals[-1]


def test_dora_and_rslora_runs_save_their_adapter_kind(tmp_path, data_dir, tiny_model_dir):
    from telcotune.train import train_run

    m = train_run(data_dir, tmp_path / "run", TrainConfig(max_steps=2, dora=True, rslora=True, **FAST),
                  ModelRef(str(tiny_model_dir)), meter=NullMeter(), progress=False)
    adapter = json.loads((tmp_path / "run" / "adapter" / "adapter_config.json").read_text())
    assert adapter["use_dora"] and adapter["use_rslora"] and m.steps == 2
    assert any("lora_magnitude_vector" in k for k in _adapter_tensors(tmp_path / "run"))
