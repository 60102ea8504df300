"""What the report and the terminal summary conclude, and what they refuse to: a study whose runs
cannot be told apart gets no recommendation and a finding that says so; a judge that cannot
discriminate appears as left out with its reason and in no combined score, recommendation or
agreement figure; the knowledge score sits beside the judge score; the planner's estimate, the
tiers and the small-sample warning are shown."""

from __future__ import annotations

import re

import numpy as np

from telcotune.artifacts.io import read_record, write_record
from telcotune.artifacts.ranking import Ranking
from telcotune.paths import EvalPaths, StudyPaths
from telcotune.rank import ScoreRow, judge_agreement, ratings_from_rows, separate_pointwise
from telcotune.report import build_report
from telcotune.summary import summary_rows

from . import fake_study as fake
from .test_report import JUDGES, SCORES, make_study, section_html
from .test_report_knowledge import _result as knowledge_result


def _rewrite(root, judges: dict, **update) -> Ranking:
    path = EvalPaths(root / "eval").ranking
    ranking = read_record(path, Ranking)
    ranking = ranking.model_copy(update={"judges": judges, "finding": fake.finding(judges, 5), **update})
    write_record(path, ranking)
    return ranking


def _equal_rows(runs: list[str], n_prompts: int = 5) -> list[ScoreRow]:
    """Every run's true mean is 6; the scores differ by noise only."""
    rng = np.random.default_rng(7)
    return [ScoreRow(run, f"p{i}", 6.0 + float(rng.normal(0, 1.0))) for run in runs for i in range(n_prompts)]


def test_equal_runs_get_no_recommendation_and_a_finding_that_says_none_could_be_told_apart(tmp_path):
    root = make_study(tmp_path / "study")
    losses = read_record(EvalPaths(root / "eval").ranking, Ranking).val_loss
    runs = list(SCORES["rubric"])
    judges = {}
    for judge in JUDGES:  # judges that pass their diagnostics, but whose tier holds every run
        section = fake.judge_section(judge, losses, SCORES[judge], (-0.5, 0.6))
        judges[judge] = section.model_copy(update={"separation": separate_pointwise(_equal_rows(runs), 200, 0)})
    assert all(not s.separation.discriminates for s in judges.values())
    ranking = _rewrite(root, judges)
    assert "so no configuration could be told apart" in ranking.finding.headline
    html = build_report(root).read_text(encoding="utf-8")
    energy = section_html(html, "energy")
    assert "Recommended:" not in energy
    assert ("No configuration is recommended: no judge could tell the configurations apart on 5 prompts"
            in energy)
    assert "rubric: no recommendation; rubric cannot tell the 4 candidate runs apart" in energy
    assert "so no configuration could be told apart" in html.split("<nav>")[0]  # the headline
    assert "All 5 runs are in the top tier: rubric cannot tell them apart on 5 prompts" in section_html(
        html, "separation")
    recommended = next(row for row in summary_rows(StudyPaths(root)) if row[0] == "recommended")
    assert recommended[1] == "none" and "no judge could tell the configurations apart" in recommended[2]


def test_a_judge_that_cannot_discriminate_is_shown_as_left_out_with_its_reason_and_nowhere_else(tmp_path):
    root = make_study(tmp_path / "study")
    losses = read_record(EvalPaths(root / "eval").ranking, Ranking).val_loss
    constant = {run: 5.0 for run in SCORES["openai:judge-x"]}
    judges = {"rubric": fake.judge_section("rubric", losses, SCORES["rubric"], (-0.4, 0.8)),
              "openai:judge-x": fake.judge_section("openai:judge-x", losses, constant, None, discriminates=False)}
    excluded = {"openai:judge-x": "no spread: every run got the same score"}
    rows = {j: fake.score_rows(SCORES["rubric"] if j == "rubric" else constant, 5, 0.3 if j == "rubric" else 0.0)
            for j in judges}
    agreement = judge_agreement({j: s.pointwise.scores() for j, s in judges.items()}, ratings_from_rows(rows),
                                excluded=excluded)
    _rewrite(root, judges, agreement=agreement)
    html = build_report(root).read_text(encoding="utf-8")
    judgement = section_html(html, "judgement")
    assert "left out: no spread: every run got the same score" in judgement
    assert re.search(r'<p class="finding">Left out of every conclusion as unable to discriminate: '
                     r'openai:judge-x \(no spread', judgement)
    assert "openai:judge-x (left out)" in judgement  # its ranking column is marked
    assert "undefined (openai:judge-x cannot discriminate: no spread" in judgement  # agreement: no number
    assert "openai:judge-x" not in re.sub(r'<p class="note">.*?</p>', "", section_html(html, "energy"))
    assert "Judge score: mean pointwise judge score (1-10), from rubric." in section_html(html, "targets")
    assert "<h3>openai:judge-x</h3>" not in section_html(html, "separation")
    question = section_html(html, "question")
    assert "Left out as unable to discriminate: openai:judge-x (" in question
    assert "<li>openai:judge-x:" not in question
    assert "Left out of every conclusion as unable to discriminate: openai:judge-x (" in html.split("<nav>")[0]
    summary = summary_rows(StudyPaths(root))
    assert ("openai:judge-x", "left out", "cannot discriminate: no spread: every run got the same score") in summary
    assert not any(c.startswith(("best by openai", "finding (openai")) for c, _, _ in summary)
    assert any(c == "best by rubric" for c, _, _ in summary)


