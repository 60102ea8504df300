"""The report stage on a hand-made study folder: 4 LoRA runs plus the base model, 2 judges,
5 prompts (test and test_ood), written here in the exact shapes the stages produce (no
pipeline is run). Checks every section and figure, the computed finding, "not available"
notes for missing optional artifacts, escaping, skip-when-current, and that building the
report imports no training or model code."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from telcotune.artifacts.answers import AnswerRow
from telcotune.artifacts.data import DataStats
from telcotune.artifacts.io import write_record, write_rows
from telcotune.artifacts.ranking import BootstrapSettings, InferenceSummary, Ranking
from telcotune.artifacts.run import read_finished_run
from telcotune.artifacts.sweep import SweepSummary
from telcotune.config import TARGET_PRESETS, ExperimentConfig, SweepRun, TrainConfig
from telcotune.energy.summary import answers_energy, data_energy, judge_energy
from telcotune.errors import StageError
from telcotune.fsio import write_text
from telcotune.judge.base import Judgment
from telcotune.paths import DataPaths, EvalPaths, RunPaths, StudyPaths
from telcotune.rank import Correlation, JudgeAgreement, JudgePairAgreement, KrippendorffAlpha
from telcotune.report import build_report, load_study
from telcotune.train.sweep import sweep_row

from . import fake_study as fake

ROOT = Path(__file__).resolve().parents[1]
JUDGES = ("rubric", "openai:judge-x")
SLUGS = {"rubric": "rubric", "openai:judge-x": "openai-judge-x"}
RUNS = {  # name: (r, alpha, targets, best val loss, trainable params, train energy J)
    "r16-qv": (16, 32, "qv", 1.42, 460_800, 1_800.0),
    "r16-attn": (16, 32, "attn", 1.38, 921_600, 2_600.0),
    "r32-all": (32, 64, "all", 1.31, 4_884_480, 6_900.0),
    "r32-qv": (32, 64, "qv", 1.40, 921_600, 2_000.0),
}
SCORES = {  # mean pointwise score per judge (the lowest-loss run is NOT judged best)
    "rubric": {"r16-attn": 6.4, "r32-all": 6.1, "r32-qv": 5.9, "r16-qv": 5.8, "base": 4.2},
    "openai:judge-x": {"r16-attn": 7.1, "r32-qv": 6.9, "r32-all": 6.6, "r16-qv": 6.5, "base": 5.0},
}
PROMPTS = [("test-1", "test"), ("test-2", "test"), ("test-3", "test"), ("ood-1", "test_ood"), ("ood-2", "test_ood")]
EVIL = '<script>alert("pwned")</script> & <b>bold</b> | `tick` **star**'
FORBIDDEN = ("torch", "transformers", "peft")
SOURCES = {"measured": "codecarbon:rapl", "estimated": "codecarbon:cpu=tdp,tracking=machine"}


# ---------------------------------------------------------------- hand-made artifacts


def energy(kind, phases: dict[str, tuple[float | None, float, str]], count: int):
    """An energy.json record of `kind` (data, answers, judge) built by the stages' own code."""
    return {"data": data_energy, "answers": answers_energy, "judge": judge_energy}[kind](fake.readings(phases), count)


def write_config(study: StudyPaths) -> None:
    write_record(study.resolved_config, ExperimentConfig.model_validate({
        "name": "tiny", "model": {"spec": "smollm2-135m-instruct", "trust_remote_code": False},
        "data": {"glossary": "telecom", "per_scenario": 2, "backend": "template", "seed": 0,
                 "split": {"train": 0.8, "val": 0.1, "test": 0.1}, "ood_terms": ["eSIM"], "concurrency": 4,
                 "mistake_rate": 0.3, "max_turns": 4},
        "train": {"r": 16, "alpha": 32, "targets": "qv", "lr": 0.0002, "seed": 0},
        "sweep": {"file": None, "base": {}, "runs": [], "grid": {}},
        "eval": {"prompts": ["test", "test_ood"], "limit": 3, "protocol": "both", "seed": 0, "bootstrap": 200},
        "judges": {"panel": list(JUDGES)}, "energy": {"country": "USA", "meter": "codecarbon"},
    }))


