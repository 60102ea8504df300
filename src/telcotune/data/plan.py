"""Conversation plans: what each synthetic conversation of a scenario should contain.

A plan fixes the persona, the number of customer turns and whether the customer holds a
misconception, so every backend (template or LLM) writes the same intended variety, and a
seed reproduces it exactly.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any

from .scenarios import Scenario

PERSONAS: dict[str, str] = {
    "novice": "new to technology; uses everyday words, unsure of technical terms",
    "expert": "technically confident; uses precise terms and wants specifics",
    "elderly": "an older customer; polite, careful, needs clear step-by-step help",
    "frustrated": "annoyed after earlier failed attempts; short and impatient",
    "small-business": "runs a small business; worried about downtime and staff",
    "busy-parent": "in a hurry, juggling family devices; wants the quickest fix",
}
TURN_WEIGHTS = {1: 0.25, 2: 0.35, 3: 0.25, 4: 0.15}
MISCONCEPTION_KINDS = ("confuses-related", "wrong-fix", "wrong-blame", "wrong-meaning")


@dataclass(frozen=True)
class Misconception:
    kind: str
    belief: str
    """The wrong belief, in the third person (for LLM prompts)."""
    other: str
    """The related term, cause or device the belief is about."""


@dataclass(frozen=True)
class ConversationPlan:
    id: str
    scenario: Scenario
    persona: str
    customer_turns: int
    misconception: Misconception | None
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "scenario": self.scenario.to_row(),
            "persona": self.persona,
            "persona_description": PERSONAS[self.persona],
            "customer_turns": self.customer_turns,
            "misconception": None if self.misconception is None else vars(self.misconception),
            "seed": self.seed,
        }


def stable_seed(*parts: object) -> int:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _misconception(scenario: Scenario, rng: random.Random, other_causes: list[str]) -> Misconception:
    term = scenario.term
    kind = rng.choice(MISCONCEPTION_KINDS if term.related else MISCONCEPTION_KINDS[1:])
    if kind == "confuses-related":
        other = rng.choice(term.related)
        return Misconception(kind, f"thinks {term.term} is the same thing as {other}", other)
    if kind == "wrong-fix":
        other = rng.choice(["a new phone", "a new router", "a new SIM card", "a new contract"])
        return Misconception(kind, f"believes the only fix is to get {other}", other)
    if kind == "wrong-blame":
        other = rng.choice(other_causes)
        return Misconception(kind, f"is sure the problem is caused by: {other}", other)
    return Misconception(kind, f"misunderstands what {term.term} means or does", term.term)


def plan_conversations(
    scenarios: list[Scenario], per_scenario: int, seed: int, mistake_rate: float, max_turns: int,
) -> list[ConversationPlan]:
    turn_options = [t for t in TURN_WEIGHTS if t <= max_turns]
    weights = [TURN_WEIGHTS[t] for t in turn_options]
    plans = []
    for scenario in scenarios:
        other_causes = [text for cause, text in _BLAMES.items() if cause != scenario.cause.id]
        for k in range(per_scenario):
            conv_seed = stable_seed(seed, scenario.id, k)
            rng = random.Random(conv_seed)
            persona = rng.choice(list(PERSONAS))
            turns = rng.choices(turn_options, weights)[0]
            mistaken = rng.random() < mistake_rate
            plans.append(ConversationPlan(
                id=f"{scenario.id}--{k:03d}",
                scenario=scenario,
                persona=persona,
                customer_turns=turns,
                misconception=_misconception(scenario, rng, other_causes) if mistaken else None,
                seed=conv_seed,
            ))
    return plans


# What a customer may wrongly blame, keyed by the cause it would be (never the true one).
_BLAMES = {
    "network-outage": "a fault on the operator's network",
    "hardware-fault": "a broken device",
    "account-billing": "a problem with the account",
    "software-bug": "a recent software update",
    "congestion": "too many people using the network",
}
