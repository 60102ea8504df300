"""Building stats.json (`artifacts.data.DataStats`): what the data set contains, and what it cost."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np

from ..artifacts.data import ConversationRow, DataStats

_TOKEN = re.compile(r"\w+|[^\w\s]")


def approx_tokens(text: str) -> int:
    """Words and punctuation marks: a model-independent length (subword tokenizers give ~1.2x)."""
    return len(_TOKEN.findall(text))


def _distribution(values: list[int]) -> dict[str, Any]:
    if not values:
        return {"count": 0}
    arr = np.asarray(values)
    hist, edges = np.histogram(arr, bins=min(20, max(1, len(set(values)))))
    return {
        "count": int(arr.size), "mean": float(arr.mean()), "min": int(arr.min()), "max": int(arr.max()),
        "p50": float(np.percentile(arr, 50)), "p90": float(np.percentile(arr, 90)),
        "histogram": {"counts": hist.tolist(), "edges": edges.tolist()},
    }


def build_stats(rows_by_split: dict[str, list[ConversationRow]], rejects: list[dict], dedup: dict[str, int],
                n_scenarios: int, backend_stats: dict[str, Any], planned: int) -> DataStats:
    rows = [r for split_rows in rows_by_split.values() for r in split_rows]
    customer_turns = [sum(m.role == "user" for m in r.messages) for r in rows]
    lengths = [approx_tokens(" ".join(m.content for m in r.messages[1:])) for r in rows]
    return DataStats.model_validate({
        "scenarios": n_scenarios,
        "planned": planned,
        "conversations": len(rows),
        "splits": {name: len(split_rows) for name, split_rows in rows_by_split.items()},
        "rejects": {"total": len(rejects), "by_reason": dict(Counter(r["reason"] for r in rejects))},
        "duplicates_removed": dedup,
        "per_term": dict(Counter(r.term for r in rows if r.term)),
        "per_cause": dict(Counter(r.cause for r in rows if r.cause)),
        "per_context": dict(Counter(r.context for r in rows if r.context)),
        "per_cell": dict(Counter(f"{r.term}|{r.cause}" for r in rows if r.term and r.cause)),
        "per_persona": dict(Counter(r.persona for r in rows if r.persona)),
        "with_misconception": sum(1 for r in rows if r.misconception),
        "customer_turns": dict(sorted(Counter(customer_turns).items())),
        "length_approx_tokens": _distribution(lengths),
        "backend": backend_stats,
    })