def test_knowledge_sits_beside_the_judge_score_and_its_section_renders(tmp_path):
    root = make_study(tmp_path / "study")
    path = EvalPaths(root / "eval").ranking
    write_record(path, read_record(path, Ranking).model_copy(update={"knowledge": knowledge_result()}))
    html = build_report(root).read_text(encoding="utf-8")
    assert "Not available" not in section_html(html, "knowledge")
    assert "forgot what the base model knew: r32-all" in section_html(html, "knowledge")
    energy, targets = section_html(html, "energy"), section_html(html, "targets")
    assert ">knowledge accuracy<" in energy and ">mean knowledge accuracy<" in targets
    r32 = next(r for r in re.findall(r"<tr>(.*?)</tr>", energy, re.S) if ">r32-all<" in r)
    assert ">0.0%<" in r32  # r32-all answers none of the knowledge questions


def test_tiers_warning_and_plan_are_shown(tmp_path):
    root = make_study(tmp_path / "study")
    html = build_report(root).read_text(encoding="utf-8")
    separation = section_html(html, "separation")
    assert "Warning: every interval here rests on 5 prompt(s), fewer than 10" in separation
    assert "Top tier: 1 of 5 runs are not significantly worse than the best (r16-attn)" in separation
    assert "Intervals: t interval over prompts" in separation and ">P(best)<" in separation
    planning = section_html(html, "planning")
    assert re.search(r"<td class=\"\">rubric</td><td class=\"\">pointwise</td><td class=\"num\">\d+ \(\d+-\d+\)",
                     planning)
    assert "95% intervals of at most ±0.25" in planning


def test_the_evaluation_stages_ranking_with_a_constant_judge(tmp_path):
    """The real build_ranking from judgments: a judge that scores every answer 1.0 (as a tiny local
    model did) is left out with its reason in the report and the summary, its agreement is
    undefined, and the energy section recommends from the other judge only."""
    from telcotune.artifacts.run import finished_runs
    from telcotune.evaluate.judging import JudgeRun
    from telcotune.evaluate.ranking import build_ranking
    from telcotune.judge.base import Judgment

    from .test_report import PROMPTS, RUNS, answer_text

    root = make_study(tmp_path / "study")
    runs = ["base", *RUNS]
    taste = SCORES["rubric"]
    judgments = {
        "rubric": [Judgment("rubric", "pointwise", pid, [run], "ok", overall=taste[run] + (i % 3) - 1, method="rule")
                   for run in runs for i, (pid, _) in enumerate(PROMPTS)],
        "local:tiny": [Judgment("local:tiny", "pointwise", pid, [run], "ok", overall=1.0, method="logprob")
                       for run in runs for pid, _ in PROMPTS],
    }
    original = read_record(EvalPaths(root / "eval").ranking, Ranking)
    ranking = build_ranking(finished_runs(StudyPaths(root).sweep_paths), runs,
                            {j: JudgeRun(rows, {}) for j, rows in judgments.items()},
                            {"test": {p for p, s in PROMPTS if s == "test"},
                             "test_ood": {p for p, s in PROMPTS if s == "test_ood"}},
                            {run: {pid: answer_text(run, pid) for pid, _ in PROMPTS} for run in runs},
                            n_resamples=100, seed=0, inference=original.inference, judge_files={})
    write_record(EvalPaths(root / "eval").ranking, ranking)
    assert "local:tiny" in ranking.finding.excluded_judges
    html = build_report(root).read_text(encoding="utf-8")
    judgement = section_html(html, "judgement")
    assert "local:tiny" in judgement and "left out: no spread: every run got the same score" in judgement
    assert "undefined (local:tiny cannot discriminate" in judgement
    assert "probability-weighted" in judgement  # how local:tiny's scores were produced
    assert "local:tiny" not in re.sub(r'<p class="note">.*?</p>', "", section_html(html, "energy"))
    summary = summary_rows(StudyPaths(root))
    assert ("local:tiny", "left out", "cannot discriminate: no spread: every run got the same score") in summary


