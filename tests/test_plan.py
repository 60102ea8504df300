"""The planner: variance components, prompt counts, and `telcotune plan` on a hand-made
study. Its sizes are validated by simulation: studies of the planned size reach the target."""

import io
import json
from math import comb

import numpy as np
import pytest
from rich.console import Console

from telcotune.cli import main
from telcotune.errors import TelcotuneError
from telcotune.plan import (
    PlanInputError, halfwidth, plan_command, pointwise_components, prompts_for_detection,
    prompts_for_halfwidth,
)
from telcotune.config import PLAN_HALFWIDTH
from telcotune.plan.estimate import judge_price, make_target, plan_study
from telcotune.rank import ScoreRow, rank_pointwise
from telcotune.rank.paired import separate_pointwise

from .pilot_study import API_JUDGE, make_pilot_study


def simulate_rows(means, n_prompts, rng, sd_prompt=1.0, sd_answer=1.5, repeats=1, sd_judge=0.0):
    rows = []
    for p in range(n_prompts):
        difficulty = rng.normal(0, sd_prompt)
        for r, m in enumerate(means):
            quality = m + difficulty + rng.normal(0, sd_answer)
            rows += [ScoreRow(f"r{r}", f"p{p}", float(quality + rng.normal(0, sd_judge))) for _ in range(repeats)]
    return rows


# --- variance components -------------------------------------------------------------------

def test_variance_components_recover_the_simulated_ones():
    rng = np.random.default_rng(0)
    means = np.linspace(5.0, 6.0, 6)
    rows = simulate_rows(means, 400, rng, sd_prompt=1.0, sd_answer=1.0, repeats=2, sd_judge=0.7)
    c = pointwise_components(rows)
    assert (c.n_prompts, c.n_runs, c.n_repeated_answers) == (400, 6, 2400)
    assert c.prompt == pytest.approx(1.0, rel=0.2)
    assert c.interaction == pytest.approx(1.0, rel=0.1)
    assert c.judge_noise == pytest.approx(0.49, rel=0.1)
    assert c.run == pytest.approx(np.var(means, ddof=1), abs=0.05)
    # a planned study judges each answer once: V_mean = prompt + interaction + noise
    assert c.per_prompt.mean == pytest.approx(1 + 1 + 0.49, rel=0.1)
    assert c.per_prompt.difference == pytest.approx(2 * (1 + 0.49), rel=0.1)


def test_without_repeated_scores_judge_noise_is_not_separated_and_says_why():
    c = pointwise_components(simulate_rows([5.0, 5.5, 6.0], 30, np.random.default_rng(1)))
    assert c.judge_noise is None and c.interaction is None
    assert "cannot be separated from the prompt x run interaction" in c.judge_noise_reason
    assert c.residual > 0


def test_prompts_missing_for_some_run_are_left_out_and_too_little_data_is_refused():
    rows = simulate_rows([5.0, 6.0], 10, np.random.default_rng(2))
    rows = [r for r in rows if not (r.run == "r1" and r.prompt_id == "p3")]
    c = pointwise_components(rows)
    assert (c.n_prompts, c.n_prompts_left_out) == (9, 1)
    with pytest.raises(PlanInputError, match="2 runs scored on the same 2 prompts"):
        pointwise_components([ScoreRow("a", "p1", 5.0), ScoreRow("b", "p1", 6.0)])


# --- sizes ---------------------------------------------------------------------------------

def test_prompts_for_a_halfwidth_is_the_smallest_count_that_reaches_it():
    n = prompts_for_halfwidth(4.0, 0.5)
    assert halfwidth(4.0, n) <= 0.5 < halfwidth(4.0, n - 1)
    assert n == 64  # z alone would say 62: (1.96 * 2 / 0.5)^2 = 61.5
    assert prompts_for_halfwidth(0.0, 0.1) == 2
    with pytest.raises(PlanInputError):
        prompts_for_halfwidth(4.0, 0.0)


