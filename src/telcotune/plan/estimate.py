"""The plan for each judge: the prompts a study needs to reach a target, and the judge calls,
minutes and money that takes.

Targets (one per plan):
- a half-width: the study's 95% intervals should be at most +-X wide, both a run's own
  interval and the paired interval of two runs, so the study is sized by the larger need;
- a difference: a true paired difference of D between two runs should be detected (its
  interval excludes 0) with the given power.

Both are in the judge's own unit: score points for pointwise judges, log-strength for
Bradley-Terry strengths from pairwise verdicts.

Cost of a size: the answers (every run answers every prompt) and the judge calls. Pointwise
makes one call per run per prompt. Pairwise makes 2 orders per compared pair per prompt, for
all k(k-1)/2 pairs or the Swiss rounds' k/2 pairs per round. Minutes use the pilot's recorded
seconds per answer and per judge call (a pilot answered from the cache looks faster than a
fresh study). Money uses the judge's list price (llm backends' price tables) and its tokens
per call; offline and local judges cost none.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..config import PLAN_HALFWIDTH
from ..errors import ConfigError
from ..judge.factory import RUBRIC
from ..llm.base import Price, cost_usd, price_for
from ..llm.openai_compat import OPENAI_URL
from ..llm.spec import parse_spec
from ..rank.interval import SMALL_SAMPLE_PROMPTS
from .pilot import CHARS_PER_TOKEN, JudgePilot, Pilot, Tokens, read_pilot
from .size import (
    PromptCount, halfwidth, prompts_for_detection, prompts_for_halfwidth, with_range,
)
from .variance import (
    PerPromptVariance, PlanInputError, VarianceComponents, pairwise_variance, pointwise_components,
)

Protocol = Literal["pointwise", "pairwise"]


@dataclass(frozen=True)
class Target:
    kind: Literal["halfwidth", "difference"]
    value: float
    power: float
    """Used by a difference target."""
    level: float = 0.95

    @property
    def alpha(self) -> float:
        return 1 - self.level

    def describe(self, unit: str) -> str:
        if self.kind == "halfwidth":
            return f"{self.level:.0%} intervals of at most ±{self.value:g} {unit}"
        return f"detect a paired difference of {self.value:g} {unit} with {self.power:.0%} power"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "value": self.value, "power": self.power, "level": self.level}


def make_target(target_halfwidth: float | None, detect_difference: float | None,
                power: float = 0.8) -> Target:
    """The target asked for; neither given: intervals of at most +-PLAN_HALFWIDTH."""
    if target_halfwidth is not None and detect_difference is not None:
        raise ConfigError("give one target: --target-halfwidth X (interval half-width) or "
                          "--detect-difference D (with --power)")
    if detect_difference is None:
        target_halfwidth = PLAN_HALFWIDTH if target_halfwidth is None else target_halfwidth
    if target_halfwidth is not None:
        if target_halfwidth <= 0:
            raise ConfigError(f"--target-halfwidth must be above 0, got {target_halfwidth:g}")
        return Target("halfwidth", float(target_halfwidth), power)
    if detect_difference <= 0:
        raise ConfigError(f"--detect-difference must be above 0, got {detect_difference:g}")
    if not 0.5 <= power < 1:
        raise ConfigError(f"--power must be at least 0.5 and below 1, got {power:g}")
    return Target("difference", float(detect_difference), power)


@dataclass(frozen=True)
class PlanEstimate:
    judge: str
    protocol: Protocol
    unit: str
    target: Target
    pilot_prompts: int
    pilot_halfwidth_mean: float
    """Half-width of a run's interval at the pilot's size (from the pooled variance)."""
    pilot_halfwidth_difference: float
    variance: PerPromptVariance
    components: VarianceComponents | None
    """Pointwise judges only."""
    prompts_for_mean: PromptCount | None
    """Half-width target: for a run's own interval."""
    prompts_for_difference: PromptCount
    """Half-width target: for a paired difference; difference target: for the power."""
    n_runs: int
    prompts: int
    prompts_low: int
    prompts_high: int
    judge_calls: int
    answers: int
    answer_minutes: float | None
    judging_minutes: float | None
    minutes_note: str | None
    """Why minutes are missing, or what they rest on."""
    cost_usd: float | None
    cost_note: str
    warning: str | None

    @property
    def minutes(self) -> float | None:
        if self.answer_minutes is None or self.judging_minutes is None:
            return None
        return self.answer_minutes + self.judging_minutes

    def to_dict(self) -> dict[str, Any]:
        return {"judge": self.judge, "protocol": self.protocol, "unit": self.unit,
                "target": self.target.to_dict(), "target_text": self.target.describe(self.unit),
                "pilot_prompts": self.pilot_prompts,
                "pilot_halfwidth_mean": self.pilot_halfwidth_mean,
                "pilot_halfwidth_difference": self.pilot_halfwidth_difference,
                "variance": self.variance.to_dict(),
                "components": None if self.components is None else self.components.to_dict(),
                "prompts_for_mean": None if self.prompts_for_mean is None else self.prompts_for_mean.to_dict(),
                "prompts_for_difference": self.prompts_for_difference.to_dict(),
                "n_runs": self.n_runs, "prompts": self.prompts, "prompts_low": self.prompts_low,
                "prompts_high": self.prompts_high, "judge_calls": self.judge_calls,
                "answers": self.answers, "answer_minutes": self.answer_minutes,
                "judging_minutes": self.judging_minutes, "minutes": self.minutes,
                "minutes_note": self.minutes_note, "cost_usd": self.cost_usd,
                "cost_note": self.cost_note, "warning": self.warning}


