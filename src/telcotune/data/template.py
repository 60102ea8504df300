"""The offline `template` backend: writes grounded support conversations from the glossary
fields of a conversation plan, deterministically for the plan's seed.

It answers the same request as an LLM backend (a `PlannedRequest`, reading its plan instead of
the prompt) and returns the same JSON reply, so both go through one validation path. Importing
this module registers it with the LLM backend factory as the spec `template`.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any

from ..llm.base import ChatRequest, Completion, LLMError, PermanentLLMError, Usage
from ..llm.spec import register_backend
from .guidance import CAUSE_NOTES, CAUSE_STEPS, CONTEXT_NOTES, CONTEXT_STEPS
from .phrasing import capitalize, clause, sentence, term_in_sentence, to_me, to_you
from .prompting import PlannedRequest

CONTEXT_PHRASES = {
    "home": ["I'm at home", "this is at my house", "I'm at home right now", "here at my flat"],
    "travel-roaming": ["I'm travelling at the moment", "I'm abroad on holiday",
                       "I'm away from home on a work trip", "I'm on a trip in another country"],
    "business": ["this is for our office", "I'm calling about my business line",
                 "we use this at work", "this is at our shop"],
}
OPENINGS = {
    "novice": ["Hi, I'm not very good with technology, sorry.", "Hello, I hope this is the right place to ask.",
               "Hi there, I don't really understand phones and internet stuff."],
    "expert": ["Hi.", "Hello, quick technical one.", "Hi, I've done the basic checks already."],
    "elderly": ["Good afternoon.", "Hello dear, I hope you can help me.", "Good morning, my grandson usually helps me with this."],
    "frustrated": ["This is the third time I'm contacting you about this.", "Honestly, I'm fed up.",
                   "I've had enough of this problem."],
    "small-business": ["Hi, I run a small business.", "Hello, I own a small shop.", "Hi, we're a team of five in a small office."],
    "busy-parent": ["Quick question, I'm in a rush.", "Hi, I've only got a minute.", "Hello, the kids need this working today."],
}
ASKS = {
    "novice": ["Can you help me fix it?", "What should I do?", "Is this something I can fix myself?"],
    "expert": ["Could the {term} be the issue?", "I suspect something around {term}. Thoughts?",
               "What would you check next on the {term} side?"],
    "elderly": ["Could you please explain what I should do?", "Please tell me slowly what to do.",
                "I would be grateful for your help."],
    "frustrated": ["Just tell me how to fix it.", "I need this sorted today.", "Can you actually fix this?"],
    "small-business": ["It's costing us customers. What can we do?", "My staff can't work like this. How do we fix it?",
                       "We need this fixed quickly."],
    "busy-parent": ["What's the fastest fix?", "What do I need to do?", "Can we fix this quickly?"],
}
ACKS = {
    "novice": ["No need to apologise, I'm happy to help.", "You're in the right place, and we'll go through it together.",
               "Don't worry, this is a common problem and I'll keep it simple."],
    "expert": ["Thanks for the detail, that helps narrow it down.", "Good that you've done the basics already.",
               "Thanks, let's go straight to the useful checks."],
    "elderly": ["Of course, I'll take you through this one step at a time.", "I'm glad to help, and there's no rush.",
                "Certainly, we'll go through it together slowly."],
    "frustrated": ["I'm sorry this has dragged on, and thank you for your patience.",
                   "I understand, and I'm sorry you've had to contact us again.",
                   "I'm sorry about the trouble. Let's get this resolved properly this time."],
    "small-business": ["I understand how much this matters for your business.",
                       "I know downtime costs you, so let's be quick and thorough.",
                       "Thanks for reaching out; let's get your business back up and running."],
    "busy-parent": ["Let's get this fixed quickly.", "I'll keep this short.", "Sure, here's the quickest route."],
}
EXPLAIN = ["{Name} is {definition}", "Just so we're on the same page: {name} is {definition}",
           "Some background: {name} is {definition}", "To explain briefly, {name} is {definition}"]
CAUSE = ["From what you describe, the most likely cause is this: {cause}",
         "This usually happens when {cause_clause}.", "My first suspicion is that {cause_clause}."]
STEP_INTRO = ["Please try these steps:", "Here's what to do:", "Let's try the following:",
              "Could you go through these steps:"]
STEP_INTRO_NEXT = ["Next, please try:", "Let's move on to the next checks:", "Then please try this:",
                   "The next steps are:"]
LET_ME_KNOW = ["Let me know how it goes.", "Tell me what happens after that.", "Let me know if that helps.",
               "Please tell me the result."]
STILL_BROKEN = ["I did that, but it still isn't working.", "Done. No change, unfortunately.",
                "I tried all of that and it's the same.", "That didn't help.", "Still the same problem, I'm afraid."]
PARTIAL = ["That helped a bit, but now {symptom}.", "Something changed, but {symptom}."]
QUESTIONS = ["Sorry, what exactly is {term} again?", "Where do I find that setting?",
             "How long will this take?", "Will I lose anything by doing this?"]
FIXED = ["That fixed it, thank you!", "It works now. Thanks a lot.", "Brilliant, everything is working again.",
         "Yes, that sorted it. Thank you."]
CLOSINGS = ["Glad it's working again.", "Great news, I'm glad that's sorted.", "Perfect, happy to hear it."]
ESCALATE = ["If {condition}, I'll escalate this to our technical team so a specialist can take over.",
            "Should it turn out that {condition}, the next step is for me to pass this to a specialist team.",
            "If {condition}, we'll need to escalate it to our technicians, and I can arrange that for you."]
ANSWERS = {
    "Where do I find that setting?": "It's usually in your device's Settings app; the exact menu names vary "
                                     "by model, and the path in the step is the common one.",
    "How long will this take?": "Most of these checks take only a few minutes.",
    "Will I lose anything by doing this?": "No, these steps don't delete your personal data, though a "
                                           "network reset may forget saved Wi-Fi passwords.",
}
# (the customer's words, the assistant's words)
WRONG_MEANINGS = [("an app I have to install", "an app you have to install"),
                  ("something only business customers pay for", "something only business customers pay for"),
                  ("a setting only the operator can change", "a setting only the operator can change")]


LEAD_VERBS = {
    "Check that": ["Make sure that", "Check that", "Confirm that"],
    "Check the": ["Check the", "Have a look at the", "Look at the"],
    "Check whether": ["Check whether", "See whether", "Find out whether"],
    "Restart": ["Restart", "Reboot"],
    "Turn": ["Turn", "Switch"],
}
CONNECTORS = ["First, {s}", "Then {s}", "Next, {s}", "After that, {s}", "Finally, {s}"]


def vary_step(step: str, rng: random.Random) -> str:
    for lead, options in LEAD_VERBS.items():
        if step.startswith(lead + " "):
            return rng.choice(options) + step[len(lead):]
    return step


def as_prose(steps: list[str], rng: random.Random) -> str:
    """Steps as connected sentences: 'First, ... Then ... Finally, ...'."""
    out = []
    for i, step in enumerate(steps):
        if len(steps) == 1:
            out.append(sentence(rng.choice(["Please ", "Could you "]) .strip() + " " + clause(step)))
            continue
        slot = 0 if i == 0 else 4 if i == len(steps) - 1 else rng.choice([1, 2, 3])
        out.append(sentence(CONNECTORS[slot].format(s=clause(step))))
    return " ".join(out)


class TemplateWriter:
    """Writes one conversation from a plan dict (see `ConversationPlan.to_dict`)."""

    def __init__(self, plan: dict[str, Any]):
        self.plan = plan
        self.sc = plan["scenario"]
        self.persona = plan["persona"]
        self.rng = random.Random(plan["seed"])
        self.name = self.sc["term"]
        self.name_mid = term_in_sentence(self.name)

    def pick(self, options: list[str]) -> str:
        return self.rng.choice(options)

    def conversation(self) -> list[dict[str, str]]:
        steps = self._chunk_steps(self.plan["customer_turns"])
        turns = [{"role": "user", "content": self._opening()},
                 {"role": "assistant", "content": self._first_answer(steps[0], last=len(steps) == 1)}]
        for i in range(1, len(steps)):
            last = i == len(steps) - 1
            user, answer = self._follow_up(steps[i], last)
            turns += [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
        return turns

    # ------------------------------------------------------------------ customer turns

    def _context(self) -> str:
        phrases = CONTEXT_PHRASES.get(self.sc["context"])
        return capitalize(self.pick(phrases)) + "." if phrases else sentence(to_me(self.sc["context_description"]))

    def _opening(self) -> str:
        symptom = sentence(self.pick(self.sc["symptoms"]))
        ask = self.pick(ASKS[self.persona]).format(term=self.name)
        parts = [self.pick(OPENINGS[self.persona]), symptom, self._context()]
        if self.persona == "expert" or self.rng.random() < 0.4:
            parts.append(ask)
        if self.plan.get("misconception"):
            parts.insert(self.rng.choice([2, len(parts)]), self._mistaken_claim())
        if self.persona != "expert" and ask not in parts:
            parts.append(ask)
        return " ".join(parts)

    def _mistaken_claim(self) -> str:
        m = self.plan["misconception"]
        name, other = self.name_mid, term_in_sentence(m["other"])
        if m["kind"] == "confuses-related":
            return self.pick([f"Isn't {name} just the same thing as {other}?",
                              f"I assumed {name} and {other} were the same thing."])
        if m["kind"] == "wrong-fix":
            return self.pick([f"I think I'll just need {other}, right?", f"Surely the only fix is {other}."])
        if m["kind"] == "wrong-blame":
            return self.pick([f"I'm sure this is down to {other}.", f"It must be {other}."])
        self.wrong_meaning = self.pick(WRONG_MEANINGS)
        return f"I thought {name} was {self.wrong_meaning[0]}."

    def _follow_up(self, steps: list[str], last: bool) -> tuple[str, str]:
        roll = self.rng.random()
        if last and roll < 0.4:
            return self.pick(FIXED), self._closing()
        if roll < 0.3:
            question = self.pick(QUESTIONS).format(term=self.name)
            return question, self._answer_question(question, steps, last)
        if roll < 0.45 and len(self.sc["symptoms"]) > 1:
            user = self.pick(PARTIAL).format(symptom=clause(self.pick(self.sc["symptoms"])))
        else:
            user = self.pick(STILL_BROKEN)
        return user, self._next_steps(steps, last, thanks=True)

    # ------------------------------------------------------------------ assistant turns

    def _definition_sentence(self) -> str:
        expansion = self.sc.get("expansion")
        name = term_in_sentence(self.name)
        if expansion and self.rng.random() < 0.6:
            name = f"{name} ({expansion})"
        return sentence(self.pick(EXPLAIN).format(
            name=name, Name=capitalize(name), definition=clause(self.sc["definition"])))

    def _cause_sentence(self) -> str:
        cause = to_you(self.sc["cause_description"])
        return self.pick(CAUSE).format(cause=sentence(cause), cause_clause=clause(cause))

    def _correction(self) -> str:
        m = self.plan.get("misconception")
        if not m:
            return ""
        if m["kind"] == "confuses-related":
            return (f"One thing to clear up first: {self.name_mid} and {term_in_sentence(m['other'])} "
                    f"are related, but they "
                    f"are not the same. {self._definition_sentence()}")
        if m["kind"] == "wrong-fix":
            return (f"There's no need to get {m['other']} yet: this kind of problem is usually fixed "
                    "without replacing anything, and we'll only look at that if the checks below don't help.")
        if m["kind"] == "wrong-blame":
            return (f"I understand why it looks like {m['other']}, but what you describe points "
                    f"somewhere else. {self._cause_sentence()}")
        wrong = getattr(self, "wrong_meaning", ("", "something else"))[1]
        return f"That's a common mix-up: {self.name_mid} isn't {wrong}. {self._definition_sentence()}"

    def _steps_text(self, steps: list[str], intro: list[str]) -> str:
        steps = [vary_step(to_you(s), self.rng) for s in steps]
        if self.rng.random() < 0.6:
            return self.pick(intro) + "\n" + "\n".join(f"{i}. {sentence(s)}" for i, s in enumerate(steps, 1))
        return as_prose(steps, self.rng)

    def _escalation(self) -> str:
        return self.pick(ESCALATE).format(condition=clause(to_you(self.sc["escalate_when"])))

    def _first_answer(self, steps: list[str], last: bool) -> str:
        parts = [self.pick(ACKS[self.persona])]
        correction = self._correction()
        kind = (self.plan.get("misconception") or {}).get("kind")
        if correction:
            parts.append(correction)
        if kind not in ("confuses-related", "wrong-meaning"):  # those corrections define the term
            parts.append(self._definition_sentence())
        if kind != "wrong-blame":  # that correction states the likely cause
            parts.append(self._cause_sentence())
        parts.extend(self._guidance())
        parts.append(self._steps_text(steps, STEP_INTRO))
        parts.append(self._escalation() if last else self.pick(LET_ME_KNOW))
        return "\n\n".join(p for p in parts if p)

    def _guidance(self) -> list[str]:
        notes = []
        if self.sc["cause"] in CAUSE_NOTES:
            notes.append(self.pick(CAUSE_NOTES[self.sc["cause"]]))
        if self.sc["context"] in CONTEXT_NOTES:
            notes.append(self.pick(CONTEXT_NOTES[self.sc["context"]]))
        if len(notes) == 2 and self.rng.random() < 0.5:
            notes = [" ".join(notes)]
        return notes

    def _next_steps(self, steps: list[str], last: bool, thanks: bool) -> str:
        parts = ["Thanks for trying that." if thanks else ""]
        parts.append(self._steps_text(steps, STEP_INTRO_NEXT))
        parts.append(self._escalation() if last else self.pick(LET_ME_KNOW))
        return "\n\n".join(p for p in parts if p)

    def _answer_question(self, question: str, steps: list[str], last: bool) -> str:
        if question.startswith("Sorry, what exactly"):
            answer = f"No problem. {self._definition_sentence()}"
        else:
            answer = ANSWERS[question]
        return answer + "\n\n" + self._next_steps(steps, last, thanks=False)

    def _closing(self) -> str:
        tip = (f"For future reference, if {clause(to_you(self.sc['escalate_when']))}, contact us "
               f"and we'll bring in a specialist.")
        return f"{self.pick(CLOSINGS)} {tip}"

    # ------------------------------------------------------------------ helpers

    def _chunk_steps(self, customer_turns: int) -> list[list[str]]:
        """Spread the resolution steps, in order, over the assistant turns (at least one each;
        a conversation with more turns than steps has fewer turns)."""
        steps = list(self.sc["resolution_steps"])
        if self.sc["cause"] in CAUSE_STEPS:  # the cause's own check goes first: it is the diagnosis
            steps.insert(0, CAUSE_STEPS[self.sc["cause"]])
        if self.sc["context"] in CONTEXT_STEPS:
            steps.insert(self.rng.choice([1, len(steps)]), CONTEXT_STEPS[self.sc["context"]])
        n = max(1, min(customer_turns, len(steps)))
        size, extra = divmod(len(steps), n)
        chunks, start = [], 0
        for i in range(n):
            end = start + size + (1 if i < extra else 0)
            chunks.append(steps[start:end])
            start = end
        return chunks



class TemplateBackend:
    """Offline, deterministic conversation writer behind the `LLMClient` interface."""

    backend = "template"
    model = "template-v1"

    def complete(self, request: ChatRequest) -> Completion:
        started = time.perf_counter()
        if not isinstance(request, PlannedRequest):
            raise PermanentLLMError("the template backend writes from a conversation plan; "
                                    "it answers the data stage's generation requests only")
        text = json.dumps({"messages": TemplateWriter(request.plan).conversation()}, ensure_ascii=False)
        usage = Usage(prompt_tokens=0, completion_tokens=len(text.split()), cost_usd=0.0)
        return Completion(text=text, usage=usage, backend=self.backend, model=self.model,
                          latency_s=time.perf_counter() - started)

    def complete_many(self, requests: list[ChatRequest]) -> list[Completion | LLMError]:
        out: list[Completion | LLMError] = []
        for request in requests:
            try:
                out.append(self.complete(request))
            except LLMError as exc:
                out.append(exc)
        return out


register_backend("template", TemplateBackend)
