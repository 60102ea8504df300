"""The statistics of people's ratings on hand-made ratings with known answers: Cohen's kappa and
Krippendorff's alpha by hand and against the `krippendorff` package, majority votes, interval
coverage in simulation, simulated raters who agree with one judge, the loss question with
people as the judge, and how many more ratings a statistic needs."""

from __future__ import annotations

import math
from itertools import combinations

import krippendorff
import numpy as np
import pytest
from scipy import stats

from telcotune.rank import PairVerdict, ScoreRow
from telcotune.rank.bootstrap import Interval
from telcotune.rate.correlate import rowwise_spearman
from telcotune.rate.human import human_judge_section
from telcotune.rate.needed import ratings_needed
from telcotune.rate.outcomes import majority
from telcotune.rate.records import StoredRating
from telcotune.rate.reliability import (
    alpha_from_coincidence, coincidence_tables, cohen_kappa, krippendorff_alpha, raw_agreement,
)
from telcotune.rate.study import JudgeEvidence

RUNS = ("r1", "r2", "r3", "r4", "r5", "r6")


# ---------------------------------------------------------------- kappa and agreement by hand


def test_cohen_kappa_matches_a_hand_computation():
    # 50 items: both say a on 20, a/b on 5, b/a on 10, both b on 15.
    # p_o = 35/50 = 0.7; marginals a: 25 and 30, b: 25 and 20; p_e = (25*30 + 25*20)/50^2 = 0.5
    labels = [("a", "a")] * 20 + [("a", "b")] * 5 + [("b", "a")] * 10 + [("b", "b")] * 15
    pairs = [(i % 7, a, b) for i, (a, b) in enumerate(labels)]
    result = cohen_kappa(pairs, ["a", "b"], n_resamples=200)
    assert result.value == pytest.approx((0.7 - 0.5) / (1 - 0.5))
    assert result.n_units == 50 and result.n_prompts == 7
    assert result.ci.low < result.value < result.ci.high


def test_three_category_and_quadratic_kappa_by_hand():
    # confusion rows = coder 1, columns = coder 2, over (first, second, tie)
    confusion = np.array([[10, 2, 3], [1, 8, 1], [4, 0, 6]])
    pairs = [(f"p{(i + j) % 4}", cats[0], cats[1]) for (i, j), n in np.ndenumerate(confusion)
             for cats in [(("first", "second", "tie")[i], ("first", "second", "tie")[j])] for _ in range(n)]
    n = confusion.sum()
    p_o = np.trace(confusion) / n
    p_e = (confusion.sum(1) * confusion.sum(0)).sum() / n ** 2
    assert cohen_kappa(pairs, ["first", "second", "tie"], n_resamples=10).value == pytest.approx((p_o - p_e) / (1 - p_e))
    # quadratic weights on ordered categories: 1 - sum(w O) / sum(w E)
    w = np.subtract.outer(np.arange(3), np.arange(3)) ** 2
    expected = np.outer(confusion.sum(1), confusion.sum(0)) / n
    quadratic = 1 - (w * confusion).sum() / (w * expected).sum()
    assert cohen_kappa(pairs, ["first", "second", "tie"], "quadratic", n_resamples=10).value == pytest.approx(quadratic)


def test_raw_agreement_with_and_without_ties():
    pairs = [("p1", "first", "first"), ("p1", "tie", "tie"), ("p2", "first", "second"), ("p2", "tie", "first"),
             ("p3", "second", "second")]
    labels = ["first", "second", "tie"]
    assert raw_agreement(pairs, labels, n_resamples=50).value == pytest.approx(3 / 5)
    # without ties: (p1 first/first), (p2 first/second), (p3 second/second) -> 2 of 3
    without = raw_agreement(pairs, labels, ("tie",), n_resamples=50)
    assert without.value == pytest.approx(2 / 3) and without.n_units == 3


def test_kappa_is_undefined_without_variation_and_has_no_interval_from_one_prompt():
    same = cohen_kappa([("p1", "a", "a")] * 4, ["a", "b"])
    assert same.value is None and "do not vary" in same.missing_reason
    one_prompt = cohen_kappa([("p1", "a", "a"), ("p1", "b", "b"), ("p1", "a", "b")], ["a", "b"])
    assert one_prompt.value is not None and one_prompt.ci is None and "1 prompt" in one_prompt.missing_reason


# ---------------------------------------------------------------- Krippendorff's alpha