@dataclass(frozen=True)
class StudyPlan:
    workdir: Path
    target: Target
    runs: tuple[str, ...]
    pilot_prompts: int
    estimates: tuple[PlanEstimate, ...]
    skipped: dict[str, str]
    """Judge (and protocol) -> why no plan could be made for it."""

    def to_dict(self) -> dict[str, Any]:
        return {"workdir": str(self.workdir), "target": self.target.to_dict(), "runs": list(self.runs),
                "pilot_prompts": self.pilot_prompts, "estimates": [e.to_dict() for e in self.estimates],
                "skipped": dict(self.skipped)}


# --- sizes ---------------------------------------------------------------------------------

def size_prompts(variance: PerPromptVariance, target: Target) -> tuple[PromptCount | None, PromptCount]:
    """(for a run's interval or None, for a paired difference) under the target."""
    alpha = target.alpha
    if target.kind == "halfwidth":
        def for_target(v: float) -> int:
            return prompts_for_halfwidth(v, target.value, alpha)

        return (with_range(for_target, variance.mean, variance.mean_df, alpha),
                with_range(for_target, variance.difference, variance.difference_df, alpha))
    return None, with_range(lambda v: prompts_for_detection(v, target.value, target.power, alpha),
                            variance.difference, variance.difference_df, alpha)


def calls_per_prompt(protocol: Protocol, n_runs: int, pairs: str, swiss_rounds: int) -> int:
    if protocol == "pointwise":
        return n_runs
    compared = n_runs * (n_runs - 1) // 2 if pairs == "all" else swiss_rounds * (n_runs // 2)
    return 2 * compared


# --- money ---------------------------------------------------------------------------------

def judge_price(spec: str) -> tuple[Price | None, str]:
    """The judge's list price per million tokens, or None with the reason."""
    if spec == RUBRIC:
        return None, "offline judge: no API cost"
    try:
        parsed = parse_spec(spec)
    except ConfigError:
        return None, f"unpriced: {spec!r} is not a judge spec this version knows"
    if parsed.backend == "local":
        return None, "local judge: no API cost"
    if parsed.backend == "openai":
        if parsed.base_url not in (None, OPENAI_URL):
            return None, "unpriced: a custom OpenAI-compatible server has no known price"
        from ..llm.openai_compat import OPENAI_PRICES as table
    elif parsed.backend == "anthropic":
        from ..llm.anthropic_backend import ANTHROPIC_PRICES as table
    elif parsed.backend == "gemini":
        from ..llm.gemini_backend import GEMINI_PRICES as table
    else:
        return None, f"unpriced: no price table for the {parsed.backend} backend"
    price = price_for(table, parsed.model)
    return (price, "list price") if price else (None, f"unpriced: no list price for {parsed.model}")


def _cost(spec: str, tokens: Tokens | None, calls: int) -> tuple[float | None, str]:
    price, note = judge_price(spec)
    if price is None:
        return None, note
    if tokens is None:
        return None, "unpriced: the pilot recorded no texts to count this judge's tokens from"
    per_call = cost_usd(price, round(tokens.prompt), round(tokens.completion))
    basis = "recorded" if tokens.basis == "recorded" else f"estimated at {CHARS_PER_TOKEN:g} characters per token"
    return per_call * calls, (f"{note}; {tokens.prompt:.0f} in + {tokens.completion:.0f} out tokens "
                              f"per call ({basis})")