def write_data(study: StudyPaths, ood: bool = True) -> None:
    data = DataPaths(study.data)
    terms, causes = ["APN", "eSIM", "VoLTE"], ["network-outage", "device-setting"]
    splits = {"train": 16, "val": 2, "test": 2, **({"test_ood": 4} if ood else {})}
    write_record(data.stats, DataStats.model_validate({
        "scenarios": 12, "planned": 26, "conversations": sum(splits.values()), "splits": splits,
        "rejects": {"total": 2, "by_reason": {"missing_term": 1, "duplicate_near": 1}},
        "duplicates_removed": {"exact": 0, "near": 1},
        "per_term": {t: 8 for t in terms}, "per_cause": {c: 12 for c in causes},
        "per_context": {"home": 12, "travel": 12},
        "per_cell": {f"{t}|{c}": 4 for t in terms for c in causes if (t, c) != ("VoLTE", "device-setting")},
        "per_persona": {"calm": 14, "frustrated": 10}, "with_misconception": 7,
        "customer_turns": {"1": 6, "2": 10, "3": 8},
        "length_approx_tokens": {"count": 24, "mean": 142.5, "min": 60, "max": 260, "p50": 138.0, "p90": 220.0,
                                 "histogram": {"counts": [3, 8, 9, 4], "edges": [60.0, 110.0, 160.0, 210.0, 260.0]}},
        "backend": {"template": {"backend": "template", "model": "template", "calls": 26, "cache_hits": 0,
                                 "cache_misses": 0, "retries": 0, "prompt_tokens": 0, "completion_tokens": 0,
                                 "cost_usd": 0.0, "duration_s": 1.2}},
    }))
    write_record(data.energy, energy("data", {"generation": (42.0, 1.2, "estimated")}, 24))
    fake.write_manifest_record(data.root, "data", backend="template")


BASE_LOSS = 1.6
"""The base model's validation loss in the fake study: above every run's."""


def write_sweep(study: StudyPaths) -> None:
    rows = []
    base = fake.base_validation(BASE_LOSS)
    write_record(study.sweep / "_base" / "base.json", base)
    for k, (name, (r, alpha, targets, loss, params, train_j)) in enumerate(RUNS.items()):
        settings = TrainConfig(r=r, alpha=alpha, dropout=0.05, targets=targets, lr=0.0002, seed=0, max_steps=40,
                               batch_size=8, eval_every=10)
        curve = fake.curve(loss)
        best_val = min(r_.val_loss for r_ in curve if r_.val_loss is not None)
        metrics = fake.run_metrics(best_val, trainable_params=params, duration_s=80.0 + params / 1e5)
        run_energy = fake.run_energy(train_j * 0.9, train_j * 0.1, 36_000)
        paths = fake.write_run(study.run(name), settings, metrics, energy=run_energy, rows=curve,
                               data_dir=str(study.data))
        write_record(paths.val_losses, fake.example_losses(best_val, 40, spread=0.3 * best_val / BASE_LOSS,
                                                                 seed=k + 1, jitter=0.03))
        finished = read_finished_run(paths)
        rows.append(sweep_row(SweepRun(name=name, **settings.model_dump()), finished, base))
    write_record(study.sweep / "sweep.json", SweepSummary(
        model="smollm2-135m-instruct", data_dir=str(study.data), max_steps_override=None, runs_total=len(rows),
        runs_finished=len(rows), pending=[], runs=rows, base=base))
    write_text(study.sweep / "sweep.csv", "name,r\n" + "".join(f"{r.name},{r.r}\n" for r in rows))
    fake.write_manifest_record(study.sweep, "sweep", model="smollm2-135m-instruct", runs=list(RUNS))


def val_losses(study: StudyPaths) -> dict[str, float]:
    return {name: json.loads(RunPaths(study.run(name)).metrics.read_text())["best_val_loss"] for name in RUNS}


