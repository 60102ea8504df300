"""`telcotune data`: glossary -> scenarios -> plans -> generated conversations -> validated,
de-duplicated, split by scenario -> files, with `manifest.json` written last."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from ..config import CLIENT_SETTINGS, DataConfig
from ..energy import make_meter, window
from ..energy.summary import write_energy
from ..errors import ConfigError, StageError
from ..fsio import write_json, write_jsonl
from ..llm.client import build_client
from ..llm.structured import JsonOutcome, complete_json_many
from ..manifest import hash_inputs, hash_obj, is_current, now_iso, write_manifest
from ..paths import DataPaths
from ..progress import progress_bar
from .conversation import with_system
from .dedup import deduplicate
from .glossary import Glossary, load_glossary
from .plan import ConversationPlan, plan_conversations
from .prompting import PROMPT_VERSION, generation_request
from .scenarios import build_scenarios
from .split import SPLITS, assign_splits
from .stats import build_stats
from .template import TemplateBackend  # noqa: F401  (importing it registers the `template` backend)
from .validate import validate_conversation

STAGE = "data"
CHUNK = 256
console = Console(stderr=True)


@dataclass
class Generated:
    rows: list[dict[str, Any]]
    rejects: list[dict[str, Any]]


def _check_ood_terms(glossary: Glossary, cfg: DataConfig) -> None:
    for i, name in enumerate(cfg.ood_terms):
        if glossary.term_by_name(name) is None:
            raise ConfigError(f"data.ood_terms.{i}: {name!r} is not a term of {cfg.glossary_path()}")


def data_fingerprint(cfg: DataConfig) -> str:
    """What the data stage's output depends on besides the glossary file itself."""
    return hash_obj({"data": cfg.model_dump(mode="json", exclude=set(CLIENT_SETTINGS)),
                     "prompt_version": PROMPT_VERSION})


def run_data_stage(cfg: DataConfig, out: Path, *, energy=None, progress: bool = True,
                   client=None) -> dict[str, Any]:
    """Build the data set in `out`; skipped when `out` holds a current one. Returns stats."""
    glossary = load_glossary(cfg.glossary_path())  # fails before anything is written
    _check_ood_terms(glossary, cfg)
    paths = DataPaths(Path(out))
    config_hash = data_fingerprint(cfg)
    inputs = hash_inputs([cfg.glossary_path()])
    if is_current(paths.root, STAGE, config_hash, inputs):
        console.print(f"data: {paths.root} is current, skipping")
        from ..fsio import read_json

        return read_json(paths.stats)
    client = client or build_client(cfg.backend, cfg)  # a bad spec or missing SDK fails before any write
    started_at = now_iso()
    paths.root.mkdir(parents=True, exist_ok=True)
    paths.manifest.unlink(missing_ok=True)
    scenarios = build_scenarios(glossary)
    plans = plan_conversations(scenarios, cfg.per_scenario, cfg.seed, cfg.mistake_rate, cfg.max_turns)
    meter = make_meter(energy) if energy is not None else None
    started = time.perf_counter()
    if meter is not None:
        with window(meter, "generation") as gen_window:
            generated = _generate(client, plans, progress)
        write_energy(paths.root / "energy.json", [gen_window.reading], tokens=len(generated.rows),
                     token_label="conversations")
    else:
        generated = _generate(client, plans, progress)
    generation_s = time.perf_counter() - started
    kept, dedup_counts, dup_rejects = _deduplicate(generated.rows)
    rejects = generated.rejects + dup_rejects
    assignment = assign_splits([s.id for s in scenarios], {s.id: s.term.term for s in scenarios},
                               cfg.split, cfg.seed, cfg.ood_terms)
    by_split = {name: [r for r in kept if assignment[r["scenario_id"]] == name] for name in SPLITS}
    if not cfg.ood_terms:
        by_split.pop("test_ood")
    write_jsonl(paths.scenarios, [{**s.to_row(), "split": assignment[s.id]} for s in scenarios])
    for name, rows in by_split.items():
        write_jsonl(paths.split(name), rows)
    write_jsonl(paths.rejects, rejects)
    backend = {cfg.backend: {**_client_stats(client), "duration_s": round(generation_s, 3)}}
    stats = build_stats(by_split, rejects, dedup_counts, len(scenarios), backend, len(plans))
    write_json(paths.stats, stats)
    if not kept:
        raise StageError(f"data: no generated conversation passed validation; see {paths.rejects}")
    write_manifest(paths.root, STAGE, config_hash, inputs, started_at,
                   outputs=[p.name for p in paths.root.iterdir() if p.is_file()],
                   extra={"backend": cfg.backend, "prompt_version": PROMPT_VERSION})
    return stats


def _client_stats(client) -> dict[str, Any]:
    return client.stats() if hasattr(client, "stats") else {}


def _generate(client, plans: list[ConversationPlan], progress: bool) -> Generated:
    rows, rejects = [], []
    with progress_bar("generating conversations", total=len(plans), enabled=progress) as advance:
        for start in range(0, len(plans), CHUNK):
            chunk = plans[start:start + CHUNK]
            requests = [generation_request(p) for p in chunk]
            validators = [_validator(p) for p in chunk]
            outcomes = complete_json_many(client, requests, validate=validators, max_attempts=3)
            for plan, outcome in zip(chunk, outcomes):
                if outcome.ok:
                    rows.append(_row(plan, outcome.value))
                else:
                    rejects.append(_reject(plan, outcome))
            advance(len(chunk))
    return Generated(rows, rejects)


def _validator(plan: ConversationPlan):
    names = plan.scenario.term.names()
    return lambda value: validate_conversation(value, names)


def _row(plan: ConversationPlan, turns: list[dict[str, str]]) -> dict[str, Any]:
    sc = plan.scenario
    return {
        "id": plan.id, "scenario_id": sc.id, "term": sc.term.term, "cause": sc.cause.id,
        "context": sc.context.id, "persona": plan.persona, "customer_turns": len(turns) // 2,
        "misconception": None if plan.misconception is None else plan.misconception.kind,
        "messages": with_system(turns),
    }


def _reject(plan: ConversationPlan, outcome: JsonOutcome) -> dict[str, Any]:
    reason = outcome.reason or "unknown"
    code = reason.split(":")[1].strip() if reason.startswith("schema:") and reason.count(":") >= 2 else reason.split(":")[0]
    return {"id": plan.id, "scenario_id": plan.scenario.id, "reason": code, "detail": reason,
            "attempts": outcome.attempts, "raw": outcome.raw[:4000]}


def _deduplicate(rows: list[dict[str, Any]]) -> tuple[list[dict], dict[str, int], list[dict]]:
    texts = ["\n".join(m["content"] for m in r["messages"][1:]) for r in rows]
    result = deduplicate(texts)
    rejects = [{"id": rows[i]["id"], "scenario_id": rows[i]["scenario_id"], "reason": reason,
                "detail": reason, "attempts": 1, "raw": ""}
               for reason, idx in (("duplicate_exact", result.exact), ("duplicate_near", result.near))
               for i in idx]
    return [rows[i] for i in result.keep], {"exact": len(result.exact), "near": len(result.near)}, rejects