def test_alpha_nominal_by_hand():
    # units (a,a), (a,b), (b,b), (b,b): o_aa = 2, o_ab = o_ba = 1, o_bb = 4; n_a = 3, n_b = 5, n = 8
    # alpha = 1 - (n - 1) * D_o / D_e = 1 - 7 * 2 / (2 * 3 * 5)
    units = [("p1", ["a", "a"]), ("p1", ["a", "b"]), ("p2", ["b", "b"]), ("p2", ["b", "b"])]
    assert krippendorff_alpha(units, "nominal", n_resamples=10).value == pytest.approx(1 - 14 / 30)


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_alpha_matches_the_krippendorff_package(level):
    rng = np.random.default_rng(7)
    for _ in range(4):
        data = rng.integers(1, 8, size=(5, 40)).astype(float)
        data[1:3, ::2] = data[0, ::2]  # some agreement
        data[rng.random(data.shape) < 0.35] = np.nan  # raters skip items
        units = [(u % 9, [v for v in data[:, u] if not np.isnan(v)]) for u in range(data.shape[1])]
        ours = krippendorff_alpha(units, level, n_resamples=10).value
        assert ours == pytest.approx(krippendorff.alpha(reliability_data=data, level_of_measurement=level), abs=1e-12)


def test_alpha_of_verdict_labels_equals_the_package_on_codes():
    labels = ("first", "second", "tie")
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 3, size=(3, 30)).astype(float)
    codes[1, :15] = codes[0, :15]
    units = [(u, [labels[int(c)] for c in codes[:, u]]) for u in range(30)]
    assert krippendorff_alpha(units, "nominal", n_resamples=10).value == pytest.approx(
        krippendorff.alpha(reliability_data=codes, level_of_measurement="nominal"))


def test_batched_alpha_equals_alpha_of_each_table():
    units = [(p, list(np.random.default_rng(p).integers(1, 5, size=3))) for p in range(6)]
    tables = coincidence_tables(units)
    weights = np.random.default_rng(0).multinomial(6, [1 / 6] * 6, size=5).astype(float)
    batched = alpha_from_coincidence(tables.totals(weights), "ordinal")
    one_by_one = [alpha_from_coincidence(tables.totals(w[None])[0], "ordinal") for w in weights]
    np.testing.assert_allclose(batched, one_by_one)


def test_kappa_interval_covers_the_true_kappa_in_simulation():
    """A judge copies the human label with probability q, else labels at random: the population
    kappa is known. The 95% interval should cover it about 95% of the time."""
    labels, probs, q = ("first", "second", "tie"), np.array([0.45, 0.35, 0.2]), 0.6
    judge_marginal = q * probs + (1 - q) / 3
    p_o, p_e = q + (1 - q) / 3, float(probs @ judge_marginal)
    truth = (p_o - p_e) / (1 - p_e)
    rng = np.random.default_rng(11)
    covered, runs = 0, 150
    for k in range(runs):
        pairs = []
        for prompt in range(30):
            for _ in range(4):
                human = rng.choice(3, p=probs)
                judge = human if rng.random() < q else rng.integers(3)
                pairs.append((prompt, labels[human], labels[judge]))
        ci = cohen_kappa(pairs, labels, n_resamples=300, seed=k).ci
        covered += ci.low <= truth <= ci.high
    assert 0.88 <= covered / runs <= 0.995, covered / runs


# ---------------------------------------------------------------- majority and helpers


@pytest.mark.parametrize("votes, expected", [
    (["first", "first", "second"], "first"), (["first", "second"], None), (["tie", "tie", "first"], "tie"),
    (["second"], "second"), ([], None), (["first", "second", "tie"], None),
])
def test_majority_vote(votes, expected):
    assert majority(votes) == expected


def test_rowwise_spearman_matches_scipy():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(20, 6)), rng.normal(size=(20, 6))
    x[3, 2] = x[3, 4]  # a tie
    expected = [stats.spearmanr(a, b).statistic for a, b in zip(x, y)]
    np.testing.assert_allclose(rowwise_spearman(x, y), expected)
    x[5, 0] = np.nan
    assert np.isnan(rowwise_spearman(x, y)[5])


# ---------------------------------------------------------------- simulated raters and judges


def rating(item_id: int, rater: str, prompt: str, shown: tuple[str, str], winner: str | None,
           verdict_if_tie: str = "tie") -> StoredRating:
    verdict = verdict_if_tie if winner is None else "A" if winner == shown[0] else "B"
    return StoredRating(item_id, rater, "pairwise", prompt, shown, verdict, {}, "", "2025-01-01T00:00:00+00:00", "app")


def judge_from(name: str, preference: dict[tuple[str, str, str], str | None]) -> JudgeEvidence:
    verdicts = [PairVerdict(p, a, b, order, winner) for (p, a, b), winner in preference.items() for order in ("ab", "ba")]
    return JudgeEvidence(name, tuple(verdicts), ())


