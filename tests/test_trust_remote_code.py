"""`model.trust_remote_code` reaches every `from_pretrained` of training, the sweep's target
check, the evaluation's answering and the `local:` judge backend (it used to reach only serve)."""

from __future__ import annotations

import pytest

from telcotune.config import EvalConfig, JudgesConfig, SweepRun, TrainConfig
from telcotune.energy.base import NullMeter
from telcotune.models import ModelRef

from .test_train_data import tiny_threads, write_data  # noqa: F401 (autouse fixture)


@pytest.fixture()
def calls(monkeypatch) -> list[tuple[str, object]]:
    """(what was loaded, the trust_remote_code it was loaded with) for every from_pretrained."""
    import transformers

    seen: list[tuple[str, object]] = []
    for name in ("AutoModelForCausalLM", "AutoTokenizer", "AutoConfig"):
        cls = getattr(transformers, name)
        original = cls.from_pretrained.__func__

        def spy(klass, *args, _name=name, _original=original, **kwargs):
            seen.append((_name, kwargs.get("trust_remote_code")))
            return _original(klass, *args, **kwargs)

        monkeypatch.setattr(cls, "from_pretrained", classmethod(spy))
    return seen


def test_training_and_the_sweep_pass_the_flag(tmp_path, tiny_model_dir, calls):
    from telcotune.train.sweep import run_sweep

    data = write_data(tmp_path / "data", n_train=4, n_val=2)
    runs = [SweepRun(name="one", max_steps=1, batch_size=2, eval_every=1, save_every=5)]
    run_sweep(data, tmp_path / "sweep", runs, ModelRef(str(tiny_model_dir), trust_remote_code=True),
              meter_factory=NullMeter, progress=False)
    loaded = {name for name, _ in calls}
    assert {"AutoModelForCausalLM", "AutoTokenizer", "AutoConfig"} <= loaded
    assert calls and all(flag is True for _, flag in calls), calls


def test_evaluation_passes_the_flag(tmp_path, tiny_model_dir, calls):
    from telcotune.evaluate.stage import run_evaluate
    from telcotune.train.run import train_run

    data = write_data(tmp_path / "data", n_train=4, n_val=2)
    (data / "test.jsonl").write_text((data / "val.jsonl").read_text())
    (data / "scenarios.jsonl").write_text("")
    train_run(data, tmp_path / "sweep" / "one", TrainConfig(max_steps=1, batch_size=2),
              ModelRef(str(tiny_model_dir)), meter=NullMeter(), progress=False)
    calls.clear()
    run_evaluate(data, tmp_path / "sweep", tmp_path / "eval", ModelRef(str(tiny_model_dir), trust_remote_code=True),
                 EvalConfig(prompts=["test"], limit=1, max_new_tokens=2, bootstrap=10), JudgesConfig(panel=["rubric"]),
                 progress=False)
    assert {name for name, _ in calls} >= {"AutoModelForCausalLM", "AutoTokenizer"}
    assert all(flag is True for _, flag in calls), calls


def test_a_local_judge_loads_its_model_with_the_studys_flag(tiny_model_dir, calls):
    from telcotune.judge.factory import make_judge
    from telcotune.llm.base import ChatRequest

    judge = make_judge(f"local:{tiny_model_dir}", JudgesConfig(), [], trust_remote_code=True)
    judge.client.complete_many([ChatRequest(messages=({"role": "user", "content": "hi"},), max_tokens=2)])
    assert {name for name, _ in calls} >= {"AutoModelForCausalLM", "AutoTokenizer"}
    assert all(flag is True for _, flag in calls), calls
