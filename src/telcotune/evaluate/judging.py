"""Running the panel: pointwise over every (run, prompt), pairwise over all pairs or a Swiss
subset, each pair in both orders. One judgments file per judge, with its energy beside it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import EvalConfig
from ..energy.base import Meter, NullMeter, window
from ..artifacts.io import write_record, write_rows
from ..energy.summary import judge_energy
from ..judge.base import Judge, JudgeContext, Judgment, PairItem, PointwiseItem, judge_slug
from ..judge.pairs import SwissTournament, all_pairs
from ..paths import EvalPaths
from ..progress import progress_bar
from .prompt_sets import EvalPrompt

Answers = dict[str, dict[str, str]]
"""run -> prompt id -> answer text."""


def contexts(prompts: list[EvalPrompt], scenarios: dict[str, dict]) -> list[JudgeContext]:
    return [JudgeContext(p.id, p.messages, p.reference, scenarios.get(p.scenario_id or ""), p.misconception)
            for p in prompts]


def pointwise_items(ctxs: list[JudgeContext], answers: Answers) -> list[PointwiseItem]:
    return [PointwiseItem(c, run, answers[run][c.prompt_id]) for run in sorted(answers) for c in ctxs]


def pair_items(ctxs: list[JudgeContext], answers: Answers, pairs: list[tuple[str, str]]) -> list[PairItem]:
    items = []
    for a, b in pairs:
        for c in ctxs:
            items.append(PairItem(c, a, answers[a][c.prompt_id], b, answers[b][c.prompt_id], "ab"))
            items.append(PairItem(c, b, answers[b][c.prompt_id], a, answers[a][c.prompt_id], "ba"))
    return items


def _pair_winner(judgments: list[Judgment], pair: tuple[str, str]) -> str | None:
    """The run that won more of this pair's judgments (both orders, all prompts), or None."""
    wins = Counter(j.winner for j in judgments if j.status == "ok" and set(j.runs) == set(pair) and j.winner)
    a, b = wins.get(pair[0], 0), wins.get(pair[1], 0)
    return None if a == b else pair[0] if a > b else pair[1]


@dataclass(frozen=True)
class JudgeRun:
    """One judge's judgments, and the Swiss rounds each run sat out (a rotating bye, counted)."""

    judgments: list[Judgment]
    byes: dict[str, int]


def swiss_judgments(judge: Judge, ctxs: list[JudgeContext], answers: Answers, cfg: EvalConfig,
                    seed_scores: dict[str, float], advance=lambda n: None) -> JudgeRun:
    tournament = SwissTournament(sorted(answers), seed=cfg.seed, initial=seed_scores)
    judgments: list[Judgment] = []
    for _ in range(cfg.swiss_rounds):
        pairs = tournament.next_round()
        if not pairs:
            break
        round_judgments = _in_chunks(judge.pairwise, pair_items(ctxs, answers, pairs), advance)
        judgments += round_judgments
        for pair in pairs:
            tournament.record(_pair_winner(round_judgments, pair), pair)
    return JudgeRun(judgments, dict(Counter(b.run for b in tournament.byes)))


CHUNK = 32
"""Items sent to a judge at once: large enough for a local judge's batches and a remote one's
concurrency, small enough for the progress bar to move."""


def _in_chunks(judge_fn, items: list, advance) -> list[Judgment]:
    out: list[Judgment] = []
    for start in range(0, len(items), CHUNK):
        out += judge_fn(items[start:start + CHUNK])
        advance(len(items[start:start + CHUNK]))
    return out


def _expected_calls(ctxs: list[JudgeContext], answers: Answers, cfg: EvalConfig) -> int:
    n_runs, n = len(answers), 0
    if cfg.protocol in ("pointwise", "both"):
        n += n_runs * len(ctxs)
    if cfg.protocol in ("pairwise", "both"):
        pairs = n_runs * (n_runs - 1) // 2 if cfg.pairs == "all" else cfg.swiss_rounds * (n_runs // 2)
        n += 2 * pairs * len(ctxs)
    return n


def run_judge(judge: Judge, ctxs: list[JudgeContext], answers: Answers, cfg: EvalConfig, paths: EvalPaths,
              meter: Meter | None = None, progress: bool = True) -> JudgeRun:
    meter = meter or NullMeter()
    judgments: list[Judgment] = []
    byes: dict[str, int] = {}
    total = _expected_calls(ctxs, answers, cfg)
    with window(meter, "judging") as measured, \
            progress_bar(f"judging ({judge.name})", total=total, enabled=progress) as advance:
        if cfg.protocol in ("pointwise", "both"):
            judgments += _in_chunks(judge.pointwise, pointwise_items(ctxs, answers), advance)
        if cfg.protocol in ("pairwise", "both"):
            if cfg.pairs == "all":
                judgments += _in_chunks(judge.pairwise, pair_items(ctxs, answers, all_pairs(sorted(answers))), advance)
            else:
                swiss = swiss_judgments(judge, ctxs, answers, cfg, _mean_overall(judgments), advance)
                judgments += swiss.judgments
                byes = swiss.byes
    slug = judge_slug(judge.name)
    write_rows(paths.judgments(slug), judgments)
    write_record(paths.judge_energy(slug), judge_energy([measured.reading], judgments=len(judgments)))
    return JudgeRun(judgments, byes)


def _mean_overall(judgments: list[Judgment]) -> dict[str, float]:
    totals: dict[str, list[float]] = {}
    for j in judgments:
        if j.protocol == "pointwise" and j.status == "ok" and j.overall is not None:
            totals.setdefault(j.runs[0], []).append(j.overall)
    return {run: sum(v) / len(v) for run, v in totals.items()}


def judgment_counts(judgments: list[Judgment]) -> dict[str, Any]:
    by = Counter((j.protocol, j.status) for j in judgments)
    return {f"{protocol}_{status}": n for (protocol, status), n in sorted(by.items())}
