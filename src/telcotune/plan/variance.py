"""How much of a pilot's spread comes from prompts, runs and the judge: the variance
components that set how many prompts a study needs.

Pointwise scores follow a two-way model, score = mean + run + prompt + prompt x run + judge
noise. The prompt effect is shared by every run on a prompt. The prompt x run effect is a
run doing unusually well or badly on one prompt. Judge noise is the spread of repeated scores
of the same answer. Estimated by the method of moments on the prompts every run answered:

    MS_res = sum (y_pr - y_p. - y_.r + y_..)^2 / ((n-1)(k-1))     prompt x run + judge noise
    MS_p   = k sum (y_p. - y_..)^2 / (n-1)                         + k * prompt variance
    MS_run = n sum (y_.r - y_..)^2 / (k-1)                          + n * run variance

Two per-prompt variances drive the sample size. A run's mean over n prompts has variance
V_mean / n, with V_mean = prompt + prompt x run + judge noise. A paired difference of two
runs has variance V_diff / n, with V_diff = 2 (prompt x run + judge noise): the prompt effect
cancels. Judge noise can only be told apart from the prompt x run effect where the judge
scored one answer more than once. Otherwise the two are reported together, and the sizes
stay right because they need only the sum.

Pairwise (Bradley-Terry) judges have no such closed form. There the per-prompt variances come
from the pilot's prompt-bootstrap: var_boot * n^2 / (n - 1) (the bootstrap variance of a mean
is (n - 1) / n^2 of the per-prompt variance).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any

import numpy as np

from ..errors import TelcotuneError
from ..rank.bootstrap import bootstrap_draws
from ..rank.inputs import PairVerdict, ScoreRow
from ..rank.orders import consistent_outcomes
from ..rank.pairwise import batch_strengths
from ..rank.bt_fit import PRIOR_GAMES
from ..rank.tables import WinTable

NO_REPEATS = ("no answer was scored more than once, so judge noise cannot be separated from "
              "the prompt x run interaction; they are reported together")


class PlanInputError(TelcotuneError):
    """A pilot's judgments cannot give the variance a plan needs."""


@dataclass(frozen=True)
class PerPromptVariance:
    """What one prompt contributes to the variance of the statistics an interval is put on."""

    unit: str
    """The statistic's unit: "score points" or "log-strength"."""
    mean: float
    """Variance of a run's statistic = mean / n at n prompts."""
    mean_df: float
    """Degrees of freedom of that estimate (for its confidence interval)."""
    difference: float
    """Variance of a paired difference of two runs = difference / n."""
    difference_df: float
    pilot_prompts: int
    source: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class VarianceComponents:
    """One pointwise judge's variance components, in score points squared. Floored at 0
    where a method-of-moments estimate came out negative."""

    n_prompts: int
    """Prompts every run answered (the others are left out)."""
    n_prompts_left_out: int
    n_runs: int
    prompt: float
    """Between prompts: difficulty shared by every run."""
    run: float
    """Between the runs' true mean scores."""
    residual: float
    """Prompt x run interaction plus judge noise, for one judgment per answer."""
    interaction: float | None
    judge_noise: float | None
    judge_noise_reason: str | None
    n_repeated_answers: int
    """Answers scored more than once (the judge-noise evidence)."""
    per_prompt: PerPromptVariance
    """The per-prompt variances a plan sizes from; unbiased (not floored)."""

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "per_prompt": self.per_prompt.to_dict()}


def _cells(rows: Sequence[ScoreRow]) -> dict[tuple[str, str], list[float]]:
    cells: dict[tuple[str, str], list[float]] = defaultdict(list)
    for row in rows:
        cells[(row.prompt_id, row.run)].append(row.score)
    return cells


def _complete_prompts(cells: dict[tuple[str, str], list[float]], runs: list[str]) -> list[str]:
    prompts = sorted({p for p, _ in cells})
    return [p for p in prompts if all((p, r) in cells for r in runs)]


def _judge_noise(cells: dict[tuple[str, str], list[float]]) -> tuple[float | None, int]:
    repeated = [np.asarray(v) for v in cells.values() if len(v) >= 2]
    df = sum(v.size - 1 for v in repeated)
    if df == 0:
        return None, 0
    within = sum(float(((v - v.mean()) ** 2).sum()) for v in repeated)
    return within / df, len(repeated)


