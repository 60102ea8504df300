"""Generation requests: one `PlannedRequest` per conversation plan, for any backend."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..llm.base import ChatRequest
from ..prompts import load_prompt
from .plan import ConversationPlan

PROMPT_VERSION = "v1"


@dataclass(frozen=True)
class PlannedRequest(ChatRequest):
    """A generation request that also carries its plan: LLM backends read the prompt, the
    offline `template` backend writes from the plan."""

    plan: dict[str, Any] = field(kw_only=True, compare=False)
    """`ConversationPlan.to_dict()`. Not part of the cache key: the prompt is."""


def _misconception_line(plan: ConversationPlan) -> str:
    if plan.misconception is None:
        return "The customer has no particular misconception.\n"
    return (f"The customer holds a misconception: the customer {plan.misconception.belief}. "
            "The assistant politely corrects it.\n")


def generation_request(plan: ConversationPlan, temperature: float = 0.9) -> PlannedRequest:
    sc = plan.scenario
    term = sc.term
    text = load_prompt("generation", PROMPT_VERSION).format(
        term=term.term,
        expansion=f" ({term.expansion})" if term.expansion else "",
        definition=term.definition,
        symptoms="; ".join(term.symptoms),
        steps=" | ".join(f"{i}. {s}" for i, s in enumerate(term.resolution_steps, 1)),
        escalate_when=term.escalate_when,
        cause=sc.cause.description,
        context=sc.context.description,
        persona=plan.persona,
        persona_description=plan.to_dict()["persona_description"],
        turns=plan.customer_turns,
        misconception=_misconception_line(plan),
    )
    return PlannedRequest(
        messages=({"role": "user", "content": text},),
        temperature=temperature,
        max_tokens=1500,
        json_mode=True,
        seed=plan.seed % (2**31),
        plan=plan.to_dict(),
    )
