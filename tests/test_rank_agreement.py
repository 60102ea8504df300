"""Rank correlation, Krippendorff's alpha (interval) and judge agreement."""

import json

import numpy as np
import pytest
from scipy import stats

from telcotune.rank import (
    ScoreRow, judge_agreement, krippendorff_alpha_interval, krippendorff_alpha_ordinal, rank_correlation,
    ratings_from_rows,
)
from telcotune.rank.correlation import batch_correlations

RUNS = ["a", "b", "c", "d", "e"]


def test_identical_orders_correlate_1_and_reversed_orders_minus_1():
    same = rank_correlation(RUNS, list(RUNS))
    assert same.kendall_tau_b == pytest.approx(1) and same.spearman_rho == pytest.approx(1)
    assert same.n == 5
    rev = rank_correlation(RUNS, RUNS[::-1])
    assert rev.kendall_tau_b == pytest.approx(-1) and rev.spearman_rho == pytest.approx(-1)


def test_only_runs_in_both_orderings_count():
    corr = rank_correlation(["a", "x", "b", "c"], ["c", "b", "a", "y"])
    assert corr.n == 3 and corr.spearman_rho == pytest.approx(-1)


def test_score_mappings_with_ties_use_tau_b():
    corr = rank_correlation({"a": 3, "b": 2, "c": 2, "d": 1}, {"a": 9, "b": 8, "c": 7, "d": 1})
    assert corr.kendall_tau_b == pytest.approx(stats.kendalltau([3, 2, 2, 1], [9, 8, 7, 1]).statistic)
    assert corr.kendall_tau_b < 1


def test_undefined_correlations_are_none_with_a_reason():
    one = rank_correlation(["a", "b"], ["b", "z"])
    assert (one.kendall_tau_b, one.spearman_rho, one.n) == (None, None, 1)
    assert "need 2" in one.missing_reason
    flat = rank_correlation({"a": 1, "b": 1, "c": 1}, RUNS)
    assert flat.spearman_rho is None and "equal" in flat.missing_reason


def test_vectorised_bootstrap_correlations_match_scipy():
    rng = np.random.default_rng(0)
    fixed = rng.normal(size=8)
    draws = rng.integers(0, 4, size=(40, 8)).astype(float)  # many ties
    draws[3] = 2.0  # no variation -> undefined
    draws[5, 1] = np.nan  # missing run -> undefined
    out = batch_correlations(fixed, draws)
    for row, (tau, rho) in zip(draws, out):
        if np.isnan(row).any() or np.ptp(row) == 0:
            assert np.isnan(tau) and np.isnan(rho)
            continue
        assert tau == pytest.approx(stats.kendalltau(fixed, row).statistic)
        assert rho == pytest.approx(stats.spearmanr(fixed, row).statistic)


# --- Krippendorff's alpha ------------------------------------------------------------------


def test_alpha_matches_a_hand_computed_example():
    # Items (1,1), (2,2), (3,4); n = 6 pairable values.
    # D_o = [0 + 0 + 2*(3-4)^2] / 6 = 1/3.
    # D_e: all values 1,1,2,2,3,4: sum over ordered pairs = 2*(6*35 - 13^2) = 82, / (6*5).
    # alpha = 1 - (1/3) / (82/30) = 1 - 10/82 = 72/82.
    result = krippendorff_alpha_interval({"j1": {1: 1, 2: 2, 3: 3}, "j2": {1: 1, 2: 2, 3: 4}})
    assert result.alpha == pytest.approx(72 / 82)
    assert (result.n_items, result.n_values, result.n_judges) == (3, 6, 2)


