"""Paired separation of runs: differences, tier, separability, P(best); the recommendation
and the headline finding built on them."""

import json

import numpy as np
import pytest

from telcotune.rank import PairVerdict, ScoreRow, loss_vs_judge
from telcotune.rank.finding import study_finding
from telcotune.rank.paired import best_shares, separate_pairwise, separate_pointwise
from telcotune.rank.recommend import NoRecommendation, Recommendation, no_judge_separates, recommend


def rows_from(table: dict[str, list[float]]) -> list[ScoreRow]:
    return [ScoreRow(run, f"p{i}", float(s)) for run, scores in table.items() for i, s in enumerate(scores)]


def simulated_rows(means: dict[str, float], n_prompts: int, seed: int, sd: float = 1.0) -> list[ScoreRow]:
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_prompts):
        difficulty = rng.normal(0, 2)
        rows += [ScoreRow(run, f"p{p}", float(m + difficulty + rng.normal(0, sd))) for run, m in means.items()]
    return rows


def test_paired_difference_is_computed_prompt_by_prompt():
    # b is exactly 1 below a on every prompt while the prompts differ a lot: the paired
    # difference is 1 with zero width, the runs' own intervals overlap widely.
    separation = separate_pointwise(rows_from({"a": [2, 9, 5, 7], "b": [1, 8, 4, 6]}), n_resamples=200)
    d = separation.difference("a", "b")
    assert (d.higher, d.lower, d.difference, d.n_prompts) == ("a", "b", 1.0, 4)
    assert d.ci.width == pytest.approx(0) and d.separated
    assert separation.separability == 1.0 and separation.marginal_separability == 0.0
    assert separation.tier == ("a",) and separation.discriminates
    assert separation.entry("b").note == "significantly worse than the best"
    assert separation.entry("a").p_best == 1.0


def test_hand_computed_paired_t_interval_and_tier_bound():
    rows = rows_from({"a": [6, 7, 9], "b": [5, 7, 6]})  # differences 1, 0, 3: mean 4/3
    separation = separate_pointwise(rows, n_resamples=0)
    d = separation.difference("a", "b")
    se = np.std([1, 0, 3], ddof=1) / np.sqrt(3)
    assert d.difference == pytest.approx(4 / 3)
    assert (d.ci.low, d.ci.high) == pytest.approx((4 / 3 - 4.303 * se, 4 / 3 + 4.303 * se), abs=1e-3)
    # two runs: the one pair, either direction, one-sided at 2.5%: t_{2, 0.975} = 4.303
    assert separation.entry("b").gap_lower_bound == pytest.approx(4 / 3 - 4.303 * se, abs=1e-3)
    assert separation.tier == ("a", "b") and not separation.discriminates
    assert separation.entry("a").ci.small_sample and separation.small_sample


def test_differences_use_only_prompts_both_runs_answered():
    rows = rows_from({"a": [5, 6, 7, 8], "b": [4, 5, 6]}) + [ScoreRow("c", "p3", 1.0)]
    separation = separate_pointwise(rows, n_resamples=100)
    assert separation.difference("a", "b").n_prompts == 3
    assert separation.difference("a", "b").difference == pytest.approx(1.0)
    ac = separation.difference("a", "c")
    assert ac.n_prompts == 1 and ac.ci is None and "share 1 prompt" in ac.missing_reason
    bc = separation.difference("b", "c")
    assert bc.n_prompts == 0 and bc.difference is None and "share no prompt" in bc.missing_reason
    # a run whose gap to the best cannot be tested stays in the tier, and says why
    c = separation.entry("c")
    assert c.in_tier and "cannot be tested" in c.note and c.ci is None
    assert separation.separability == 1.0  # only the pair with an interval counts


