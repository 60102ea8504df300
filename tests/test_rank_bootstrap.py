"""Prompt (cluster) bootstrap helpers."""

import numpy as np

from telcotune.rank import ScoreRow, bootstrap_ci, cluster_weights, percentile_interval
from telcotune.rank.bootstrap import bootstrap_draws
from telcotune.rank.tables import ScoreTable


def test_cluster_weights_draw_as_many_prompts_as_the_data_and_are_seeded():
    w = cluster_weights(n_prompts=7, n_resamples=50, seed=3)
    assert w.shape == (50, 7)
    assert np.all(w.sum(axis=1) == 7)
    assert np.array_equal(w, cluster_weights(7, 50, seed=3))
    assert not np.array_equal(w, cluster_weights(7, 50, seed=4))


def test_percentile_interval_drops_undefined_resamples_and_counts_them():
    draws = np.array([np.nan, 1.0, 2.0, 3.0, np.nan])
    ci, reason = percentile_interval(draws, alpha=0.5)
    assert reason is None
    assert ci.n_resamples_used == 3
    assert (ci.low, ci.high, ci.level) == (1.5, 2.5, 0.5)


def test_percentile_interval_is_none_with_a_reason_when_undefined():
    ci, reason = percentile_interval(np.array([np.nan, 1.0]))
    assert ci is None and "1 of 2" in reason
    ci, reason = percentile_interval(np.array([]))
    assert ci is None and "no bootstrap resamples" in reason


def test_all_runs_scores_on_a_prompt_move_together():
    # Run b scores exactly 1 more than run a on every prompt. Resampling prompts (not single
    # scores) keeps the pairs together, so the difference of means is 1 in every resample.
    rng = np.random.default_rng(0)
    base = rng.uniform(1, 9, size=40)
    rows = [ScoreRow("a", f"p{i}", float(s)) for i, s in enumerate(base)]
    rows += [ScoreRow("b", f"p{i}", float(s) + 1) for i, s in enumerate(base)]
    table = ScoreTable.from_rows(rows)
    draws = bootstrap_draws(table.weighted_means, 300, seed=1, n_prompts=len(table.prompts))
    assert np.allclose(draws[:, 1] - draws[:, 0], 1.0)
    assert np.ptp(draws[:, 0]) > 0.5  # while each mean does vary


def test_bootstrap_ci_of_a_mean_covers_it_and_is_deterministic():
    values = np.random.default_rng(5).normal(3.0, 1.0, size=100)

    def mean(weights):
        return weights @ values / weights.sum(axis=1)

    first = bootstrap_ci(mean, 500, seed=9, n_prompts=values.size)
    assert first == bootstrap_ci(mean, 500, seed=9, n_prompts=values.size)
    (ci, reason), = first
    assert reason is None and ci.low < values.mean() < ci.high
    # about 2 * 1.96 * sd / sqrt(n)
    assert 0.3 < ci.width < 0.5
