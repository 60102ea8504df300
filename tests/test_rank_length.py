"""Length control on simulated judges with known truth: a judge that prefers longer answers
makes the verbose run win far more than half its games raw, and about half once controlled."""

from __future__ import annotations

import math

import numpy as np
import pytest

from telcotune.rank.inputs import PairVerdict, RankInputError, ScoreRow
from telcotune.rank.length import length_adjusted_pointwise, length_controlled_pairwise

RUNS = [f"run{i}" for i in range(6)] + ["verbose"]


def lengths_for(rng, n_prompts: int, extra_chars: float = 500.0) -> dict[tuple[str, str], float]:
    return {(run, f"p{p}"): max(20.0, rng.normal(600 + (extra_chars if run == "verbose" else 0), 200))
            for run in RUNS for p in range(n_prompts)}


def simulated_verdicts(rng, lengths, n_prompts: int, length_pull: float, quality: dict[str, float] | None = None):
    """Every pair on every prompt, judged in both orders with the same verdict (no position bias)."""
    quality = quality or {r: 0.0 for r in RUNS}
    deltas = [lengths[(a, f"p{p}")] - lengths[(b, f"p{p}")]
              for p in range(n_prompts) for i, a in enumerate(RUNS) for b in RUNS[i + 1:]]
    sd = float(np.std(deltas))
    verdicts = []
    for p in range(n_prompts):
        prompt = f"p{p}"
        for i, a in enumerate(RUNS):
            for b in RUNS[i + 1:]:
                eta = quality[a] - quality[b] + length_pull * math.tanh((lengths[(a, prompt)] - lengths[(b, prompt)]) / sd)
                winner = a if rng.random() < 1 / (1 + math.exp(-eta)) else b
                verdicts += [PairVerdict(prompt, a, b, "ab", winner), PairVerdict(prompt, a, b, "ba", winner)]
    return verdicts


def test_a_judge_that_prefers_longer_answers_is_controlled():
    rng = np.random.default_rng(2)
    lengths = lengths_for(rng, 60)
    ranking = length_controlled_pairwise(simulated_verdicts(rng, lengths, 60, length_pull=3.0), lengths,
                                         n_resamples=200, seed=0)
    verbose = ranking.entry("verbose")
    assert verbose.raw_win_rate > 0.8  # raw: the longer answer wins
    assert abs(verbose.win_rate - 0.5) < 0.1  # controlled: about even, as the simulated quality is
    assert ranking.tracks_length and ranking.length_coefficient_ci.low > 1.0
    assert ranking.length_coefficient_ci.low < 3.0 < ranking.length_coefficient_ci.high
    assert verbose.raw_strength > 1.0 and abs(verbose.strength) < 0.4
    assert verbose.win_rate_ci.low < 0.5 < verbose.win_rate_ci.high
    assert ranking.to_dict()["entries"][0]["run"] == ranking.order[0]


def test_a_judge_indifferent_to_length_keeps_its_ranking():
    rng = np.random.default_rng(2)
    lengths = lengths_for(rng, 40)
    quality = {r: 0.3 * i for i, r in enumerate(RUNS)}
    ranking = length_controlled_pairwise(simulated_verdicts(rng, lengths, 40, 0.0, quality), lengths,
                                         n_resamples=200, seed=0)
    assert not ranking.tracks_length
    assert ranking.length_coefficient_ci.low < 0 < ranking.length_coefficient_ci.high
    assert ranking.order[0] == "verbose" and ranking.order[-1] == "run0"  # the best is still first
    for entry in ranking.entries:
        assert entry.strength == pytest.approx(entry.raw_strength, abs=0.25)


def test_pointwise_means_adjusted_for_length():
    rng = np.random.default_rng(3)
    n_prompts = 30
    lengths = lengths_for(rng, n_prompts)
    chars = np.array(list(lengths.values()))
    mean, sd = chars.mean(), chars.std()
    difficulty = rng.normal(0, 1, n_prompts)
    rows = [ScoreRow(run, f"p{p}", 5 + difficulty[p] + 0.8 * (lengths[(run, f"p{p}")] - mean) / sd
                     + rng.normal(0, 0.3)) for run in RUNS for p in range(n_prompts)]
    adjusted = length_adjusted_pointwise(rows, lengths, n_resamples=300, seed=0)
    verbose = adjusted.entry("verbose")
    others = [adjusted.entry(r) for r in RUNS if r != "verbose"]
    assert verbose.raw_mean > max(e.raw_mean for e in others) + 1.0
    assert abs(verbose.adjusted_mean - np.mean([e.adjusted_mean for e in others])) < 0.25
    assert adjusted.tracks_length and adjusted.length_slope_ci.low < 0.8 < adjusted.length_slope_ci.high


def test_pointwise_slope_interval_covers_the_truth():
    """Over simulations with a known slope, the 95% interval covers it about as often as it claims."""
    covered = 0
    n_sims = 40
    for sim in range(n_sims):
        rng = np.random.default_rng(100 + sim)
        lengths = lengths_for(rng, 20, extra_chars=200)
        chars = np.array(list(lengths.values()))
        z = {k: (v - chars.mean()) / chars.std() for k, v in lengths.items()}
        difficulty = rng.normal(0, 1, 20)
        rows = [ScoreRow(run, f"p{p}", 5 + difficulty[p] + 0.5 * z[(run, f"p{p}")] + rng.normal(0, 1))
                for run in RUNS for p in range(20)]
        ci = length_adjusted_pointwise(rows, lengths, n_resamples=200, seed=sim).length_slope_ci
        covered += ci.low <= 0.5 <= ci.high
    assert covered >= 0.8 * n_sims


def test_equal_lengths_and_missing_lengths():
    verdicts = [PairVerdict("p0", "a", "b", "ab", "a"), PairVerdict("p1", "a", "b", "ab", "b")]
    same = {(r, p): 100.0 for r in "ab" for p in ("p0", "p1")}
    ranking = length_controlled_pairwise(verdicts, same, n_resamples=50)
    assert ranking.length_coefficient == 0 and ranking.length_coefficient_ci is None and not ranking.tracks_length
    assert "same length" in ranking.missing_reason
    with pytest.raises(RankInputError, match="no answer length for run 'b' on prompt 'p1'"):
        length_controlled_pairwise(verdicts, {("a", "p0"): 1, ("b", "p0"): 2, ("a", "p1"): 3}, n_resamples=10)
