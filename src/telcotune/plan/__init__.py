"""Planning a study from a pilot: variance components of the pilot's judgments, and the
prompts, judge calls, minutes and money a study needs to reach a target half-width or to
detect a difference with a given power."""

from .command import plan_command, print_plan
from .estimate import PlanEstimate, StudyPlan, Target, make_target, plan_study
from .size import PromptCount, halfwidth, prompts_for_detection, prompts_for_halfwidth
from .variance import (
    PerPromptVariance, PlanInputError, VarianceComponents, pairwise_variance, pointwise_components,
)

__all__ = [
    "PerPromptVariance", "PlanEstimate", "PlanInputError", "PromptCount", "StudyPlan", "Target",
    "VarianceComponents", "halfwidth", "make_target", "pairwise_variance", "plan_command",
    "plan_study", "pointwise_components", "print_plan", "prompts_for_detection",
    "prompts_for_halfwidth",
]
