"""`eval.knowledge` in the experiment schema: `true` is short for enabled with the defaults,
MCQ files are found beside the YAML, a missing one is named by its key, unknown keys refused."""

import pytest

from telcotune.config import EvalConfig, load_config
from telcotune.errors import ConfigError


def test_true_enables_the_defaults_and_quick_turns_it_on():
    cfg = EvalConfig(knowledge=True)
    assert cfg.knowledge.enabled and cfg.knowledge.glossary_mcq and cfg.knowledge.mcq == []
    assert not EvalConfig().knowledge.enabled
    quick = load_config("configs/quick.yaml")
    assert quick.eval.knowledge.enabled and quick.eval.knowledge.limit == 30


def test_mcq_files_resolve_beside_the_yaml_and_missing_ones_are_named(tmp_path):
    (tmp_path / "bench.jsonl").write_text('{"question": "q", "options": ["a", "b"], "answer": 0}\n')
    good = tmp_path / "good.yaml"
    good.write_text("eval: {knowledge: {enabled: true, mcq: [bench.jsonl]}}\n")
    assert load_config(good).eval.knowledge.mcq == [str(tmp_path / "bench.jsonl")]
    bad = tmp_path / "bad.yaml"
    bad.write_text("eval: {knowledge: {mcq: [absent.jsonl]}}\n")
    with pytest.raises(ConfigError, match=r"eval.knowledge.mcq.0: file not found: .*absent.jsonl"):
        load_config(bad)
    typo = tmp_path / "typo.yaml"
    typo.write_text("eval: {knowledge: {enabled: true, glosary_mcq: false}}\n")
    with pytest.raises(ConfigError, match=r"eval.knowledge.glosary_mcq: unknown key"):
        load_config(typo)