def test_p_best_splits_ties_and_ignores_undefined_resamples():
    draws = np.array([[1.0, 1.0, 0.0], [2.0, 1.0, 0.0], [np.nan, np.nan, np.nan], [np.nan, 0.0, 1.0]])
    assert best_shares(draws) == pytest.approx([0.5, 1 / 6, 1 / 3])
    assert best_shares(np.full((2, 2), np.nan)) is None


def test_p_best_goes_to_the_clear_leader_and_is_spread_among_equals():
    clear = separate_pointwise(simulated_rows({"a": 8.0, "b": 5.0, "c": 5.0}, 30, seed=1), 500, seed=0)
    assert clear.entry("a").p_best > 0.99
    equal = separate_pointwise(simulated_rows({r: 5.0 for r in "abcd"}, 30, seed=2), 500, seed=0)
    assert sum(e.p_best for e in equal.entries) == pytest.approx(1.0)
    assert max(e.p_best for e in equal.entries) < 0.9


def test_tier_uses_a_bonferroni_level_over_all_pairs_in_either_direction():
    separation = separate_pointwise(simulated_rows({f"r{i}": 5.0 for i in range(6)}, 10, seed=3), 0)
    assert separation.tier_alpha == pytest.approx(0.05 / 30)
    data = json.loads(json.dumps(separation.to_dict()))
    assert data["tier_alpha"] == pytest.approx(0.05 / 30) and "Bonferroni" in data["tier_rule"]
    assert data["n_pairs"] == 15 and len(data["entries"]) == 6


def test_separation_is_seeded_and_json_ready():
    rows = simulated_rows({"a": 6.0, "b": 5.5, "c": 5.0}, 15, seed=4)
    first = separate_pointwise(rows, 300, seed=1)
    assert first == separate_pointwise(rows, 300, seed=1)
    data = json.loads(json.dumps(first.to_dict()))
    assert data["best"] == first.best and data["entries"][0]["ci"]["method"] == "t"
    assert separate_pointwise([], 10).entries == ()


# --- pairwise -----------------------------------------------------------------------------

def both_orders(prompt: str, a: str, b: str, winner) -> list[PairVerdict]:
    return [PairVerdict(prompt, a, b, "ab", winner), PairVerdict(prompt, a, b, "ba", winner)]


def test_pairwise_separation_finds_a_dominant_run():
    rng = np.random.default_rng(5)
    verdicts = []
    for p in range(20):
        verdicts += both_orders(f"p{p}", "A", "B", "A")
        verdicts += both_orders(f"p{p}", "A", "C", "A")
        verdicts += both_orders(f"p{p}", "B", "C", "B" if rng.random() < 0.5 else "C")
    separation = separate_pairwise(verdicts, n_resamples=300, seed=0)
    assert separation.statistic.startswith("Bradley-Terry") and separation.best == "A"
    assert separation.tier == ("A",) and separation.entry("A").p_best == 1.0
    assert separation.difference("A", "B").separated
    assert not separation.difference("B", "C").separated
    assert separation.entries[0].ci.method == "t-scaled bootstrap"


def test_pairwise_separation_of_ties_only_has_every_run_in_the_tier():
    verdicts = [v for p in range(8) for a, b in [("A", "B"), ("A", "C"), ("B", "C")]
                for v in both_orders(f"p{p}", a, b, None)]
    separation = separate_pairwise(verdicts, n_resamples=200, seed=0)
    assert set(separation.tier) == {"A", "B", "C"} and separation.separability == 0.0


# --- recommendation and finding ------------------------------------------------------------

def test_recommends_the_cheapest_run_in_the_tier_not_the_cheapest_overall():
    rows = simulated_rows({"big": 8.0, "mid": 7.9, "small": 4.0}, 40, seed=6, sd=0.5)
    separation = separate_pointwise(rows, 200, seed=0)
    assert set(separation.tier) == {"big", "mid"}
    rec = recommend({"big": 900.0, "mid": 300.0, "small": 10.0}, separation, judge="rubric")
    assert isinstance(rec, Recommendation)
    assert (rec.run, rec.energy_j, rec.best, rec.tier) == ("mid", 300.0, "big", ("mid", "big"))
    assert "cheapest of the 2 candidate runs" in rec.reason
    assert json.loads(json.dumps(rec.to_dict()))["kind"] == "recommendation"