def answer_text(run: str, prompt_id: str) -> str:
    if run == "r32-all" and prompt_id == "test-1":
        return f"Please restart the phone. {EVIL}"
    return f"[{run}] For {prompt_id}: check the APN settings, then restart the device.\nSecond line."


def write_eval(study: StudyPaths, rho_ci=(-0.4, 0.8), with_pairwise=True, ood=True, with_base=True) -> None:
    ev = EvalPaths(study.eval)
    prompts = [(i, s) for i, s in PROMPTS if ood or s != "test_ood"]
    sets = {s: sum(1 for _, x in prompts if x == s) for s in dict.fromkeys(s for _, s in prompts)}
    runs = (["base"] if with_base else []) + list(RUNS)
    inference = {}
    for k, run in enumerate(runs):
        rows = [AnswerRow(id=pid, set=s, run=run,
                          prompt=[{"role": "system", "content": "You are a telecom support assistant."},
                                  {"role": "user", "content": f"My data stopped working <{pid}> & I need help"},
                                  {"role": "assistant", "content": "Sorry to hear that. Which phone do you use?"},
                                  {"role": "user", "content": "An Android phone."}],
                          answer=answer_text(run, pid), new_tokens=40, prompt_tokens=90, latency_s=0.5)
                for pid, s in prompts]
        write_rows(ev.answers(run), rows)
        answers_record = energy("answers", {"inference": (300.0 + 20 * k, 5.0, "estimated")}, 40 * len(rows))
        write_record(ev.answers_energy(run), answers_record)
        inference[run] = InferenceSummary(run=run, answers=len(rows), new_tokens=40 * len(rows),
                                          j_per_generated_token=answers_record.j_per_generated_token,
                                          energy_method="estimated", energy_j=answers_record.total.energy_j,
                                          duration_s=5.0, tokens_per_s=40.0)
    for judge in JUDGES:  # the scores behind the fake sections, under the answers' prompt ids (the planner reads them)
        ids = {f"p{i}": pid for i, (pid, _) in enumerate(prompts)}
        write_rows(ev.judgments(SLUGS[judge]), [
            Judgment(judge=judge, protocol="pointwise", prompt_id=ids[row.prompt_id], runs=[row.run], status="ok",
                     overall=round(row.score, 3), method="rule")
            for row in fake.score_rows({r: SCORES[judge][r] for r in runs}, len(prompts))])
        judging = (None, 3.0, "missing") if judge == "rubric" else (120.0, 9.0, "measured")
        write_record(ev.judge_energy(SLUGS[judge]), energy("judge", {"judging": judging}, 25))
    losses = val_losses(study)
    judges = {j: fake.judge_section(j, losses, SCORES[j], rho_ci, with_pairwise=with_pairwise, sets=sets)
              for j in JUDGES}
    alpha = KrippendorffAlpha(alpha=0.41, n_items=25, n_values=50, n_judges=2, missing_reason=None)
    agreement = JudgeAgreement(pairs=(JudgePairAgreement("openai:judge-x", "rubric",
                                                         Correlation(0.6, 0.7, 5, None), alpha, alpha),),
                               overall_alpha=alpha, overall_alpha_ordinal=alpha)
    ranking = Ranking(
        runs=runs, val_loss=losses, loss_order=sorted(losses, key=losses.get), prompt_sets=sets, judges=judges,
        agreement=agreement, bootstrap=BootstrapSettings(n_resamples=200, seed=0, unit="prompt"),
        inference=inference, judge_files={j: f"{SLUGS[j]}.jsonl" for j in JUDGES},
        finding=fake.finding(judges, len(prompts)))
    write_record(ev.ranking, ranking)
    write_text(ev.leaderboard, "name,val_loss\n" + "".join(f"{r},{losses.get(r, '')}\n" for r in runs))
    fake.write_manifest_record(ev.root, "evaluate", model="smollm2-135m-instruct", judges=list(JUDGES))


