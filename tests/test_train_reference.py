"""The base model's validation reference (tiny model): the training loss's exact mask, the same
loss as an untrained LoRA, measured once and kept by its manifest, carried in sweep.json with
each run's paired improvement; and the paired interval's coverage by simulation."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from telcotune.artifacts.run import ExampleLosses
from telcotune.config import SweepRun, TrainConfig
from telcotune.energy.base import NullMeter
from telcotune.models import ModelRef
from telcotune.paths import SweepPaths

from .test_train_data import tiny_threads, write_data  # noqa: F401 (autouse fixture)

FAST = dict(batch_size=4, max_length=256, eval_every=2, save_every=2, lr=2e-3, max_steps=4, precision="fp32")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_data(tmp_path_factory.mktemp("reference-data"), n_train=16, n_val=6)


def _val_set(data_dir, model_dir, cfg):
    from telcotune.train.tokenize import tokenize_data
    from telcotune.train.validation import build_val_set, select_val

    tokenized = tokenize_data(data_dir, ModelRef(str(model_dir)).load_tokenizer())
    return build_val_set(select_val(tokenized.val, cfg), cfg.batch_size, tokenized.pad_id)


def test_base_losses_use_the_training_mask_and_equal_an_untrained_lora(data_dir, tiny_model_dir):
    from telcotune.train.lora import add_lora, linear_module_names, resolve_targets
    from telcotune.train.loss import LossFn
    from telcotune.train.validation import example_losses

    cfg = TrainConfig(**FAST)
    val = _val_set(data_dir, tiny_model_dir, cfg)
    ref = ModelRef(str(tiny_model_dir))
    bare = ref.load_model().eval()
    base_fn = LossFn(bare, torch.device("cpu"), "fp32")
    base = example_losses(base_fn, val, None)
    # the per-conversation sums add up to the training loss (summed CE over the same targets)
    with torch.no_grad():
        summed = sum(float(base_fn(b.input_ids, b.targets)) for b in val.batches)
    assert sum(base.loss_sum) == pytest.approx(summed, rel=1e-5)
    assert sum(base.targets) == val.n_targets and len(set(base.examples)) == len(base.examples) == 6
    # a fresh LoRA (B = 0) is the base model: same loss on every conversation
    lora = add_lora(ref.load_model(), cfg, resolve_targets("attn", linear_module_names(bare))).eval()
    untrained = example_losses(LossFn(lora, torch.device("cpu"), "fp32"), val, 0)
    assert untrained.examples == base.examples
    assert np.allclose(untrained.loss_sum, base.loss_sum, rtol=1e-6)
    # and the run's own validation (through the full forward, not the fast head) agrees too
    slow = LossFn(lora, torch.device("cpu"), "fp32")
    slow.fast = False
    assert np.allclose(example_losses(slow, val, 0).loss_sum, base.loss_sum, rtol=1e-5)


def test_sweep_json_carries_the_base_loss_and_paired_improvements(tmp_path, data_dir, tiny_model_dir, monkeypatch):
    from telcotune.train import reference
    from telcotune.train.sweep import run_sweep

    calls = []
    real = reference.example_losses
    monkeypatch.setattr(reference, "example_losses", lambda *a: calls.append(1) or real(*a))
    out = tmp_path / "sweep"
    runs = [SweepRun(name="a", r=4, alpha=8, **FAST), SweepRun(name="b", r=8, alpha=16, targets="attn", **FAST),
            SweepRun(name="other-val", r=4, alpha=8, **{**FAST, "max_length": 64})]
    rows = run_sweep(data_dir, out, runs, ModelRef(str(tiny_model_dir)), meter_factory=NullMeter, progress=False)
    summary = json.loads((out / "sweep.json").read_text())
    base = summary["base"]
    assert base["val_examples"] == 6 and base["losses"]["step"] is None and len(calls) == 1
    assert base["val_loss"] == pytest.approx(sum(base["losses"]["loss_sum"]) / base["val_tokens"])
    for row in rows[:2]:
        imp = row.improvement
        assert imp is not None and imp.base_loss == pytest.approx(base["val_loss"])
        assert imp.adapter_loss == pytest.approx(row.best_val_loss)
        assert imp.delta == pytest.approx(base["val_loss"] - row.best_val_loss)
        assert imp.delta_low < imp.delta < imp.delta_high and imp.ratio_low < imp.ratio < imp.ratio_high
        assert imp.n_examples == 6 and imp.level == 0.95
    assert rows[2].improvement is None  # validated on other (shorter) conversations: no pairing
    assert "loss_ratio_to_base" in (out / "sweep.csv").read_text().splitlines()[0]

    stamp = (out / "_base" / "base.json").stat().st_mtime_ns
    run_sweep(data_dir, out, runs, ModelRef(str(tiny_model_dir)), meter_factory=NullMeter, progress=False)
    assert len(calls) == 1 and (out / "_base" / "base.json").stat().st_mtime_ns == stamp  # kept: current
    edited = json.loads((out / "_base" / "base.json").read_text())
    edited["val_loss"] = 0.0
    (out / "_base" / "base.json").write_text(json.dumps(edited))
    run_sweep(data_dir, out, runs, ModelRef(str(tiny_model_dir)), meter_factory=NullMeter, progress=False)
    assert len(calls) == 2 and json.loads((out / "_base" / "base.json").read_text())["val_loss"] == base["val_loss"]
    assert not SweepPaths(out).run("_base").metrics.exists()  # the base folder is no run


def _losses(per_token: np.ndarray, tokens: np.ndarray) -> ExampleLosses:
    return ExampleLosses(examples=list(range(len(tokens))), targets=tokens.tolist(),
                         loss_sum=(per_token * tokens).tolist(), step=None)


@pytest.mark.parametrize("n", [16, 30])
def test_paired_interval_covers_the_true_improvement_at_its_level(n):
    """Conversations of varied length and difficulty; the adapter gains a noisy share on each.
    The true improvement is the population ratio; 95% intervals must cover it 93-97% of the time."""
    from telcotune.train.improvement import improvement

    rng = np.random.default_rng(7)
    true_ratio, hits, reps = 0.9, 0, 2000
    for _ in range(reps):
        tokens = rng.integers(20, 200, n)
        base = rng.gamma(20, 3.0 / 20, n)  # per-token loss, mean 3
        adapter = base * (true_ratio + rng.normal(0, 0.05, n))
        imp = improvement(_losses(base, tokens), _losses(adapter, tokens))
        hits += imp.ratio_low <= true_ratio <= imp.ratio_high
    assert 0.93 <= hits / reps <= 0.97


def test_improvement_is_not_computed_on_different_conversations():
    from telcotune.train.improvement import improvement

    tokens = np.array([10, 20, 30])
    a = _losses(np.array([3.0, 2.0, 2.5]), tokens)
    b = ExampleLosses(examples=[0, 1, 4], targets=[10, 20, 30], loss_sum=[1.0, 2.0, 3.0], step=4)
    assert improvement(a, b) is None
    same = improvement(a, _losses(np.array([2.7, 1.8, 2.25]), tokens))  # exactly 90% on every conversation
    assert same.ratio == pytest.approx(0.9) and same.ratio_high - same.ratio_low == pytest.approx(0.0, abs=1e-12)