def simulate(n_prompts: int = 12, follow: str = "judge-b", copy_prob: float = 0.85, raters=("ann", "ben", "cat"),
             seed: int = 0):
    """Three judges with different tastes; raters copy `follow`'s preference with `copy_prob`,
    else pick at random."""
    rng = np.random.default_rng(seed)
    keys = [(f"p{p:02d}", a, b) for p in range(n_prompts) for a, b in combinations(RUNS, 2)]
    tastes = {name: {key: key[1 + int(rng.integers(2))] for key in keys} for name in ("judge-a", "judge-b", "judge-c")}
    # judge-c mostly agrees with judge-b: it must still rank second, not first
    tastes["judge-c"] = {k: (w if rng.random() < 0.5 else tastes["judge-b"][k]) for k, w in tastes["judge-c"].items()}
    ratings, item = [], 0
    for key in keys:
        item += 1
        prompt, a, b = key
        shown = (a, b) if rng.random() < 0.5 else (b, a)
        for rater in raters:
            winner = tastes[follow][key] if rng.random() < copy_prob else (a, b, None)[int(rng.integers(3))]
            ratings.append(rating(item, rater, prompt, shown, winner))
    return ratings, [judge_from(name, taste) for name, taste in tastes.items()]


def test_raters_who_agree_with_judge_x_give_x_the_highest_agreement():
    for follow in ("judge-a", "judge-b"):
        ratings, judges = simulate(follow=follow)
        section = human_judge_section(ratings, judges, {}, n_resamples=200)
        kappas = {j.judge: j.kappa.value for j in section.judges}
        assert max(kappas, key=kappas.get) == follow, kappas
        best = section.judge(follow)
        others = [j for j in section.judges if j.judge != follow]
        # the followed judge's interval lies above every judge it does not resemble
        assert best.kappa.ci.low > section.judge("judge-a" if follow == "judge-b" else "judge-b").kappa.ci.high
        assert all(best.agreement_with_ties.value > o.agreement_with_ties.value for o in others)
        assert all(best.agreement_without_ties.value > o.agreement_without_ties.value for o in others)
        assert best.n_pairs == 12 * 15 - section.n_split_pairs and best.kappa.n_units == best.n_pairs


def test_inter_rater_agreement_is_high_for_consistent_raters_and_near_zero_for_random_ones():
    consistent, _ = simulate(copy_prob=0.95)
    noisy, _ = simulate(copy_prob=0.0, seed=1)
    high = human_judge_section(consistent, [], {}, n_resamples=200).inter_rater
    low = human_judge_section(noisy, [], {}, n_resamples=200).inter_rater
    assert high.alpha.value > 0.8 and high.alpha_level == "nominal"
    assert abs(low.alpha.value) < 0.1 and low.alpha.ci.low < 0 < low.alpha.ci.high
    assert [(p.rater_a, p.rater_b) for p in high.rater_pairs] == [("ann", "ben"), ("ann", "cat"), ("ben", "cat")]
    assert all(p.kappa.value > 0.8 for p in high.rater_pairs)


def test_people_answer_the_loss_question():
    """Raters who prefer the run with the lower loss: lower loss predicts what people prefer,
    with an interval above 0; raters who prefer the higher loss: below 0."""
    losses = {run: 1.0 + 0.1 * i for i, run in enumerate(RUNS)}  # r1 lowest
    rng = np.random.default_rng(5)
    for sign in (1, -1):
        ratings, item = [], 0
        for p in range(15):
            for a, b in combinations(RUNS, 2):
                item += 1
                better = min((a, b), key=lambda r: sign * losses[r])
                winner = better if rng.random() < 0.8 else ({a, b} - {better}).pop()
                ratings.append(rating(item, "ann", f"p{p:02d}", (a, b), winner))
        section = human_judge_section(ratings, [], losses, n_resamples=300)
        loss = section.loss_vs_people
        assert loss.judge_name == "human (pairwise)" and loss.n_runs == len(RUNS)
        assert (loss.spearman_ci.low > 0) if sign == 1 else (loss.spearman_ci.high < 0)
        expected = "did predict" if sign == 1 else "went with worse"
        assert expected in loss.finding
        assert section.ranking.order[0] == ("r1" if sign == 1 else "r6")