def make_study(root: Path, **eval_options) -> Path:
    study = StudyPaths(root)
    write_config(study)
    write_data(study, ood=eval_options.get("ood", True))
    write_sweep(study)
    write_eval(study, **eval_options)
    return root


# ---------------------------------------------------------------- helpers


SECTION_TITLES = ("1. Data", "2. Training", "3. Judgement", "4. Judges against people",
                  "5. Which runs can be told apart?", "6. Does lower validation loss mean better answers?",
                  "7. Target modules and rank", "8. Energy versus quality", "9. Knowledge and forgetting",
                  "10. Planning the next study", "11. Samples", "12. Reproducibility")
FIGURES = ("data_coverage", "data_distributions", "val_loss_curves", "judge_pointwise", "judge_pairwise",
           "loss_vs_judge", "target_modules", "energy_vs_quality")
ABSENT_IN_COMPLETE = ("Not available: judges against people", "Not available: knowledge questions")
"""The complete fake study has no ratings and did not run the knowledge step."""


def section_html(html: str, section_id: str) -> str:
    match = re.search(rf'<section id="{section_id}">(.*?)</section>', html, re.S)
    assert match, f"section {section_id} missing"
    return match.group(1)


def finding_of(html: str) -> str:
    return re.search(r'<p class="finding">(.*?)</p>', section_html(html, "question"), re.S).group(1)


@pytest.fixture()
def study(tmp_path) -> Path:
    return make_study(tmp_path / "study")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """One complete study with its report, shared by the tests that only read it."""
    root = make_study(tmp_path_factory.mktemp("built") / "study")
    build_report(root)
    return root


def read_report(root: Path) -> tuple[str, str]:
    report = StudyPaths(root).report
    return (report / "index.html").read_text(encoding="utf-8"), (report / "report.md").read_text(encoding="utf-8")


# ---------------------------------------------------------------- tests


def test_report_has_every_section_and_figure(built):
    study = built
    html, md = read_report(study)
    for title in SECTION_TITLES:
        assert f"<h2>{title}</h2>" in html
        assert f"## {title}" in md
    embedded = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(embedded) == len(FIGURES)
    for name in FIGURES:
        png = study / "report" / "figures" / f"{name}.png"
        assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n"), name
        assert f"](figures/{name}.png)" in md
        assert base64.b64encode(png.read_bytes()).decode() in embedded
    for text in (html, md):  # a complete study: only the two optional steps it did not run are missing
        notes = re.findall(r"Not available: [^(]*", text)
        assert sorted(n.strip() for n in notes) == sorted(ABSENT_IN_COMPLETE), notes
    assert json.loads((study / "report" / "manifest.json").read_text())["stage"] == "report"


def test_html_is_self_contained_and_escapes_model_text(built):
    html, md = read_report(built)
    assert "<script" not in html
    assert not re.search(r'(src|href)="(?!data:|#)', html), "every resource must be embedded"
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert "&lt;test-1&gt; &amp; I need help" in html  # the prompt's customer turn, escaped
    assert EVIL in md.split("```text", 1)[1]  # answers are verbatim inside fenced blocks, never markup
    outside_fences = re.sub(r"(`{3,})text\n.*?\n\1", "", md, flags=re.S)
    assert "<script>" not in outside_fences


def test_finding_sentence_follows_the_numbers(built, tmp_path):
    spans = finding_of(read_report(built)[0])
    assert spans.startswith("With 5 prompts, ")
    assert "Validation loss against judged quality: rubric: no evidence either way (Spearman 0.20, 95% CI -0.40 to 0.80)" in spans
    # the lowest-loss run (r32-all) is 2nd/3rd by the judges: said, from ranking.json, not hard-coded
    assert "The lowest-loss run (r32-all) ranked 2nd of 4 by rubric" in spans
    assert "would have missed the best-judged run every time" in spans
    assert spans in read_report(built)[0].split("<nav>")[0]  # also the report's headline
    above = finding_of(build_report(make_study(tmp_path / "above", rho_ci=(0.3, 0.95))).read_text(encoding="utf-8"))
    assert "rubric: lower loss went with better judged answers (Spearman 0.62, 95% CI 0.30 to 0.95)" in above
    assert "no evidence" not in above


