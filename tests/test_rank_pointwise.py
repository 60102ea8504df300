"""Pointwise ranking by mean score."""

import json

import numpy as np
import pytest

from telcotune.rank import RankInputError, ScoreRow, rank_pointwise


def rows_from_table(table: dict[str, list[float]]) -> list[ScoreRow]:
    return [ScoreRow(run, f"p{i}", s) for run, scores in table.items() for i, s in enumerate(scores)]


def simulated_rows(means: dict[str, float], n_prompts: int, seed: int) -> list[ScoreRow]:
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_prompts):
        difficulty = rng.normal(0, 1)
        rows += [ScoreRow(run, f"p{p}", float(np.clip(m + difficulty + rng.normal(0, 1.5), 1, 10)))
                 for run, m in means.items()]
    return rows


def test_hand_made_table_gives_the_known_order_means_and_counts():
    rows = rows_from_table({"a": [7, 8, 9], "b": [5, 6, 7], "c": [2, 3], "d": [8, 8, 8]})
    ranking = rank_pointwise(rows, n_resamples=200, seed=0)
    assert ranking.order == ("a", "d", "b", "c")
    assert [e.rank for e in ranking.entries] == [1, 1, 3, 4]  # a and d tie at 8.0
    assert ranking.entry("c").mean == pytest.approx(2.5)
    assert (ranking.entry("c").n_scores, ranking.entry("c").n_prompts) == (2, 2)
    assert ranking.n_prompts == 3
    assert ranking.scores() == {"a": 8.0, "b": 6.0, "c": 2.5, "d": 8.0}
    assert ranking.entry("d").ci.width == 0  # constant scores: no spread to resample


def test_unscored_runs_are_listed_last_with_no_score_and_a_reason():
    rows = rows_from_table({"a": [7, 8], "b": [5, 6]})
    ranking = rank_pointwise(rows, n_resamples=100, seed=0, runs=["a", "b", "z", "y"])
    assert ranking.order == ("a", "b", "y", "z")
    y = ranking.entry("y")
    assert (y.mean, y.ci, y.rank, y.n_scores) == (None, None, None, 0)
    assert "no scores" in y.missing_reason


def test_a_run_seen_on_one_prompt_has_a_mean_but_no_interval():
    rows = rows_from_table({"a": [7, 8, 6], "b": [5]})
    b = rank_pointwise(rows, n_resamples=100, seed=0).entry("b")
    assert b.mean == 5 and b.ci is None and "1 prompt" in b.missing_reason


def test_interval_contains_the_mean_and_shrinks_with_more_prompts():
    means = {"a": 7.0, "b": 6.0, "c": 5.0}
    small = rank_pointwise(simulated_rows(means, 10, seed=1), n_resamples=500, seed=0)
    large = rank_pointwise(simulated_rows(means, 200, seed=1), n_resamples=500, seed=0)
    for run in means:
        s, lg = small.entry(run), large.entry(run)
        assert s.ci.low <= s.mean <= s.ci.high
        assert lg.ci.width < s.ci.width / 2  # ~ sqrt(20) narrower
    assert large.order == ("a", "b", "c")


def test_same_seed_same_result_and_json_ready():
    rows = simulated_rows({"a": 7.0, "b": 6.0}, 30, seed=2)
    first = rank_pointwise(rows, n_resamples=300, seed=11)
    assert first == rank_pointwise(rows, n_resamples=300, seed=11)
    assert first != rank_pointwise(rows, n_resamples=300, seed=12)
    data = json.loads(json.dumps(first.to_dict()))
    assert data["order"] == ["a", "b"] and data["entries"][0]["ci"]["level"] == 0.95


def test_interval_is_the_t_interval_over_prompts_and_needs_no_resamples():
    # Replaces a test of the former percentile bootstrap (no resamples -> no interval): the
    # t interval is analytic. a: [1, 2] has mean 1.5, sd 0.7071, se 0.5 and t_{1, 0.975} 12.706.
    ranking = rank_pointwise(rows_from_table({"a": [1, 2], "b": [3, 4]}), n_resamples=0)
    assert ranking.order == ("b", "a")
    ci = ranking.entry("a").ci
    assert (ci.low, ci.high) == pytest.approx((1.5 - 6.353, 1.5 + 6.353), abs=1e-3)
    assert (ci.method, ci.n_prompts, ci.n_resamples_used) == ("t", 2, None)
    assert ci.small_sample and "fewer than 10" in ci.warning


def test_a_judge_scoring_an_answer_twice_counts_the_prompt_once():
    # Two scores of run a on p0 are one prompt cluster: the spread comes from prompt totals.
    rows = [ScoreRow("a", "p0", 4), ScoreRow("a", "p0", 6), ScoreRow("a", "p1", 7), ScoreRow("a", "p2", 9)]
    a = rank_pointwise(rows).entry("a")
    assert (a.mean, a.n_scores, a.n_prompts) == (6.5, 4, 3)
    # linearised ratio variance: residuals S_p - mean * C_p = (10 - 13, 7 - 6.5, 9 - 6.5)
    se = (3 / 2 * (9 + 0.25 + 6.25)) ** 0.5 / 4
    assert a.ci.high - a.mean == pytest.approx(4.303 * se, rel=1e-3)


def test_empty_input_is_an_empty_ranking():
    assert rank_pointwise([], n_resamples=10).entries == ()


def test_non_finite_score_is_rejected():
    with pytest.raises(RankInputError):
        ScoreRow("a", "p1", float("nan"))
