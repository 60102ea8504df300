"""Judge specs -> judges: `rubric` (offline, reference-guided), `semantic` (offline, sentence
embeddings) or an LLM through the shared client (`local:`, `openai:`, `anthropic:`, `gemini:`)."""

from __future__ import annotations

from ..config import JudgesConfig
from ..llm.client import build_client
from .base import Judge, Judgment, PairItem, PointwiseItem, winner_of
from .llm_judge import LLMJudge
from .semantic import SEMANTIC, SemanticJudge

RUBRIC = "rubric"
RUBRIC_VERSION = "rubric-v2"
"""v2: scores against the glossary entry and the conversation only (no generator guidance)."""


class RubricPanelJudge:
    """The deterministic rubric behind the `Judge` interface. Pairwise verdicts come from the
    two answers' rubric scores, so its position bias is zero by construction."""

    name = RUBRIC

    def __init__(self, term_groups: list[list[str]]):
        from .rubric import RubricJudge

        self.rubric = RubricJudge(term_groups)

    def pointwise(self, items: list[PointwiseItem]) -> list[Judgment]:
        out = []
        for item in items:
            score = self.rubric.score(item.answer, item.context.scenario or {}, _conversation(item))
            out.append(Judgment(judge=self.name, protocol="pointwise", prompt_id=item.context.prompt_id,
                                runs=[item.run], status="ok", scores=dict(score.criteria),
                                overall=score.overall, rationale=score.rationale, prompt_version=RUBRIC_VERSION,
                                method="rule"))
        return out

    def pairwise(self, items: list[PairItem]) -> list[Judgment]:
        out = []
        for item in items:
            result = self.rubric.compare(item.answer_a, item.answer_b, item.context.scenario or {},
                                         _conversation(item))
            verdict = result.verdict
            out.append(Judgment(judge=self.name, protocol="pairwise", prompt_id=item.context.prompt_id,
                                runs=[item.run_a, item.run_b], order=item.order, status="ok", verdict=verdict,
                                winner=winner_of(verdict, item.run_a, item.run_b),
                                rationale=f"rubric overall {result.a.overall:.2f} vs {result.b.overall:.2f}",
                                prompt_version=RUBRIC_VERSION, method="rule"))
        return out


def _conversation(item) -> dict:
    return {"messages": item.context.messages, "misconception": item.context.misconception}


def make_judge(spec: str, cfg: JudgesConfig, term_groups: list[list[str]], *,
               trust_remote_code: bool = False, use_cache: bool = True) -> Judge:
    """`term_groups`: every glossary term with its expansion and aliases (the rubric counts
    telecom terms an answer brings in from outside its scenario). `trust_remote_code`: the
    study's `model.trust_remote_code`, for a `local:` judge's model. `use_cache`: an LLM
    judge's replies go to the on-disk cache (not for remote judges of imported data)."""
    if spec == RUBRIC:
        return RubricPanelJudge(term_groups)
    if spec == SEMANTIC:
        return SemanticJudge()
    client = build_client(spec, cfg, trust_remote_code=trust_remote_code, use_cache=use_cache)
    return LLMJudge(spec, client)
