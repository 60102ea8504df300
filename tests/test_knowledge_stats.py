"""Knowledge statistics against known values and simulations with a known truth: Wilson and
Newcombe intervals cover what they claim, paired intervals shrink with more questions, the
exact McNemar test matches scipy, and the verdicts rarely call a change that is not there
(Holm over 16 adapters) while finding one that is."""

import random

import pytest

from telcotune.knowledge.stats import holm, mcnemar_exact, paired_difference, verdict, wilson


def test_wilson_matches_published_values():
    w = wilson(8, 10)
    assert (w.value, round(w.low, 4), round(w.high, 4)) == (0.8, 0.4902, 0.9433)
    zero = wilson(0, 10)
    assert (zero.low, round(zero.high, 4)) == (0.0, 0.2775)
    assert wilson(10, 10).high == 1.0
    with pytest.raises(ValueError):
        wilson(3, 0)


@pytest.mark.parametrize("p, n", [(0.1, 40), (0.5, 40), (0.85, 120)])
def test_wilson_covers_the_true_accuracy(p, n):
    rng = random.Random(1)
    runs = 2000
    covered = 0
    for _ in range(runs):
        k = sum(rng.random() < p for _ in range(n))
        w = wilson(k, n)
        covered += w.low <= p <= w.high
    assert 0.92 <= covered / runs <= 0.985


def paired_sample(rng, n, both, first_only, second_only):
    """Two models' right/wrong on n questions from a joint distribution of the four cells."""
    first, second = [], []
    for _ in range(n):
        u = rng.random()
        first.append(u < both + first_only)
        second.append(u < both or both + first_only <= u < both + first_only + second_only)
    return first, second


@pytest.mark.parametrize("n, cells", [(120, (0.45, 0.06, 0.06)), (120, (0.40, 0.10, 0.03)), (400, (0.30, 0.02, 0.05))])
def test_newcombe_interval_covers_the_true_paired_difference(n, cells):
    rng = random.Random(2)
    truth = cells[1] - cells[2]
    runs = 1000
    covered = sum(d.low <= truth <= d.high for d in (paired_difference(*paired_sample(rng, n, *cells))
                                                     for _ in range(runs)))
    assert 0.93 <= covered / runs <= 0.985


def test_paired_intervals_shrink_with_more_questions():
    rng = random.Random(3)
    cells = (0.45, 0.08, 0.04)
    widths = {}
    for n in (50, 200, 800):
        ws = sorted(d.high - d.low for d in (paired_difference(*paired_sample(rng, n, *cells)) for _ in range(200)))
        widths[n] = ws[len(ws) // 2]
    assert widths[50] > widths[200] > widths[800]
    # Four times the questions halves the width (1 / sqrt(n)), give or take the sampling noise.
    assert 1.6 < widths[50] / widths[200] < 2.5 and 1.6 < widths[200] / widths[800] < 2.5


def test_paired_counts_and_difference():
    first = [True] * 5 + [True] * 3 + [False] * 1 + [False] * 2
    second = [True] * 5 + [False] * 3 + [True] * 1 + [False] * 2
    d = paired_difference(first, second)
    assert (d.both, d.first_only, d.second_only, d.neither, d.total) == (5, 3, 1, 2, 11)
    assert d.diff == pytest.approx(2 / 11)
    assert d.low < d.diff < d.high
    same = paired_difference(first, first)
    assert (same.diff, same.p_value) == (0.0, 1.0) and same.low < 0 < same.high
    with pytest.raises(ValueError):
        paired_difference([True], [True, False])


@pytest.mark.parametrize("b, c", [(0, 0), (4, 0), (3, 9), (20, 2), (7, 7), (0, 30)])
def test_exact_mcnemar_matches_scipy(b, c):
    from scipy.stats import binomtest

    expected = 1.0 if b + c == 0 else binomtest(b, b + c, 0.5).pvalue
    assert mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-9)


def test_holm_adjusts_step_down():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []


def outcomes(both, first_only, second_only, neither):
    first = [True] * (both + first_only) + [False] * (second_only + neither)
    second = [True] * both + [False] * first_only + [True] * second_only + [False] * neither
    return first, second


def test_verdicts_need_the_interval_and_the_corrected_test():
    few = paired_difference(*outcomes(60, 4, 0, 56))  # the interval excludes zero, the exact test does not
    assert few.low > 0 and few.p_value == pytest.approx(0.125)
    assert verdict(few, few.p_value) == "no evidence either way"
    gained = paired_difference(*outcomes(50, 20, 2, 48))
    assert verdict(gained, gained.p_value) == "gained"
    forgot = paired_difference(*outcomes(50, 2, 20, 48))
    assert verdict(forgot, forgot.p_value) == "forgot"
    assert verdict(gained, 0.2) == "no evidence either way"  # not after the correction


def study_verdicts(rng, n, adapters, cells):
    """One study: `adapters` adapters each compared to the same base on n questions."""
    diffs = [paired_difference(*paired_sample(rng, n, *cells)) for _ in range(adapters)]
    return [verdict(d, p) for d, p in zip(diffs, holm([d.p_value for d in diffs]))]


def test_sixteen_unchanged_adapters_rarely_get_a_verdict():
    rng = random.Random(4)
    studies = 300
    any_claim = sum(any(v != "no evidence either way" for v in study_verdicts(rng, 120, 16, (0.45, 0.05, 0.05)))
                    for _ in range(studies))
    assert any_claim / studies <= 0.06  # family-wise error at most 5%, plus simulation noise


def test_a_real_ten_point_loss_is_found():
    rng = random.Random(5)
    found = [study_verdicts(rng, 400, 16, (0.40, 0.03, 0.13)) for _ in range(20)]
    assert sum(v == "forgot" for study in found for v in study) / (20 * 16) > 0.9
    assert not any(v == "gained" for study in found for v in study)
