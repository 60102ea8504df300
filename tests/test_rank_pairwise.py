"""Bradley-Terry ranking, merging of presentation orders, position bias."""

import json
from itertools import combinations

import numpy as np
import pytest

from telcotune.rank import (
    PairVerdict, RankInputError, bradley_terry, consistent_outcomes, position_bias, rank_pairwise,
)
from telcotune.rank.bt_fit import fit_log_strengths


def both_orders(prompt: str, a: str, b: str, winner: str | None) -> list[PairVerdict]:
    """A consistent judge: the same winner whichever answer is shown first."""
    return [PairVerdict(prompt, a, b, "ab", winner), PairVerdict(prompt, a, b, "ba", winner)]


def chain(n_prompts: int) -> list[PairVerdict]:
    """A beats B beats C (and A beats C) on every prompt, in both orders."""
    out = []
    for p in range(n_prompts):
        for a, b in [("A", "B"), ("B", "C"), ("A", "C")]:
            out += both_orders(f"p{p}", a, b, a)
    return out


def simulated(strengths: dict[str, float], n_prompts: int, seed: int) -> list[PairVerdict]:
    rng = np.random.default_rng(seed)
    out = []
    for p in range(n_prompts):
        for a, b in combinations(strengths, 2):
            p_a = 1 / (1 + np.exp(strengths[b] - strengths[a]))
            out += both_orders(f"p{p}", a, b, a if rng.random() < p_a else b)
    return out


def mm_reference(wins: np.ndarray, prior: float, iterations: int = 20000) -> np.ndarray:
    """Hunter's MM iteration with the same virtual-opponent prior, as an independent check."""
    won = wins.sum(axis=1) + prior / 2
    games = wins + wins.T
    p = np.ones(len(wins))
    for _ in range(iterations):
        p = won / ((games / (p[:, None] + p[None, :])).sum(axis=1) + prior / (p + 1))
    log_p = np.log(p)
    return log_p - log_p.mean()


def test_consistent_chain_gives_a_b_c_with_finite_strengths():
    ranking = rank_pairwise(chain(5), n_resamples=200, seed=0)
    assert ranking.order == ("A", "B", "C")
    assert [e.rank for e in ranking.entries] == [1, 2, 3]
    strengths = [e.strength for e in ranking.entries]
    assert all(np.isfinite(strengths)) and sum(strengths) == pytest.approx(0, abs=1e-9)
    a = ranking.entry("A")
    assert (a.wins, a.losses, a.ties, a.n_prompts) == (10, 0, 0, 5)  # merged: one game per pair
    assert a.win_prob_vs_average > 0.9
    assert ranking.converged


def test_newton_fit_matches_an_mm_reference():
    rng = np.random.default_rng(4)
    wins = rng.integers(0, 6, size=(5, 5)).astype(float)
    np.fill_diagonal(wins, 0)
    wins[0, :] += 3  # one dominant run
    fit = fit_log_strengths(wins, prior_games=1.0)
    assert fit.converged.all()
    assert np.allclose(fit.log_strengths[0], mm_reference(wins, 1.0), atol=1e-6)


def test_a_run_that_never_loses_has_finite_strength_and_the_prior_shrinks_it():
    strong = bradley_terry(chain(50)).strengths["A"]
    weak_prior = bradley_terry(chain(50), prior_games=0.01).strengths["A"]
    assert np.isfinite(strong) and np.isfinite(weak_prior)
    assert weak_prior > strong > 0
    with pytest.raises(ValueError):
        bradley_terry(chain(1), prior_games=0)


def test_ties_count_half_a_win_each():
    all_ties = [v for p in range(4) for v in both_orders(f"p{p}", "A", "B", None)]
    fit = bradley_terry(all_ties)
    assert fit.strengths["A"] == pytest.approx(fit.strengths["B"], abs=1e-9)
    # Unmerged, one win each way is the same evidence as two ties.
    split = [PairVerdict("p1", "A", "B", "ab", "A"), PairVerdict("p1", "A", "B", "ba", "B")]
    tied = [PairVerdict("p1", "A", "B", "ab", None), PairVerdict("p1", "A", "B", "ba", None)]
    assert bradley_terry(split).strengths == pytest.approx(bradley_terry(tied).strengths)
    ranking = rank_pairwise(all_ties, n_resamples=50, seed=0)
    assert [e.rank for e in ranking.entries] == [1, 1]
    assert ranking.entry("A").ties == 4


def test_half_win_shifts_strength_between_a_win_and_a_loss():
    def strength_of_a(winner):
        games = [PairVerdict(f"p{i}", "A", "B", "ab", "A") for i in range(3)]
        return bradley_terry(games + [PairVerdict("x", "A", "B", "ab", winner)]).strengths["A"]

    assert strength_of_a("B") < strength_of_a(None) < strength_of_a("A")


