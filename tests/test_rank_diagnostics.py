"""Judge diagnostics on simulated judges with known behaviour: a constant judge, a noise judge
and a judge that mostly fails cannot discriminate; a judge that tracks quality can."""

from __future__ import annotations

import json

import numpy as np
import pytest

from telcotune.rank.diagnostics import (
    MIN_USABLE_SHARE, JudgeDiagnostics, diagnose_pairwise, diagnose_pointwise, spearman_brown,
)
from telcotune.rank.inputs import PairVerdict, ScoreRow

RUNS = [f"run{i:02d}" for i in range(12)]
QUALITY = {r: 0.25 * i for i, r in enumerate(RUNS)}


def scores(rng, n_prompts: int, noise: float, run_effect: float = 1.0, lengths=None, length_pull: float = 0.0):
    difficulty = rng.normal(0, 1, n_prompts)
    return [ScoreRow(run, f"p{p}", 5 + difficulty[p] + run_effect * QUALITY[run] + rng.normal(0, noise)
                     + (length_pull * (lengths[(run, f"p{p}")] - 500) / 200 if lengths else 0.0))
            for run in RUNS for p in range(n_prompts)]


def test_a_judge_that_tracks_quality_discriminates():
    rows = scores(np.random.default_rng(0), 20, noise=1.0)
    d = diagnose_pointwise(rows, len(rows), n_resamples=300)
    assert d.discriminates and d.reasons == ()
    assert d.usable_share == 1 and d.spread > 0.5
    assert d.reliability.value > 0.8 and d.reliability.ci.low > 0
    json.dumps(d.to_dict())


def test_a_constant_judge_cannot_discriminate():
    rows = [ScoreRow(run, f"p{p}", 1.0) for run in RUNS for p in range(6)]
    d = diagnose_pointwise(rows, len(rows), n_resamples=100)
    assert not d.discriminates and d.spread == 0
    assert any("no spread" in r for r in d.reasons)
    assert d.reliability.value is None


def test_a_noise_judge_cannot_discriminate():
    rows = scores(np.random.default_rng(1), 20, noise=1.0, run_effect=0.0)
    d = diagnose_pointwise(rows, len(rows), n_resamples=300)
    assert not d.discriminates and d.reliability.ci.low <= 0
    assert any("includes 0" in r for r in d.reasons)


def test_reliability_falls_with_noise():
    rng = np.random.default_rng(2)
    values = [diagnose_pointwise(scores(rng, 20, noise), 240, n_resamples=50).reliability.value
              for noise in (0.3, 1.5, 4.0)]
    assert values[0] > values[1] > values[2]


def test_a_judge_that_mostly_fails_cannot_discriminate():
    rows = scores(np.random.default_rng(3), 20, noise=0.5)[:100]
    d = diagnose_pointwise(rows, 240, n_resamples=50)
    assert d.usable_share == pytest.approx(100 / 240) and d.usable_share < MIN_USABLE_SHARE
    assert not d.discriminates and "usable share 42% is below 50%" in d.reasons[0]
    nothing = diagnose_pointwise([], 96)
    assert not nothing.discriminates and nothing.usable_share == 0


def test_too_few_prompts_for_a_split_half():
    rows = scores(np.random.default_rng(4), 3, noise=0.5)
    d = diagnose_pointwise(rows, len(rows), n_resamples=50)
    assert d.reliability.value is None and "needs 4" in d.reliability.missing_reason
    assert not d.discriminates


def test_a_judge_that_prefers_longer_answers_gets_a_warning():
    rng = np.random.default_rng(5)
    lengths = {(r, f"p{p}"): float(rng.normal(500, 200)) for r in RUNS for p in range(20)}
    rows = scores(rng, 20, noise=0.5, run_effect=0.0, lengths=lengths, length_pull=1.5)
    d = diagnose_pointwise(rows, len(rows), lengths, n_resamples=200)
    assert d.length_correlation.value > 0.5 and d.length_correlation.ci.low > 0
    assert any("prefers longer answers" in w for w in d.warnings)


def test_pairwise_judge_that_always_picks_the_first_answer():
    verdicts = []
    for p in range(8):
        for i, a in enumerate(RUNS):
            for b in RUNS[i + 1:i + 3]:
                verdicts += [PairVerdict(f"p{p}", a, b, "ab", a), PairVerdict(f"p{p}", a, b, "ba", b)]
    d = diagnose_pairwise(verdicts, len(verdicts), n_resamples=50)
    assert not d.discriminates and any("no spread" in r for r in d.reasons)  # merged orders: all ties
    assert d.position_bias.inconsistency_rate == 1
    assert any("position bias: the first answer wins 100%" in w for w in d.warnings)


def test_pairwise_judge_that_follows_quality_discriminates():
    rng = np.random.default_rng(6)
    verdicts = []
    for p in range(16):
        for i, a in enumerate(RUNS):
            for b in RUNS[i + 1:i + 4]:
                winner = a if rng.random() < 1 / (1 + np.exp(3 * (QUALITY[b] - QUALITY[a]))) else b
                verdicts += [PairVerdict(f"p{p}", a, b, "ab", winner), PairVerdict(f"p{p}", a, b, "ba", winner)]
    lengths = {(r, f"p{p}"): 100.0 + i for i, r in enumerate(RUNS) for p in range(16)}
    d = diagnose_pairwise(verdicts, len(verdicts) + 10, lengths, n_resamples=200)
    assert d.discriminates, d.reasons
    assert d.reliability.ci.low > 0 and d.usable_share < 1
    assert d.length_correlation.value is not None


def test_judge_level_verdict_needs_every_protocol():
    good = diagnose_pointwise(scores(np.random.default_rng(7), 20, 1.0), 240, n_resamples=100)
    bad = diagnose_pairwise([], 50)
    both = JudgeDiagnostics("local:x", good, bad)
    assert not both.discriminates and both.reasons == ("pairwise: usable share 0% is below 50%",)
    assert JudgeDiagnostics("rubric", good, None).discriminates
    assert not JudgeDiagnostics("none", None, None).discriminates
    assert json.loads(json.dumps(both.to_dict()))["pointwise"]["discriminates"] is True


def test_spearman_brown():
    assert spearman_brown(np.array([0.5, 0.0, -0.2, 1.0])) == pytest.approx([2 / 3, 0.0, -0.2, 1.0])