def test_the_headline_follows_each_judges_verdict_and_leaves_out_those_that_cannot_discriminate(built):
    """rank.finding on its own (no rebuild): an interval below 0, judges that disagree, a judge
    without an interval, and a judge that cannot discriminate."""
    losses = load_study(built).ranking.val_loss
    below = {j: fake.judge_section(j, losses, SCORES[j], (-0.9, -0.2)) for j in JUDGES}
    text = fake.finding(below).headline
    assert "rubric: lower loss went with worse judged answers" in text
    assert "openai:judge-x: lower loss went with worse judged answers" in text
    mixed = {"rubric": fake.judge_section("rubric", losses, SCORES["rubric"], (0.1, 0.9)),
             "openai:judge-x": below["openai:judge-x"]}
    assert fake.finding(mixed).verdicts == {"rubric": "predicted", "openai:judge-x": "inverse"}
    no_interval = fake.comparison("rubric", losses, {run: 5.0 for run in RUNS}, None)
    flat = {"rubric": fake.judge_section("rubric", losses, SCORES["rubric"], None).model_copy(
        update={"loss_vs_judge": no_interval})}
    untested = fake.finding(flat).headline
    assert "rubric: not tested" in untested
    assert "ranked 1st of 4 (tied) by rubric, so choosing by validation loss alone would have chosen a run" in untested
    constant = {**mixed, "openai:judge-x": fake.judge_section("openai:judge-x", losses, SCORES["openai:judge-x"],
                                                              (0.1, 0.9), discriminates=False)}
    found = fake.finding(constant)
    assert "openai:judge-x" in found.excluded_judges and "openai:judge-x" not in found.verdicts
    assert "Left out of every conclusion as unable to discriminate: openai:judge-x (" in found.headline


def test_the_recommendation_is_the_cheapest_run_of_the_top_tier(built):
    energy = section_html(read_report(built)[0], "energy")
    # both judges find every other run significantly worse than r16-attn: it is recommended, although
    # r16-qv and r32-qv cost less (a point-estimate Pareto front would have recommended them too)
    headline = re.search(r'<p class="finding">(.*?)</p>', energy, re.S).group(1)
    assert headline.startswith("Recommended: r16-attn, the cheapest configuration not significantly worse")
    assert "r16-qv" not in headline and "r32-qv" not in headline
    assert "rubric: r16-attn (2,940 J), the only candidate run rubric does not find significantly worse" in energy
    rows = re.findall(r"<tr>(.*?)</tr>", energy, re.S)
    r16_qv = next(r for r in rows if ">r16-qv<" in r)
    assert re.search(r"5\.80 \[5\.\d\d, 6\.\d\d\]<", r16_qv)  # every run's interval, not only the point


def test_missing_optional_artifacts_give_notes_not_crashes(tmp_path):
    root = make_study(tmp_path / "s", with_pairwise=False, ood=False, with_base=False)
    for run in RUNS:
        (RunPaths(StudyPaths(root).run(run)).energy).unlink()
    (root / "data" / "energy.json").unlink()
    html = build_report(root).read_text(encoding="utf-8")
    judgement = section_html(html, "judgement")
    assert "Not available: pairwise rankings" in judgement
    assert "Not available: position bias (no pairwise judging in this study)" in judgement
    assert "Not available: scores on out-of-distribution prompts (test_ood)" in judgement
    assert "Not available: out-of-distribution test split" in section_html(html, "data")
    assert "Not available: generation energy (data/energy.json not found)" in section_html(html, "data")
    assert "Not available: energy versus quality" in section_html(html, "energy")
    assert "no base-model answers" in section_html(html, "samples")
    assert not (root / "report" / "figures" / "judge_pairwise.png").exists()


