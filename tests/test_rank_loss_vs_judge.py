"""Does the lowest validation loss go with the best judged answers?"""

import json

import numpy as np
import pytest

from telcotune.rank import PairVerdict, ScoreRow, loss_vs_judge, plain_finding

RUNS = [f"r{i}" for i in range(6)]
LOSS = {run: 0.5 + 0.01 * i for i, run in enumerate(RUNS)}  # r0 has the lowest loss


def judged_rows(means: dict[str, float], n_prompts: int, seed: int) -> list[ScoreRow]:
    rng = np.random.default_rng(seed)
    return [ScoreRow(run, f"p{p}", float(m + rng.normal(0, 1)))
            for p in range(n_prompts) for run, m in means.items()]


def test_best_loss_run_judged_worst_gives_minus_one():
    # Judged quality rises with the loss: r0 (lowest loss) is judged worst, r5 best.
    rows = judged_rows({run: 2 + 1.5 * i for i, run in enumerate(RUNS)}, 30, seed=0)
    c = loss_vs_judge(LOSS, rows, n_resamples=500, seed=0, judge_name="rubric")
    assert c.correlation.spearman_rho == pytest.approx(-1)
    assert c.correlation.kendall_tau_b == pytest.approx(-1)
    assert (c.best_loss_run, c.best_loss_judge_rank, c.n_runs) == ("r0", 6, 6)
    assert (c.worst_loss_run, c.worst_loss_judge_rank) == ("r5", 1)
    assert (c.best_judged_run, c.best_judged_loss_rank) == ("r5", 6)
    assert c.spearman_ci.high < 0
    assert c.best_loss_judged_best_share == 0.0
    text = plain_finding(c)
    assert text.startswith("The lowest-loss run (r0, loss 0.500) ranked 6th of 6 by rubric")
    assert "best-judged run (r5) had the 6th-lowest loss" in text
    assert "-1.00" in text and f"{c.spearman_ci.low:.2f}" in text and "worse judged answers" in text


def test_lower_loss_better_judged_says_did_predict():
    rows = judged_rows({run: 9 - 1.2 * i for i, run in enumerate(RUNS)}, 30, seed=1)
    c = loss_vs_judge(LOSS, rows, n_resamples=500, seed=0, judge_name="rubric")
    assert c.correlation.spearman_rho == pytest.approx(1) and c.spearman_ci.low > 0
    assert c.best_loss_judge_rank == 1 and c.best_loss_judged_best_share > 0.9
    assert "ranked 1st of 6" in plain_finding(c) and "did predict" in plain_finding(c)


def test_unrelated_judge_says_not_reliably():
    rows = judged_rows({run: 5.0 for run in RUNS}, 15, seed=2)
    c = loss_vs_judge(LOSS, rows, n_resamples=500, seed=0)
    assert c.spearman_ci.low < 0 < c.spearman_ci.high
    assert "no evidence either way whether lower validation loss predicts" in plain_finding(c)


def test_pairwise_verdicts_can_be_the_judge():
    verdicts = []
    for p in range(10):
        for i, a in enumerate(RUNS):
            for b in RUNS[i + 1:]:  # the lower-loss run always wins
                verdicts += [PairVerdict(f"p{p}", a, b, "ab", a), PairVerdict(f"p{p}", a, b, "ba", a)]
    c = loss_vs_judge(LOSS, verdicts, n_resamples=200, seed=0, judge_name="pairwise")
    assert c.judge_kind.startswith("Bradley-Terry")
    assert c.correlation.spearman_rho == pytest.approx(1) and c.best_loss_judge_rank == 1


def test_fixed_ranking_has_no_interval_and_the_finding_says_so():
    c = loss_vs_judge(LOSS, ["r3", "r0", "r1", "r2"], judge_name="the panel")
    assert c.spearman_ci is None and "fixed ranking" in c.ci_missing_reason
    assert c.runs_without_judgment == ("r4", "r5") and c.n_runs == 4
    text = plain_finding(c)
    assert "ranked 2nd of 4 by the panel" in text and "without a confidence interval" in text
    assert "2 run(s) without scores from the panel were left out" in text


def test_nothing_to_compare_is_stated_not_guessed():
    c = loss_vs_judge(LOSS, {"other": 3.0}, judge_name="rubric")
    assert c.best_loss_run is None and c.correlation.spearman_rho is None
    assert c.runs_without_loss == ("other",)
    assert plain_finding(c).startswith("No run has both")
    empty = loss_vs_judge(LOSS, [], judge_name="rubric")
    assert empty.judge_kind == "no judgments" and empty.runs_without_judgment == tuple(RUNS)


def test_comparison_is_seeded_and_json_ready():
    rows = judged_rows({run: 5 + 0.3 * i for i, run in enumerate(RUNS)}, 20, seed=3)
    first = loss_vs_judge(LOSS, rows, n_resamples=300, seed=4)
    assert first == loss_vs_judge(LOSS, rows, n_resamples=300, seed=4)
    data = json.loads(json.dumps(first.to_dict()))
    assert data["finding"] == plain_finding(first) and data["verdict"] == first.verdict
    assert data["best_loss_run"] == "r0" and data["spearman_ci"]["level"] == 0.95


def test_non_finite_loss_is_rejected():
    with pytest.raises(ValueError):
        loss_vs_judge({"a": float("nan")}, ["a"])


def test_ties_are_reported_as_ties_not_as_a_contradiction():
    rows = [ScoreRow(run, f"p{i}", 1.0) for run in ("a", "b", "c") for i in range(4)]  # every run tied
    c = loss_vs_judge({"a": 2.0, "b": 1.0, "c": 3.0}, rows, n_resamples=50, seed=0, judge_name="flat")
    text = plain_finding(c)
    assert "ranked 1st (tied with 2 other runs) of 3 by flat" in text
    assert "while the best-judged run" not in text