def test_prompts_for_detection_uses_t_quantiles():
    n = prompts_for_detection(2.0, 0.5, power=0.8)
    normal = (1.959964 + 0.841621) ** 2 * 2.0 / 0.25  # 62.8 with normal quantiles
    assert normal < n <= normal + 3
    assert prompts_for_detection(2.0, 0.5, power=0.9) > n
    with pytest.raises(PlanInputError, match="power"):
        prompts_for_detection(2.0, 0.5, power=1.0)


def test_a_study_sized_by_the_planner_reaches_its_target_halfwidth():
    # Each repetition: a 20-prompt pilot of 8 runs, a plan for +-0.3, a study of that size.
    means = list(np.linspace(5.0, 6.0, 8))
    rng = np.random.default_rng(3)
    target = 0.3
    run_ratio, diff_ratio = [], []
    for _ in range(40):
        per_prompt = pointwise_components(simulate_rows(means, 20, rng)).per_prompt
        n_mean = prompts_for_halfwidth(per_prompt.mean, target)
        study = rank_pointwise(simulate_rows(means, n_mean, rng), n_resamples=0)
        run_ratio.append(np.mean([e.ci.high - e.mean for e in study.entries]) / target)
        n_diff = prompts_for_halfwidth(per_prompt.difference, target)
        paired = separate_pointwise(simulate_rows(means, n_diff, rng), n_resamples=0)
        diff_ratio.append(np.mean([d.ci.high - d.difference for d in paired.differences]) / target)
    for ratios in (run_ratio, diff_ratio):
        within = np.abs(np.array(ratios) - 1) <= 0.15
        assert within.mean() >= 0.8


def test_a_study_sized_for_a_difference_detects_it_with_about_the_planned_power():
    rng = np.random.default_rng(4)
    detected = []
    for _ in range(200):
        per_prompt = pointwise_components(simulate_rows([5.0, 5.0, 5.0, 5.0], 20, rng)).per_prompt
        n = prompts_for_detection(per_prompt.difference, 0.6, power=0.8)
        study = separate_pointwise(simulate_rows([5.6, 5.0], n, rng), n_resamples=0)
        detected.append(study.difference("r0", "r1").separated)
    assert 0.7 <= np.mean(detected) <= 0.9


# --- the study folder ----------------------------------------------------------------------

def printed(plan_kwargs, root) -> tuple[str, object]:
    buffer = io.StringIO()
    plan = plan_command(root, console=Console(file=buffer, width=200), **plan_kwargs)
    return buffer.getvalue(), plan


def test_plan_command_prints_prompts_and_judge_calls_for_each_judge(tmp_path):
    root = make_pilot_study(tmp_path / "study", n_prompts=6, n_runs=5)
    out, plan = printed({"target_halfwidth": 0.5}, root)
    by = {(e.judge, e.protocol): e for e in plan.estimates}
    assert set(by) == {("rubric", "pointwise"), (API_JUDGE, "pointwise"), (API_JUDGE, "pairwise")}
    rubric, pairwise = by[("rubric", "pointwise")], by[(API_JUDGE, "pairwise")]
    assert rubric.judge_calls == rubric.prompts * 5
    assert pairwise.judge_calls == pairwise.prompts * 2 * comb(5, 2)
    assert rubric.prompts == max(rubric.prompts_for_mean.n, rubric.prompts_for_difference.n)
    assert rubric.prompts_low <= rubric.prompts <= rubric.prompts_high
    for e in plan.estimates:
        row = next(line for line in out.splitlines() if e.judge in line and e.protocol in line)
        assert f" {e.prompts:,} ({e.prompts_low:,}-{e.prompts_high:,}) " in row
        assert f" {e.judge_calls:,} " in row
    assert "Plan to 95% intervals of at most ±0.5" in out
    assert "fewer than 10" in out and "not separable: no answer was scored twice" in out
    # the pilot's seconds: 2 s per answer, 0.01 s per rubric call
    assert rubric.answer_minutes == pytest.approx(rubric.prompts * 5 * 2.0 / 60)
    assert rubric.judging_minutes == pytest.approx(rubric.judge_calls * 0.01 / 60)
    assert rubric.cost_usd is None and "no API cost" in rubric.cost_note
    assert json.loads(json.dumps(plan.to_dict()))["estimates"][0]["prompts"] == plan.estimates[0].prompts