def test_summary_says_which_adapters_forgot(tmp_path):
    root = make_study(tmp_path / "study")
    path = EvalPaths(root / "eval").ranking
    write_record(path, read_record(path, Ranking).model_copy(update={"knowledge": knowledge_result()}))
    knowledge = next(detail for criterion, _, detail in summary_rows(StudyPaths(root)) if criterion == "knowledge")
    assert "the base model answers 50.0%" in knowledge and "forgot what the base model knew: r32-all" in knowledge


def test_a_judge_that_prefers_longer_answers_is_shown_raw_and_length_controlled(tmp_path):
    from telcotune.rank import PairVerdict
    from telcotune.rank.length import length_controlled_pairwise

    root = make_study(tmp_path / "study")
    runs = sorted(SCORES["rubric"])
    rng = np.random.default_rng(3)
    lengths = {(run, f"p{i}"): (900.0 if run == "r32-all" else 300.0) + float(rng.integers(0, 200))
               for run in runs for i in range(12)}
    games = [PairVerdict(f"p{i}", a, b, order, a if lengths[(a, f"p{i}")] > lengths[(b, f"p{i}")] else b)
             for i in range(12) for j, a in enumerate(runs) for b in runs[j + 1:] for order in ("ab", "ba")]
    controlled = length_controlled_pairwise(games, lengths, 200, 0)
    ranking = read_record(EvalPaths(root / "eval").ranking, Ranking)
    judges = {**ranking.judges, "rubric": ranking.judges["rubric"].model_copy(update={"length_controlled": controlled})}
    write_record(EvalPaths(root / "eval").ranking, ranking.model_copy(update={"judges": judges}))
    judgement = section_html(build_report(root).read_text(encoding="utf-8"), "judgement")
    assert re.search(r"rubric \(pairwise\): log-odds of winning per unit of length difference [\d.]+ "
                     r"\[[\d.]+, [\d.]+\]: its preferences track length", judgement)
    verbose = next(r for r in re.findall(r"<tr>(.*?)</tr>", judgement, re.S)
                   if ">rubric (pairwise)<" in r and ">r32-all<" in r)
    raw, raw_rank, lc = re.findall(r'<td class="num">([^<]*)</td>', verbose)[:3]
    assert raw == "100%" and raw_rank == "1" and abs(int(lc.rstrip("%")) - 50) <= 10  # its edge was its length


def test_a_pairwise_graph_in_pieces_is_reported_as_groups_not_ordered(tmp_path):
    from telcotune.judge.pairs import Components

    root = make_study(tmp_path / "study")
    ranking = read_record(EvalPaths(root / "eval").ranking, Ranking)
    groups = Components((("r16-attn", "r16-qv"), ("r32-all", "r32-qv"), ("base",)))
    rubric = ranking.judges["rubric"].model_copy(update={
        "components": groups, "separation_pairwise": None, "loss_vs_judge_pairwise": None, "byes": {"base": 1}})
    write_record(EvalPaths(root / "eval").ranking, ranking.model_copy(update={"judges": {**ranking.judges,
                                                                                          "rubric": rubric}}))
    separation = section_html(build_report(root).read_text(encoding="utf-8"), "separation")
    assert ("rubric (pairwise): the comparison graph falls into 3 groups that were never compared with each other "
            "(r16-attn, r16-qv; r32-all, r32-qv; base); runs in different groups are not ordered") in separation
    assert "rubric (pairwise): Swiss rounds sat out (byes, counted as such): base 1." in separation