def test_alpha_matches_krippendorffs_textbook_example():
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 observers,
    # 12 units with missing values; published interval alpha = 0.849.
    table = {
        "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    }
    ratings = {j: {u: v for u, v in enumerate(vals) if v is not None} for j, vals in table.items()}
    result = krippendorff_alpha_interval(ratings)
    assert result.alpha == pytest.approx(0.849, abs=5e-4)
    assert result.n_items == 11  # unit 12 has a single rating and is not pairable


def test_alpha_is_1_for_identical_and_near_0_for_random_ratings():
    scores = {i: float(i % 10 + 1) for i in range(50)}
    assert krippendorff_alpha_interval({"x": scores, "y": dict(scores)}).alpha == pytest.approx(1)
    rng = np.random.default_rng(7)
    random = {j: {i: float(rng.integers(1, 11)) for i in range(400)} for j in "xyz"}
    assert abs(krippendorff_alpha_interval(random).alpha) < 0.05


def test_alpha_undefined_cases_are_none_with_a_reason():
    lonely = krippendorff_alpha_interval({"x": {1: 3.0}, "y": {2: 4.0}})
    assert lonely.alpha is None and "two judges" in lonely.missing_reason
    flat = krippendorff_alpha_interval({"x": {1: 3.0, 2: 3.0}, "y": {1: 3.0, 2: 3.0}})
    assert flat.alpha is None and "equal" in flat.missing_reason


# --- judge agreement -----------------------------------------------------------------------


def test_judge_agreement_reports_every_pair_of_judges():
    scores = [ScoreRow(r, f"p{p}", float(i + p)) for i, r in enumerate(RUNS) for p in range(3)]
    rows = {"rubric": scores, "pairwise_gpt": list(scores)}
    rankings = {"rubric": {r: i for i, r in enumerate(RUNS)}, "pairwise_gpt": {r: i for i, r in enumerate(RUNS)},
                "contrarian": {r: -i for i, r in enumerate(RUNS)}}
    agreement = judge_agreement(rankings, ratings_from_rows(rows))
    assert len(agreement.pairs) == 3
    same = agreement.pair("rubric", "pairwise_gpt")
    assert same.rank_correlation.spearman_rho == pytest.approx(1)
    assert same.krippendorff_alpha.alpha == pytest.approx(1)
    opposite = agreement.pair("rubric", "contrarian")
    assert opposite.rank_correlation.spearman_rho == pytest.approx(-1)
    assert opposite.krippendorff_alpha.alpha is None
    assert "contrarian" in opposite.krippendorff_alpha.missing_reason
    assert agreement.overall_alpha.alpha == pytest.approx(1)
    assert same.krippendorff_alpha_ordinal.alpha == pytest.approx(1)
    assert agreement.overall_alpha_ordinal.level == "ordinal"
    json.dumps(agreement.to_dict())


def test_agreement_with_a_constant_judge_is_undefined_not_a_number():
    """Scores keep ties: a judge that gave every run the same score has no defined correlation
    (from an order with ties broken by name it would have had one)."""
    varied = {r: float(i) for i, r in enumerate(RUNS)}
    constant = {r: 1.0 for r in RUNS}
    agreement = judge_agreement({"rubric": varied, "constant": constant})
    corr = agreement.pair("rubric", "constant").rank_correlation
    assert corr.kendall_tau_b is None and corr.spearman_rho is None and "equal" in corr.missing_reason
    with pytest.raises(ValueError, match="not a run order"):
        judge_agreement({"rubric": RUNS, "constant": RUNS})


def test_excluded_judges_carry_the_reason():
    rows = {j: [ScoreRow(r, f"p{p}", float(i + p)) for i, r in enumerate(RUNS) for p in range(3)] for j in "xy"}
    rows["flat"] = [ScoreRow(r, f"p{p}", 1.0) for r in RUNS for p in range(3)]
    scores = {j: {r: float(i) for i, r in enumerate(RUNS)} for j in "xy"} | {"flat": {r: 1.0 for r in RUNS}}
    agreement = judge_agreement(scores, ratings_from_rows(rows), excluded={"flat": "no spread"})
    pair = agreement.pair("flat", "x")
    assert pair.rank_correlation.spearman_rho is None and pair.krippendorff_alpha.alpha is None
    assert pair.krippendorff_alpha_ordinal.missing_reason == "flat cannot discriminate: no spread"
    assert agreement.pair("x", "y").krippendorff_alpha.alpha == pytest.approx(1)
    assert agreement.overall_alpha.n_judges == 2  # the excluded judge is left out


def to_reliability_data(ratings: dict) -> tuple[list, np.ndarray]:
    judges = sorted(ratings)
    items = sorted({i for r in ratings.values() for i in r})
    data = np.array([[ratings[j].get(i, np.nan) for i in items] for j in judges], dtype=float)
    return items, data


@pytest.mark.parametrize("seed", range(4))
def test_alpha_matches_the_krippendorff_package_at_both_levels(seed):
    import krippendorff

    rng = np.random.default_rng(seed)
    truth = rng.normal(5, 2, 60)
    ratings = {}
    for j in range(3):
        scores = np.clip(np.round(truth + rng.normal(0, 1.5, 60) + j), 1, 10)
        if seed % 2:  # continuous, G-Eval style expectations
            scores = np.clip(truth + rng.normal(0, 1.5, 60) + 0.5 * j, 1, 10)
        ratings[f"j{j}"] = {i: float(s) for i, s in enumerate(scores) if rng.random() > 0.15}
    _, data = to_reliability_data(ratings)
    for level, ours in (("interval", krippendorff_alpha_interval), ("ordinal", krippendorff_alpha_ordinal)):
        expected = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
        assert ours(ratings).alpha == pytest.approx(expected, abs=1e-9), level


def test_ordinal_alpha_depends_only_on_the_order_of_the_values():
    rng = np.random.default_rng(5)
    a = {i: float(rng.integers(1, 11)) for i in range(80)}
    b = {i: float(min(10, max(1, v + rng.integers(-2, 3)))) for i, v in a.items()}
    stretched = {j: {i: v ** 3 for i, v in r.items()} for j, r in {"a": a, "b": b}.items()}  # same order, new spacing
    assert krippendorff_alpha_ordinal(stretched).alpha == pytest.approx(krippendorff_alpha_ordinal({"a": a, "b": b}).alpha)
    assert krippendorff_alpha_interval(stretched).alpha != pytest.approx(krippendorff_alpha_interval({"a": a, "b": b}).alpha)
