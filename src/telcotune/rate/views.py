"""What the rating page receives: the conversation, the answers in presentation order, the
rater's progress, and the item's opaque key. Blindness is kept here: no run name, prompt id,
judge or score of a judge is ever put into a view."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .pool import Protocol
from .records import CRITERION_HELP, SCORE_FIELDS, StoredRating
from .store import Item, Progress, Rater
from .study import AnswerBook

ROLE_NAMES = {"user": "customer", "assistant": "assistant"}


@dataclass(frozen=True)
class ItemView:
    key: str
    conversation: tuple[dict[str, str], ...]
    """{"role": "customer" | "assistant", "text"}; the system prompt is left out."""
    answers: tuple[str, ...]
    """A then B (pairwise), or the one answer (pointwise)."""

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "conversation": list(self.conversation), "answers": list(self.answers)}


def item_view(item: Item, book: AnswerBook) -> ItemView:
    answers = [book.get(item.prompt_id, run) for run in item.runs]
    messages = answers[0].messages
    conversation = tuple({"role": ROLE_NAMES[m["role"]], "text": m["content"]} for m in messages
                         if m["role"] in ROLE_NAMES)
    return ItemView(item.key, conversation, tuple(a.text for a in answers))


def undone_view(rating: StoredRating) -> dict[str, Any]:
    """The rater's own answer that was undone, so the page can show it again."""
    return {"verdict": rating.verdict, "scores": dict(rating.scores), "comment": rating.comment}


def session_view(rater: Rater, protocol: Protocol, progress: Progress, item: Item | None, book: AnswerBook,
                 undone: StoredRating | None = None) -> dict[str, Any]:
    return {
        "rater": rater.name,
        "protocol": protocol,
        "progress": {"done": progress.done, "total": progress.total},
        "item": None if item is None else item_view(item, book).to_dict(),
        "finished": item is None,
        "criteria": [{"name": n, "help": CRITERION_HELP[n]} for n in SCORE_FIELDS] if protocol == "pointwise" else [],
        "undone": None if undone is None else undone_view(undone),
    }