def test_pointwise_ratings_rank_by_mean_and_compare_within_prompts():
    quality = {run: i for i, run in enumerate(reversed(RUNS))}  # r1 best
    ratings, item = [], 0
    rng = np.random.default_rng(4)
    for p in range(8):
        for run in RUNS:
            item += 1
            for rater in ("ann", "ben"):
                score = int(np.clip(round(3 + quality[run] + rng.normal(0, 0.6)), 1, 10))
                ratings.append(StoredRating(item, rater, "pointwise", f"p{p}", (run,), None,
                                            {"overall": float(score)}, "", "2025-01-01T00:00:00+00:00", "app"))
    agreeing = JudgeEvidence("judge-good", (), tuple(ScoreRow(r, f"p{p}", quality[r]) for p in range(8) for r in RUNS))
    reversed_ = JudgeEvidence("judge-bad", (), tuple(ScoreRow(r, f"p{p}", -quality[r]) for p in range(8) for r in RUNS))
    section = human_judge_section(ratings, [agreeing, reversed_], {}, n_resamples=200)
    assert section.ranking.order[0] == "r1"
    assert section.inter_rater.alpha_level == "interval" and section.inter_rater.alpha.value > 0.8
    assert section.inter_rater.ordinal_alpha.value > 0.8 and section.inter_rater.kappa_weights == "quadratic"
    good, bad = section.judge("judge-good"), section.judge("judge-bad")
    assert good.kappa.value > 0.5 > bad.kappa.value
    assert good.rank_correlation.spearman_rho == pytest.approx(1.0) and good.spearman_ci.low > 0.5
    assert bad.rank_correlation.spearman_rho == pytest.approx(-1.0)


# ---------------------------------------------------------------- how many more ratings


def test_ratings_needed_scales_the_interval_as_one_over_sqrt_n():
    ci = Interval(0.3, 0.7, 0.95, 1000)  # half-width 0.2 from 50 ratings; target 0.1 -> 200 in all
    needed = ratings_needed("kappa", "kappa", 50, ci, 10, None)
    assert needed.half_width == pytest.approx(0.2) and needed.more_ratings == 150
    assert ratings_needed("kappa", "kappa", 50, Interval(0.45, 0.55, 0.95, 1000), 10, None).more_ratings == 0
    first = ratings_needed("alpha", "alpha", 3, None, 1, "units from 1 prompt(s)", per_prompt=2)
    assert first.more_ratings == 2 and "first interval" in first.basis
    stuck = ratings_needed("kappa", "kappa", 30, None, 5, "undefined: the labels do not vary")
    assert stuck.more_ratings is None and "do not vary" in stuck.basis


def test_too_few_ratings_say_how_many_more_are_needed():
    """Two ratings of one prompt: no interval anywhere, and every statistic says how many more."""
    ratings = [rating(1, "ann", "p00", ("r1", "r2"), "r1"), rating(2, "ann", "p00", ("r2", "r3"), "r2")]
    judges = [judge_from("judge-a", {("p00", "r1", "r2"): "r1", ("p00", "r2", "r3"): "r3"})]
    section = human_judge_section(ratings, judges, {"r1": 1.0, "r2": 1.1, "r3": 1.2}, n_resamples=100)
    assert all(e.ci is None for e in section.ranking.entries)
    needed = {n.statistic: n for n in section.needed}
    assert needed["people's ranking: an interval for every run"].more_ratings == math.ceil((1 + 1 + 1) / 2)
    assert needed["judge-a against people (Cohen's kappa)"].more_ratings == 1
    assert needed["agreement between raters (Krippendorff's alpha)"].more_ratings == 4
    assert all(n.more_ratings for n in section.needed), [n.to_dict() for n in section.needed]


def test_people_go_into_ranking_json_as_a_judge_and_round_trip_through_its_record():
    from telcotune.artifacts.io import parse, to_plain
    from telcotune.artifacts.ranking import JudgeSection
    from telcotune.evaluate.ranking import RankingInputs, human_judge
    from telcotune.rate.human import HumanJudgeSection

    ratings, judges = simulate(n_prompts=4)
    section = human_judge_section(ratings, judges, {r: 1.0 + i for i, r in enumerate(RUNS)}, runs=(*RUNS, "base"),
                                  n_resamples=100)
    human = human_judge({"pairwise": section}, ratings, RankingInputs([], [*RUNS, "base"], {}, {}, 100, 0))
    assert isinstance(human, JudgeSection) and human.counts == {"pairwise:ok": len(ratings)}
    assert human.pairwise.order[-1] == "base" and human.pairwise.entries[-1].strength is None
    assert human.loss_vs_judge_pairwise is section.loss_vs_people and human.diagnostics.pairwise is not None
    back = parse(HumanJudgeSection, to_plain(section), "ranking.json human.pairwise")
    assert {j.judge for j in back.judges} == {"judge-a", "judge-b", "judge-c"}
    assert back.n_raters == 3 and back.inter_rater.alpha_level == "nominal"