def test_runs_without_an_energy_figure_are_not_candidates():
    rows = simulated_rows({"big": 8.0, "mid": 7.9, "small": 4.0}, 40, seed=6, sd=0.5)
    separation = separate_pointwise(rows, 0)
    rec = recommend({"big": 900.0, "small": 10.0}, separation, judge="rubric")
    assert rec.run == "big" and "only candidate" in rec.reason
    none = recommend({"small": 10.0}, separation, judge="rubric")
    assert isinstance(none, NoRecommendation) and "significantly worse" in none.reason
    assert isinstance(recommend({"other": 1.0}, separation, judge="rubric"), NoRecommendation)


def test_all_runs_equal_gives_no_recommendation_and_a_finding_that_says_so():
    runs = {f"r{i}": 5.5 for i in range(8)}
    rows = simulated_rows(runs, 6, seed=7, sd=1.5)
    separation = separate_pointwise(rows, 300, seed=0)
    assert len(separation.tier) == 8 and not separation.discriminates
    energy = {run: 100.0 * (i + 1) for i, run in enumerate(runs)}
    rec = recommend(energy, separation, judge="rubric")
    assert isinstance(rec, NoRecommendation)
    assert "cannot tell the 8 candidate runs apart" in rec.reason
    assert no_judge_separates({"rubric": separation})

    loss = {run: 0.5 + 0.01 * i for i, run in enumerate(runs)}
    comparison = loss_vs_judge(loss, rows, 300, seed=0, judge_name="rubric")
    finding = study_finding(6, {"rubric": separation}, [comparison])
    assert finding.discriminating_judges == () and not finding.any_discriminates
    assert finding.headline.startswith("With 6 prompts, the judge (rubric) could not tell")
    assert "no configuration could be told apart" in finding.headline
    assert "all 8 of 8 runs are in its top tier" in finding.headline
    assert finding.verdicts == {"rubric": "no_evidence"}
    assert "rubric: no evidence either way (Spearman" in finding.headline
    assert finding.small_sample and "fewer than 10" in finding.headline
    both = study_finding(6, {"rubric": separation, "local": separation}, [])
    assert both.headline.startswith("With 6 prompts, no judge could tell the configurations apart: every run "
                                "is in the top tier of rubric (8 of 8 runs) and local (8 of 8 runs)")
    assert "no configuration could be told apart" in both.headline


def test_finding_names_the_judges_that_could_discriminate():
    means = {"a": 8.0, "b": 6.0, "c": 4.0}
    sharp = separate_pointwise(simulated_rows(means, 30, seed=8, sd=0.5), 200, seed=0)
    blunt = separate_pointwise(simulated_rows({r: 5.0 for r in means}, 30, seed=9, sd=3.0), 200, seed=0)
    loss = {"a": 0.4, "b": 0.5, "c": 0.6}
    comparison = loss_vs_judge(loss, simulated_rows(means, 30, seed=8, sd=0.5), 300, seed=0, judge_name="rubric")
    finding = study_finding(30, {"rubric": sharp, "local": blunt}, [comparison])
    assert finding.discriminating_judges == ("rubric",)
    assert finding.non_discriminating_judges == ("local",)
    assert finding.headline.startswith("With 30 prompts, rubric could tell configurations apart (rubric: top "
                                   "tier 1 of 3 runs, 100% of run pairs separated)")
    assert "local could not" in finding.headline
    assert finding.verdicts == {"rubric": "predicted"}
    assert "lower loss went with better judged answers" in finding.headline
    assert not finding.small_sample and "fewer than" not in finding.headline