def test_study_with_only_data_still_builds(tmp_path):
    root = tmp_path / "early"
    write_data(StudyPaths(root))
    html = build_report(root).read_text(encoding="utf-8")
    for section_id in ("training", "judgement", "question", "energy", "samples"):
        assert "Not available:" in section_html(html, section_id), section_id
    assert "Not available: the study&#x27;s finding" in html


def test_no_study_is_a_clear_error(tmp_path):
    with pytest.raises(StageError, match=r"no study found.*config\.json"):
        build_report(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(StageError, match=r"ranking\.json"):
        build_report(tmp_path / "empty")


def test_a_malformed_artifact_is_named(study):
    (study / "eval" / "ranking.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(StageError, match=r"eval/ranking\.json: not valid JSON"):
        build_report(study)


def test_cli_reports_a_missing_study_in_one_line(tmp_path):
    out = subprocess.run([sys.executable, "-m", "telcotune", "report", "--workdir", str(tmp_path / "none")],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 2
    assert "no study found" in out.stderr and "Traceback" not in out.stderr


def test_report_is_skipped_when_current_and_rebuilt_when_an_input_changes(study):
    index = build_report(study)
    stamp = index.stat().st_mtime_ns
    assert build_report(study).stat().st_mtime_ns == stamp
    ranking = EvalPaths(study / "eval").ranking
    data = json.loads(ranking.read_text())
    data["finding"]["headline"] = "A finding the evaluation stage wrote."
    ranking.write_text(json.dumps(data), encoding="utf-8")
    html = build_report(study).read_text(encoding="utf-8")
    assert finding_of(html) == "A finding the evaluation stage wrote."  # read, never re-derived


def test_loader_reads_the_exact_shapes(built):
    loaded = load_study(built)
    assert [r.name for r in loaded.runs] == list(RUNS)
    assert loaded.run("r32-all").settings.targets == "all"
    assert loaded.run("r32-all").target_modules == list(TARGET_PRESETS["all"])
    assert loaded.run("r32-all").best_val_loss == pytest.approx(RUNS["r32-all"][3] + 0.6 * 0.9 ** 40)
    assert set(loaded.answers) == {"base", *RUNS}
    assert set(loaded.judge_energy) == set(JUDGES)
    assert set(loaded.manifests) == {"data", "sweep", "evaluate"}


def synthetic_ranking(study, pairwise_judges=JUDGES):
    """The evaluation stage's own build_ranking over synthetic judgments (pairwise ones only for
    `pairwise_judges`)."""
    from telcotune.artifacts.run import finished_runs
    from telcotune.evaluate.judging import JudgeRun
    from telcotune.evaluate.ranking import build_ranking

    runs = finished_runs(StudyPaths(study).sweep_paths)
    judgments = {}
    for judge in JUDGES:
        rows = [Judgment(judge, "pointwise", pid, [run], "ok", overall=SCORES[judge][run] + (i % 3) - 1)
                for run in ["base", *RUNS] for i, (pid, _) in enumerate(PROMPTS)]
        if judge in pairwise_judges:
            rows += [Judgment(judge, "pairwise", pid, [a, b], "ok", order=order, verdict="A", winner=a)
                     for pid, _ in PROMPTS for a, b, order in (("r16-attn", "r16-qv", "ab"), ("r16-qv", "r16-attn", "ba"))]
        judgments[judge] = rows
    sets = {"test": {p for p, s in PROMPTS if s == "test"}, "test_ood": {p for p, s in PROMPTS if s == "test_ood"}}
    original = load_study(study).ranking
    answers = {run: {pid: answer_text(run, pid) for pid, _ in PROMPTS} for run in ["base", *RUNS]}
    return build_ranking(runs, ["base", *RUNS], {j: JudgeRun(rows, {}) for j, rows in judgments.items()}, sets,
                         answers, n_resamples=50, seed=0, inference=original.inference,
                         judge_files=original.judge_files)


def test_report_accepts_the_evaluation_stages_own_ranking(study):
    """Guards against drift between the hand-made ranking.json and the real one: rebuild it
    with the evaluation stage's build_ranking from synthetic judgments."""
    ranking = synthetic_ranking(study)
    write_record(EvalPaths(study / "eval").ranking, ranking)
    html = build_report(study).read_text(encoding="utf-8")
    assert "Not available" not in section_html(html, "judgement")
    assert "Not available" not in section_html(html, "question")
    assert "Krippendorff" in section_html(html, "judgement") and "n/a on" not in section_html(html, "judgement")
    assert finding_of(html).startswith("With 5 prompts, ")


def test_building_the_report_imports_no_training_or_model_code(study):
    code = (
        "import sys\n"
        "from telcotune.cli import main\n"
        f"try:\n    main(['report', '--workdir', {str(study)!r}, '--force'])\n"
        "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r} or m.startswith('telcotune.train'))\n"
        "print('FORBIDDEN:', bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "FORBIDDEN: []" in out.stdout, out.stdout
    assert f"report: {study / 'report' / 'index.html'}" in out.stdout


def test_figures_show_text_from_data_literally(tmp_path):
    """A glossary term with dollar signs used to crash the report in matplotlib's mathtext."""
    from telcotune.report.figures import coverage_heatmap

    cells = {"$x^$ plan|billing": 3, "Price $\\notacommand$|billing": 1, "$5 and $6 plans|outage": 2}
    path = coverage_heatmap(cells, tmp_path / "f.png")
    assert path is not None and path.read_bytes().startswith(b"\x89PNG")


def test_training_shows_the_base_model_as_reference_line_row_and_paired_ratio(study, monkeypatch):
    from telcotune.report import figures

    drawn = {}
    real_save = figures._save

    def keep(fig, path):
        drawn[Path(path).stem] = fig
        return real_save(fig, path)

    monkeypatch.setattr(figures, "_save", keep)
    build_report(study)
    (ax,) = [a for a in drawn["val_loss_curves"].axes if a.get_visible()]
    base_lines = [ln for ln in ax.get_lines() if ln.get_label() == figures.BASE_LINE_LABEL]
    assert len(base_lines) == 1 and list(base_lines[0].get_ydata()) == pytest.approx([BASE_LOSS, BASE_LOSS])
    runs = {ln.get_label(): ln for ln in ax.get_lines() if ln.get_label() in RUNS}
    assert set(runs) == set(RUNS) and all(ln.get_xydata()[0].tolist() == pytest.approx([0, BASE_LOSS]) for ln in runs.values())
    html, md = read_report(study)
    training = md.split("## 2. Training")[1].split("## 3.")[0]
    assert "| base model (no adapter) |" in training and "| 1.6000 |" in training
    assert "validation loss 1.6000 (the dashed line in the figure)" in training
    assert "4 of 4 adapters are below it with 95% confidence" in training
    assert re.search(r"With 8 validation conversations these intervals are about ±\d\.\d% of the base loss: "
                     r"two adapters whose losses differ by less than that are not told apart", training)
    summary = json.loads((study / "sweep" / "sweep.json").read_text())
    best = next(r for r in summary["runs"] if r["name"] == "r32-all")["improvement"]
    assert best["ratio_low"] < best["ratio"] < best["ratio_high"] < 1 and best["n_examples"] == 8
    assert f"| {100 * best['ratio']:.1f}% ({100 * best['ratio_low']:.1f} to {100 * best['ratio_high']:.1f}) |" in training


def test_a_judge_that_judged_pointwise_only_builds(study):
    """quick.yaml's local judge has its own protocol (pointwise): the report lays out the other
    judges' pairwise results and this judge's pointwise ones, without a pairwise section for it."""
    ranking = synthetic_ranking(study, pairwise_judges=JUDGES[:-1])
    assert ranking.judges[JUDGES[-1]].pairwise is None and ranking.judges[JUDGES[0]].pairwise is not None
    write_record(EvalPaths(study / "eval").ranking, ranking)
    html = build_report(study).read_text(encoding="utf-8")
    assert JUDGES[-1] in section_html(html, "judgement")
    assert finding_of(html).startswith("With 5 prompts, ")