def test_interval_shrinks_with_more_prompts():
    truth = {"A": 1.0, "B": 0.3, "C": -0.2, "D": -1.1}
    small = rank_pairwise(simulated(truth, 10, seed=1), n_resamples=300, seed=0)
    large = rank_pairwise(simulated(truth, 200, seed=1), n_resamples=300, seed=0)
    for run in truth:
        s, lg = small.entry(run), large.entry(run)
        assert s.ci.low <= s.strength <= s.ci.high
        assert lg.ci.width < s.ci.width / 2
    assert large.order == ("A", "B", "C", "D")


def test_runs_without_verdicts_are_listed_last_and_unmerged_mode_counts_verdicts():
    ranking = rank_pairwise(chain(3), n_resamples=50, seed=0, runs=["Z"], merge_orders=False)
    assert ranking.order == ("A", "B", "C", "Z")
    z = ranking.entry("Z")
    assert (z.strength, z.ci, z.rank) == (None, None, None) and "no verdicts" in z.missing_reason
    assert ranking.entry("A").wins == 12 and ranking.n_games == 18


def test_pairwise_ranking_is_seeded_and_json_ready():
    verdicts = simulated({"A": 0.5, "B": 0.0, "C": -0.5}, 20, seed=3)
    first = rank_pairwise(verdicts, n_resamples=200, seed=5)
    assert first == rank_pairwise(verdicts, n_resamples=200, seed=5)
    data = json.loads(json.dumps(first.to_dict()))
    assert data["merge_orders"] is True and len(data["entries"]) == 3


# --- presentation order --------------------------------------------------------------------


def first_always_wins(n_prompts: int) -> list[PairVerdict]:
    out = []
    for p in range(n_prompts):
        for a, b in [("A", "B"), ("B", "C"), ("A", "C")]:
            out += [PairVerdict(f"p{p}", a, b, "ab", a), PairVerdict(f"p{p}", a, b, "ba", b)]
    return out


def test_judge_that_always_prefers_the_first_answer_is_fully_inconsistent():
    bias = position_bias(first_always_wins(4))
    assert bias.n_pairs_both_orders == 12
    assert bias.inconsistency_rate == 1.0
    assert bias.first_position_share == 1.0 and bias.second_position_share == 0.0
    assert bias.n_decisive_verdicts == 24 and bias.n_ties == 0
    # merging both orders cancels the bias completely: every pair is a tie
    assert all(o.winner is None and not o.consistent for o in consistent_outcomes(first_always_wins(4)))


def test_consistent_judge_has_no_inconsistency_and_even_positions():
    bias = position_bias(chain(4))
    assert bias.inconsistency_rate == 0.0
    assert bias.first_position_share == 0.5
    assert bias.inconsistency_missing_reason is None


def test_order_is_read_from_which_run_was_shown_first_not_from_field_names():
    # (A, B, "ba") and (B, A, "ab") both show B first: the same order judged twice,
    # so the pair is not judged in both orders.
    same_order = [PairVerdict("p", "A", "B", "ba", "B"), PairVerdict("p", "B", "A", "ab", "B")]
    bias = position_bias(same_order)
    assert bias.n_pairs_both_orders == 0 and bias.inconsistency_rate is None
    assert "both orders" in bias.inconsistency_missing_reason
    assert bias.first_position_share == 1.0
    # ... while (A, B, "ab") and (B, A, "ab") are the two different orders
    flipped = [PairVerdict("p", "A", "B", "ab", "A"), PairVerdict("p", "B", "A", "ab", "A")]
    outcome, = consistent_outcomes(flipped)
    assert outcome.both_orders and outcome.consistent and outcome.winner == "A"


def test_merging_a_win_and_a_tie_gives_a_tie_and_single_orders_are_kept():
    verdicts = [PairVerdict("p1", "B", "A", "ab", "A"), PairVerdict("p1", "B", "A", "ba", None),
                PairVerdict("p2", "A", "B", "ab", "B")]
    merged, single = consistent_outcomes(verdicts)
    assert (merged.run_a, merged.run_b, merged.winner, merged.consistent) == ("A", "B", None, False)
    assert (single.winner, single.both_orders, single.n_verdicts) == ("B", False, 1)


def test_no_decisive_verdicts_gives_no_position_share_with_a_reason():
    bias = position_bias(both_orders("p", "A", "B", None))
    assert bias.first_position_share is None and "decisive" in bias.position_share_missing_reason
    assert bias.inconsistency_rate == 0.0 and bias.n_ties == 2


@pytest.mark.parametrize("kwargs", [
    dict(run_a="A", run_b="A", order="ab", winner=None),
    dict(run_a="A", run_b="B", order="xy", winner=None),
    dict(run_a="A", run_b="B", order="ab", winner="C"),
])
def test_malformed_verdicts_are_rejected(kwargs):
    with pytest.raises(RankInputError):
        PairVerdict(prompt_id="p", **kwargs)
