"""The report's "Judges against people" section (report/sections/people.py): from a study with
ratings it shows the judges' agreement with people, inter-rater agreement, people's ranking and
finding, and how many more ratings are needed; from one without, "Not available" with the
command that starts rating. The ranking.json entries (`judges.human`, `human_agreement`) also
go through the existing judgement and loss sections like any judge's."""

from __future__ import annotations

import json
import re
from itertools import combinations

from telcotune.artifacts.io import read_record, write_record
from telcotune.artifacts.ranking import Ranking
from telcotune.evaluate.ranking import RankingInputs, human_judge
from telcotune.fsio import write_jsonl
from telcotune.paths import EvalPaths
from telcotune.rank.length import answer_lengths
from telcotune.rate.commands import open_store
from telcotune.rate.human import HUMAN_JUDGE, load_human_sections, load_ratings
from telcotune.rate.records import Response
from telcotune.report import build_report, load_study
from telcotune.report.blocks import Document, Finding, Table
from telcotune.report.html import render_html
from telcotune.report.markdown import render_markdown
from telcotune.report.sections import people
from telcotune.report.sections.context import Context

from .test_report import JUDGES, PROMPTS, SCORES, SLUGS, make_study


def study_with_judgments(root):
    """test_report's study, with each judge's pairwise verdicts on every pair (its SCORES' order)."""
    make_study(root)
    for judge in JUDGES:
        taste, rows = SCORES[judge], []
        for prompt_id, _ in PROMPTS:
            for a, b in combinations(sorted(taste), 2):
                winner = a if taste[a] > taste[b] else b
                for first, second, order in ((a, b, "ab"), (b, a, "ba")):
                    rows.append({"judge": judge, "protocol": "pairwise", "prompt_id": prompt_id, "status": "ok",
                                 "runs": [first, second], "order": order, "winner": winner,
                                 "verdict": "A" if winner == first else "B"})
        write_jsonl(EvalPaths(root / "eval").judgments(SLUGS[judge]), rows)
    return root


def render(root, tmp_path) -> tuple[object, str, str]:
    section = people.build(Context(load_study(root), tmp_path / "figures"))
    doc = Document("t", (), (section,))
    return section, render_html(doc), render_markdown(doc)


def rate_as_people(root, per_rater: int = 12) -> None:
    """Three raters who prefer what the judge `openai:judge-x` scores higher (Brian not always)."""
    store, _ = open_store(root, ("pairwise",))
    taste = SCORES["openai:judge-x"]
    for name in ("Ada", "Brian", "Chen"):
        rater = store.join(name)
        while (item := store.next_item(rater, "pairwise", per_rater)) is not None:
            a, b = item.runs
            verdict = "A" if taste[a] > taste[b] else "B" if taste[b] > taste[a] else "tie"
            if name == "Brian" and item.priority % 3 == 0:
                verdict = {"A": "B", "B": "A", "tie": "tie"}[verdict]
            store.rate(rater, item.key, Response("both_bad" if name == "Chen" and a == "base" else verdict))


def add_people_to_ranking(root) -> Ranking:
    """What `evaluate` does with ratings: people's statistics in `human`, and people as the judge."""
    eval_paths = EvalPaths(root / "eval")
    sections = load_human_sections(root, n_resamples=200)
    ranking = read_record(eval_paths.ranking, Ranking)
    answers = {run: {row.id: row.answer for row in rows} for run, rows in load_study(root).answers.items()}
    inputs = RankingInputs([], list(ranking.runs), {}, answer_lengths(answers), 200, 0)
    judges = {**ranking.judges, HUMAN_JUDGE: human_judge(sections, load_ratings(eval_paths), inputs)}
    ranking = ranking.model_copy(update={"human": sections, "judges": judges})
    write_record(eval_paths.ranking, ranking)
    return ranking


def test_without_ratings_the_section_says_how_to_start(tmp_path):
    root = make_study(tmp_path / "study")
    section, html, md = render(root, tmp_path)
    assert section.title == "Judges against people"
    note = f"Not available: judges against people (nobody has rated answers yet; start a rating session with " \
           f"`telcotune rate --workdir {root}`, then run `telcotune run` (or `evaluate`) again to add the ratings)."
    assert section.blocks[0].text == note and "Not available: judges against people" in html and "Not available" in md


def test_with_ratings_the_section_shows_agreement_ranking_and_what_is_missing(tmp_path):
    root = study_with_judgments(tmp_path / "study")
    rate_as_people(root)
    ranking = add_people_to_ranking(root)
    agreement = ranking.human["pairwise"]
    assert agreement.n_raters == 3 and agreement.n_ratings == 36
    section, html, md = render(root, tmp_path)
    text = json.dumps([b.__dict__ for b in section.blocks], default=str)
    assert "3 people gave 36 ratings" in text and "rated by two people or more" in text
    judges_table = next(b for b in section.blocks if isinstance(b, Table) and b.columns[0] == "judge")
    rows = {row[0]: row for row in judges_table.rows}
    assert set(rows) == {"rubric", "openai:judge-x"}
    # people mostly copied judge x's taste: its kappa is the higher, with an interval
    kappa = {judge: float(row[2].split(" [")[0]) for judge, row in rows.items()}
    assert kappa["openai:judge-x"] > kappa["rubric"] and re.fullmatch(r"\S+ \[\S+, \S+\]", rows["rubric"][2])
    finding = next(b for b in section.blocks if isinstance(b, Finding))
    assert "by human (pairwise)" in finding.text
    ranking_table = next(b for b in section.blocks if isinstance(b, Table) and b.columns[0] == "run")
    assert [row[0] for row in ranking_table.rows][0] == "r16-attn"  # judge x's favourite
    assert "Between raters: Krippendorff's alpha (nominal)" in md
    assert re.search(r"<h3>More ratings needed</h3>\s*<ul><li>", html)
    assert "about" in md and "more ratings" in md


def test_people_appear_as_a_judge_in_the_existing_sections(tmp_path):
    root = study_with_judgments(tmp_path / "study")
    rate_as_people(root, per_rater=8)
    add_people_to_ranking(root)
    html = (build_report(root, force=True)).read_text(encoding="utf-8")
    judgement = re.search(r'<section id="judgement">(.*?)</section>', html, re.S).group(1)
    question = re.search(r'<section id="question">(.*?)</section>', html, re.S).group(1)
    assert "human" in judgement and "human (pairwise)" in question
