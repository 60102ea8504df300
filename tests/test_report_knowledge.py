"""The report's knowledge section: accuracy with intervals for the base model and every adapter,
per category, the paired difference to the base with its verdict, and "Not available" (with the
switch that turns the step on) for a study that did not run it."""

from __future__ import annotations

from telcotune.artifacts.io import read_record, write_record
from telcotune.artifacts.ranking import Ranking
from telcotune.knowledge.mcq import Question
from telcotune.knowledge.record import ModelScores, QuestionScores, Source
from telcotune.knowledge.results import build_result
from telcotune.paths import EvalPaths
from telcotune.report import load_study
from telcotune.report.blocks import Finding, Table
from telcotune.report.sections import knowledge
from telcotune.report.sections.context import Context

from .test_report import make_study


def _scores(run: str, right: list[bool]) -> ModelScores:
    """Right answers at index 0: a right answer gives option 0 the best log-probability."""
    per = tuple(QuestionScores(f"glossary/q{i}", (-1.0, -2.0) if ok else (-2.0, -1.0), (1, 1))
                for i, ok in enumerate(right))
    return ModelScores(run, "f", per, 1.0, None, "missing")


def _result(n: int = 80):
    questions = [Question(f"q{i}", f"Question {i}?", ("right", "wrong"), 0, "definition" if i % 2 else "expansion",
                          "glossary") for i in range(n)]
    base = [i % 2 == 0 for i in range(n)]  # half right
    scores = {"base": _scores("base", base),
              "r16-qv": _scores("r16-qv", base),  # the same answers: no evidence either way
              "r32-all": _scores("r32-all", [False] * n)}  # forgot everything it knew
    return build_result("m", questions, [Source("glossary", "glossary", "g.yaml", "x", n, n)], "sys", scores)


def _section(root, tmp_path):
    return knowledge.build(Context(load_study(root), tmp_path / "figures"))


def test_knowledge_shows_accuracy_intervals_and_who_forgot(tmp_path):
    root = make_study(tmp_path / "study")
    path = EvalPaths(root / "eval").ranking
    write_record(path, read_record(path, Ranking).model_copy(update={"knowledge": _result()}))
    section = _section(root, tmp_path)
    finding = next(b for b in section.blocks if isinstance(b, Finding)).text
    assert "the base model answers 50.0%" in finding and "forgot what the base model knew: r32-all" in finding
    assert "r16-qv" not in finding
    table = next(b for b in section.blocks if isinstance(b, Table) and b.columns[0] == "model" and "verdict" in b.columns)
    rows = {row[0]: row for row in table.rows}
    assert rows["base"][3] == "(reference)" and rows["r16-qv"][-1] == "no evidence either way"
    assert rows["r32-all"][-1] == "forgot" and rows["r32-all"][3].startswith("-50.0 [")
    categories = next(b for b in section.blocks if isinstance(b, Table) and "definition (40)" in b.columns)
    assert len(categories.rows) == 3


def test_without_the_knowledge_step_the_section_says_how_to_turn_it_on(tmp_path):
    root = make_study(tmp_path / "study")
    section = _section(root, tmp_path)
    assert "Not available: knowledge questions" in section.blocks[0].text and "eval.knowledge: true" in section.blocks[0].text
