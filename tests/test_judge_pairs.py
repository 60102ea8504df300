"""Swiss pairing (Dutch system, no repeats, rotating byes) and the comparison graph's groups."""

from __future__ import annotations

import random

import pytest

from telcotune.judge.pairs import SwissTournament, all_pairs, comparison_components


def play(n_runs: int, rounds: int, seed: int, result: str = "strength"):
    """A tournament on simulated results: `strength` (the stronger usually wins), `tie` (every
    game a tie, as from a judge that cannot tell answers apart) or `first` (the name first in
    the alphabet always wins)."""
    rng = random.Random(seed)
    runs = [f"run{i:02d}" for i in range(n_runs)]
    strength = {r: rng.gauss(0, 1) for r in runs}
    tournament = SwissTournament(runs, seed=seed, initial={r: s + rng.gauss(0, 1) for r, s in strength.items()})
    played = []
    for _ in range(rounds):
        pairs = tournament.next_round()
        for a, b in pairs:
            if result == "tie":
                winner = None
            elif result == "first":
                winner = a
            else:
                winner = a if rng.random() < 1 / (1 + pow(2.718, strength[b] - strength[a])) else b
            tournament.record(winner, (a, b))
        played.append(pairs)
    return runs, tournament, played


@pytest.mark.parametrize("result", ["strength", "tie", "first"])
@pytest.mark.parametrize("seed", range(5))
def test_17_runs_4_rounds_every_run_plays_and_the_graph_connects(seed, result):
    runs, tournament, played = play(17, 4, seed, result)
    pairs = [p for round_pairs in played for p in round_pairs]
    assert [len(r) for r in played] == [8, 8, 8, 8]
    assert len({frozenset(p) for p in pairs}) == len(pairs) == 32 < len(all_pairs(runs))  # no repeats
    assert {run for p in pairs for run in p} == set(runs)  # every run has verdicts
    byes = [b.run for b in tournament.byes]
    assert [b.round for b in tournament.byes] == [1, 2, 3, 4] and len(set(byes)) == 4  # rotating
    for round_pairs, bye in zip(played, tournament.byes):
        assert bye.run not in {run for p in round_pairs for run in p}
    assert comparison_components(runs, pairs).connected


def test_round_one_pairs_the_top_half_against_the_bottom_half():
    runs = [f"run{i:02d}" for i in range(16)]
    tournament = SwissTournament(runs, initial={r: -i for i, r in enumerate(runs)})  # run00 seeded first
    first = tournament.next_round()
    assert sorted(first) == [(f"run{i:02d}", f"run{i + 8:02d}") for i in range(8)]
    assert tournament.byes == []


def test_16_runs_1_round_reports_its_components():
    runs, _, played = play(16, 1, seed=0)
    components = comparison_components(runs, played[0])
    assert not components.connected and len(components.groups) == 8
    assert all(len(g) == 2 for g in components.groups)
    assert components.to_dict()["n_groups"] == 8
    assert set(components.group_of(played[0][0][0])) == set(played[0][0])


def test_components_of_a_graph_with_a_run_that_never_played():
    components = comparison_components(["a", "b", "c", "d", "e"], [("a", "b"), ("b", "c"), ("d", "e")])
    assert components.groups == (("a", "b", "c"), ("d", "e"))
    assert comparison_components(["a", "b", "z"], [("a", "b")]).groups == (("a", "b"), ("z",))
    assert comparison_components(["a", "b"], [("a", "b")]).connected


def test_a_field_that_has_met_everyone_gets_no_more_rounds():
    tournament = SwissTournament(["a", "b", "c"])
    rounds = [tournament.next_round() for _ in range(5)]
    assert sum(len(r) for r in rounds) == 3 and rounds[-1] == []  # all three pairs, then nothing


def test_quick_plays_enough_rounds_to_connect_its_17_runs():
    """quick.yaml's swiss_rounds connect 17 runs in nearly every simulated tournament; one round
    fewer leaves about half of them in pieces, which the ranking could not order across."""
    from telcotune.config import load_config

    from .conftest import ROOT

    rounds = load_config(ROOT / "configs" / "quick.yaml").eval.swiss_rounds

    def connected_share(n_rounds: int) -> float:
        results = []
        for seed in range(100):
            runs, _, played = play(17, n_rounds, seed)
            results.append(comparison_components(runs, [p for r in played for p in r]).connected)
        return sum(results) / len(results)

    assert connected_share(rounds) >= 0.95
    assert connected_share(rounds - 1) < 0.8