def pointwise_components(rows: Sequence[ScoreRow]) -> VarianceComponents:
    """Variance components of one judge's scores (module docstring)."""
    cells = _cells(rows)
    runs = sorted({r for _, r in cells})
    prompts = _complete_prompts(cells, runs)
    all_prompts = {p for p, _ in cells}
    if len(runs) < 2 or len(prompts) < 2:
        raise PlanInputError(f"variance components need 2 runs scored on the same 2 prompts; "
                             f"found {len(runs)} run(s) and {len(prompts)} prompt(s) that every run "
                             f"answered")
    y = np.array([[np.mean(cells[(p, r)]) for r in runs] for p in prompts])
    n, k = y.shape
    grand = y.mean()
    prompt_means, run_means = y.mean(axis=1), y.mean(axis=0)
    resid = y - prompt_means[:, None] - run_means[None, :] + grand
    ms_res = float((resid ** 2).sum() / ((n - 1) * (k - 1)))
    ms_prompt = float(k * ((prompt_means - grand) ** 2).sum() / (n - 1))
    ms_run = float(n * ((run_means - grand) ** 2).sum() / (k - 1))
    used = {key: v for key, v in cells.items() if key[0] in set(prompts)}
    noise, n_repeated = _judge_noise(used)
    # MS_res carries judge noise / replicates; a planned study judges each answer once
    residual = ms_res + (noise * (1 - np.mean([1 / len(v) for v in used.values()]))
                         if noise is not None else 0.0)
    return VarianceComponents(
        n_prompts=n, n_prompts_left_out=len(all_prompts) - n, n_runs=k,
        prompt=max(0.0, (ms_prompt - ms_res) / k), run=max(0.0, (ms_run - ms_res) / n),
        residual=float(residual),
        interaction=None if noise is None else max(0.0, float(residual) - noise),
        judge_noise=noise, judge_noise_reason=None if noise is not None else NO_REPEATS,
        n_repeated_answers=n_repeated,
        per_prompt=_per_prompt(ms_prompt, ms_res, float(residual), n, k))


def _per_prompt(ms_prompt: float, ms_res: float, residual: float, n: int, k: int) -> PerPromptVariance:
    # V_mean = prompt + residual with the prompt part unfloored: (MS_p - MS_res) / k + residual
    prompt_part, residual_part = ms_prompt / k, residual - ms_res / k
    mean = prompt_part + residual_part
    df_prompt, df_res = n - 1, (n - 1) * (k - 1)
    denominator = prompt_part ** 2 / df_prompt + residual_part ** 2 / df_res
    mean_df = mean ** 2 / denominator if denominator > 0 else float(df_prompt)  # Satterthwaite
    return PerPromptVariance("score points", mean, mean_df, 2 * residual, float(df_res), n,
                             "variance components of the pilot's scores")


def pairwise_variance(verdicts: Sequence[PairVerdict], n_resamples: int = 1000, seed: int = 0, *,
                      merge_orders: bool = True, prior_games: float = PRIOR_GAMES) -> PerPromptVariance:
    """Per-prompt variances of Bradley-Terry log-strengths and their pairwise differences,
    from the pilot's prompt bootstrap (module docstring). Orders are merged as in ranking."""
    games = consistent_outcomes(verdicts) if merge_orders else list(verdicts)
    table = WinTable.from_games(games)
    n, k = len(table.prompts), len(table.runs)
    if n < 2 or k < 2:
        raise PlanInputError(f"a pairwise plan needs verdicts on 2 runs and 2 prompts; found "
                             f"{k} run(s) and {n} prompt(s)")
    draws = bootstrap_draws(lambda w: batch_strengths(table, w, prior_games), n_resamples, seed,
                            n_prompts=n)
    draws = draws[~np.isnan(draws).any(axis=1)]
    if len(draws) < 2:
        raise PlanInputError("the pilot's Bradley-Terry fit was undefined on almost every resample")
    cov = np.cov(draws, rowvar=False)
    var = np.diag(cov)
    pair_var = [var[i] + var[j] - 2 * cov[i, j] for i, j in combinations(range(k), 2)]
    scale = n * n / (n - 1)
    return PerPromptVariance("log-strength", float(scale * var.mean()), float(n - 1),
                             float(scale * np.mean(pair_var)), float(n - 1), n,
                             "prompt-bootstrap variances of the pilot's Bradley-Terry strengths, "
                             "scaled to one prompt")