# --- one judge -----------------------------------------------------------------------------

def _variance(judge: JudgePilot, protocol: Protocol, n_resamples: int,
              seed: int) -> tuple[PerPromptVariance, VarianceComponents | None]:
    if protocol == "pointwise":
        components = pointwise_components(judge.rows)
        variance = components.per_prompt
    else:
        components, variance = None, pairwise_variance(judge.verdicts, n_resamples, seed)
    if variance.mean <= 0 and variance.difference <= 0:
        raise PlanInputError(f"the pilot's {protocol} judgments do not vary between prompts or runs, "
                             f"so they give no variance to size a study from")
    return variance, components


def _minutes(pilot: Pilot, judge: JudgePilot, answers: int, calls: int) -> tuple[float | None, float | None, str | None]:
    answer = None if pilot.seconds_per_answer is None else answers * pilot.seconds_per_answer / 60
    judging = None if judge.seconds_per_call is None else calls * judge.seconds_per_call / 60
    missing = [why for why in (pilot.seconds_missing_reason, judge.seconds_missing_reason) if why]
    note = "; ".join(missing) if missing else "at the pilot's recorded seconds per answer and per judge call"
    return answer, judging, note


def _warning(pilot_prompts: int) -> str | None:
    if pilot_prompts >= SMALL_SAMPLE_PROMPTS:
        return None
    return (f"the pilot has {pilot_prompts} prompts (fewer than {SMALL_SAMPLE_PROMPTS}): its variance "
            f"is rough, so trust the range more than the point value")


def estimate(pilot: Pilot, judge: JudgePilot, protocol: Protocol, target: Target, *,
             n_resamples: int = 1000, seed: int = 0) -> PlanEstimate:
    variance, components = _variance(judge, protocol, n_resamples, seed)
    for_mean, for_difference = size_prompts(variance, target)
    counts = [c for c in (for_mean, for_difference) if c is not None]
    prompts = max(c.n for c in counts)
    n_runs = len(pilot.runs)
    calls = prompts * calls_per_prompt(protocol, n_runs, pilot.eval_config.pairs, pilot.eval_config.swiss_rounds)
    answers = prompts * n_runs
    answer_min, judging_min, minutes_note = _minutes(pilot, judge, answers, calls)
    tokens = judge.pointwise_tokens if protocol == "pointwise" else judge.pairwise_tokens
    cost, cost_note = _cost(judge.judge, tokens, calls)
    n0 = variance.pilot_prompts
    return PlanEstimate(
        judge=judge.judge, protocol=protocol, unit=variance.unit, target=target, pilot_prompts=n0,
        pilot_halfwidth_mean=halfwidth(variance.mean, n0, target.alpha),
        pilot_halfwidth_difference=halfwidth(variance.difference, n0, target.alpha),
        variance=variance, components=components, prompts_for_mean=for_mean,
        prompts_for_difference=for_difference, n_runs=n_runs, prompts=prompts,
        prompts_low=max(c.low for c in counts), prompts_high=max(c.high for c in counts),
        judge_calls=calls, answers=answers, answer_minutes=answer_min, judging_minutes=judging_min,
        minutes_note=minutes_note, cost_usd=cost, cost_note=cost_note, warning=_warning(n0))


def plan_study(workdir: str | Path, target: Target, *, n_resamples: int = 1000, seed: int = 0) -> StudyPlan:
    pilot = read_pilot(workdir)
    estimates, skipped = [], {}
    for judge in pilot.judges:
        for protocol, data in (("pointwise", judge.rows), ("pairwise", judge.verdicts)):
            if not data:
                continue
            try:
                estimates.append(estimate(pilot, judge, protocol, target, n_resamples=n_resamples, seed=seed))
            except PlanInputError as exc:
                skipped[f"{judge.judge} ({protocol})"] = f"{judge.judgments_file}: {exc}"
    if not estimates and not skipped:
        raise PlanInputError(f"{pilot.root}: the study has no usable judgments to plan from")
    return StudyPlan(pilot.root, target, pilot.runs, pilot.n_prompts, tuple(estimates), skipped)