def test_money_comes_from_recorded_tokens_and_the_list_price(tmp_path):
    root = make_pilot_study(tmp_path / "study", n_prompts=8, n_runs=4, usage=True)
    plan = plan_study(root, make_target(None, 0.5, 0.8))
    api = next(e for e in plan.estimates if e.judge == API_JUDGE and e.protocol == "pointwise")
    per_call = (900 * 0.15 + 120 * 0.60) / 1e6  # gpt-4o-mini list price per million tokens
    assert api.cost_usd == pytest.approx(api.judge_calls * per_call)
    assert "recorded" in api.cost_note and api.target.kind == "difference"
    assert api.prompts_for_mean is None


def test_tokens_are_estimated_from_the_texts_when_not_recorded(tmp_path):
    plan = plan_study(make_pilot_study(tmp_path / "study", n_runs=3), make_target(0.5, None))
    api = next(e for e in plan.estimates if e.judge == API_JUDGE and e.protocol == "pointwise")
    assert api.cost_usd > 0 and "estimated at 4 characters per token" in api.cost_note


def test_prices_are_known_only_for_listed_models_of_official_apis():
    assert judge_price("openai:gpt-4o-mini")[0] is not None
    assert judge_price("openai:gpt-4o-mini@http://localhost:8000/v1")[0] is None
    price, note = judge_price("openai:gpt-5.2")
    assert price is None and "no list price for gpt-5.2" in note
    assert "no API cost" in judge_price("local:smollm2-135m-instruct")[1]


def test_judge_noise_is_estimated_when_the_pilot_scored_answers_twice(tmp_path):
    root = make_pilot_study(tmp_path / "study", n_prompts=12, n_runs=4, repeat_every=2, api_judge=False)
    out, plan = printed({"target_halfwidth": 0.4}, root)
    rubric, = plan.estimates
    assert rubric.components.judge_noise is not None and rubric.components.n_repeated_answers > 0
    assert "judge noise" in out and "not separable" not in out and "fewer than 10" not in out


def test_a_judge_whose_scores_never_vary_gets_no_plan_and_the_reason(tmp_path):
    root = make_pilot_study(tmp_path / "study", n_runs=3)
    judgments = root / "eval" / "judgments" / "rubric.jsonl"
    rows = [json.loads(line) for line in judgments.read_text().splitlines()]
    judgments.write_text("".join(json.dumps({**row, "overall": 5.0}) + "\n" for row in rows))
    plan = plan_study(root, make_target(0.5, None))
    assert {e.judge for e in plan.estimates} == {API_JUDGE}
    assert "do not vary" in plan.skipped["rubric (pointwise)"]


def test_wrong_targets_and_missing_or_broken_files_are_one_line_errors(tmp_path, capsys):
    root = make_pilot_study(tmp_path / "study", n_runs=3)
    assert make_target(None, None) == make_target(PLAN_HALFWIDTH, None)  # the report's target
    with pytest.raises(TelcotuneError, match="give one target"):
        make_target(0.5, 0.5)
    with pytest.raises(SystemExit) as exit_info:
        main(["plan", "--workdir", str(tmp_path / "nowhere"), "--target-halfwidth", "0.5"])
    assert exit_info.value.code == 2
    assert "ranking.json not found" in capsys.readouterr().err
    judgments = root / "eval" / "judgments" / "rubric.jsonl"
    judgments.write_text(judgments.read_text() + '{"judge": "rubric", "protocol": "pointwise"}\n')
    with pytest.raises(PlanInputError, match=r"rubric.jsonl: line \d+: not a judgment"):
        plan_study(root, make_target(0.5, None))


def test_cli_plan_prints_the_table(tmp_path, capsys):
    root = make_pilot_study(tmp_path / "study", n_runs=3, api_judge=False)
    main_args = ["plan", "--workdir", str(root), "--detect-difference", "1.0", "--power", "0.9"]
    with pytest.raises(SystemExit) as exit_info:
        main(main_args)
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "detect a paired difference of 1" in out and "rubric" in out and "judge calls" in out
