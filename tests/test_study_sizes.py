"""The two shipped study sizes keep the promises the README makes of them: all 16
configurations, validation curves of at least three points (the base model's loss is every
run's step 0), at least 10 prompts per set."""

from __future__ import annotations

import pytest

from telcotune.config import expand_sweep, load_config

from .conftest import ROOT


@pytest.mark.parametrize("name, min_prompts", [("quick", 10), ("cpu", 40)])
def test_study_sizes_have_curves_all_configurations_and_enough_prompts(name, min_prompts):
    cfg = load_config(ROOT / "configs" / f"{name}.yaml")
    runs = expand_sweep(cfg)
    assert len(runs) == 16
    for run in runs:
        assert run.max_steps is not None and run.max_steps // run.eval_every >= 2, run.name  # with step 0: a curve
        assert run.max_val_examples is not None and run.max_val_examples >= 16  # a paired interval
    assert len({(r.max_length, r.max_val_examples, r.seed) for r in runs}) == 1  # one base reference fits all
    assert cfg.eval.limit >= min_prompts and len(cfg.eval.prompts) == 2
