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
from ..artifacts.data import ConversationRow, DataStats
from ..artifacts.io import read_record, write_record, write_rows
from ..energy.summary import data_energy
from ..errors import ConfigError, GlossaryError, StageError
from ..fsio import write_jsonl
from ..llm.client import build_client
from ..llm.structured import JsonOutcome, complete_json_many
from ..manifest import StageRun, hash_inputs, hash_obj
from ..paths import MANIFEST, DataPaths
from ..progress import progress_bar
from .card import write_interop_files
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
    # `source` (an import's options) is not the generator's business: a mix generates the same data.
    return hash_obj({"data": cfg.model_dump(mode="json", exclude=set(CLIENT_SETTINGS) | {"source"}),
                     "prompt_version": PROMPT_VERSION})


def run_data_stage(cfg: DataConfig, out: Path, *, energy=None, progress: bool = True,
                   client=None, trust_remote_code: bool = False) -> DataStats:
    """Build the data set in `out`; skipped when `out` holds a current one. Returns its stats.
    `trust_remote_code`: the study's `model.trust_remote_code`, for a `local:` generator."""
    glossary = load_glossary(cfg.glossary_path())  # fails before anything is written
    _check_ood_terms(glossary, cfg)
    paths = DataPaths(Path(out))
    stage = StageRun(paths.root, STAGE, data_fingerprint(cfg), hash_inputs([cfg.glossary_path()], base=paths.root))
    if stage.current:
        console.print(f"data: {paths.root} is current, skipping")
        return read_record(paths.stats, DataStats)
    # A bad spec or a missing SDK fails here, before anything is written.
    client = client or build_client(cfg.backend, cfg, trust_remote_code=trust_remote_code)
    scenarios = build_scenarios(glossary)
    if not scenarios:
        raise GlossaryError(f"{cfg.glossary_path()}: no scenarios left after exclusions (every term x cause x "
                            f"context cell is excluded); nothing was written")
    plans = plan_conversations(scenarios, cfg.per_scenario, cfg.seed, cfg.mistake_rate, cfg.max_turns)
    meter = make_meter(energy) if energy is not None else None
    with stage:
        started = time.perf_counter()
        if meter is not None:
            with window(meter, "generation") as gen_window:
                generated = _generate(client, plans, progress)
            write_record(paths.energy, data_energy([gen_window.reading], conversations=len(generated.rows)))
        else:
            generated = _generate(client, plans, progress)
        generation_s = time.perf_counter() - started
        kept, dedup_counts, dup_rejects = _deduplicate(generated.rows)
        rejects = generated.rejects + dup_rejects
        assignment = assign_splits([s.id for s in scenarios], {s.id: s.term.term for s in scenarios},
                                   cfg.split, cfg.seed, cfg.ood_terms)
        by_split = {name: [r for r in kept if assignment[r.scenario_id] == name] for name in SPLITS}
        if not cfg.ood_terms:
            by_split.pop("test_ood")
        write_jsonl(paths.scenarios, [{**s.to_row(), "split": assignment[s.id]} for s in scenarios])
        for name, rows in by_split.items():
            write_rows(paths.split(name), rows)
        write_jsonl(paths.rejects, rejects)
        backend = {cfg.backend: {**_client_stats(client), "duration_s": round(generation_s, 3)}}
        stats = build_stats(by_split, rejects, dedup_counts, len(scenarios), backend, len(plans))
        write_record(paths.stats, stats)
        if not kept:
            raise StageError(f"data: no generated conversation passed validation; see {paths.rejects}")
        write_interop_files(paths)
        stage.complete([p.name for p in paths.root.iterdir() if p.is_file() and p.name != MANIFEST],
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


def _row(plan: ConversationPlan, turns: list[dict[str, str]]) -> ConversationRow:
    sc = plan.scenario
    return ConversationRow(
        id=plan.id, scenario_id=sc.id, term=sc.term.term, cause=sc.cause.id, context=sc.context.id,
        persona=plan.persona, customer_turns=len(turns) // 2,
        misconception=None if plan.misconception is None else plan.misconception.kind,
        messages=with_system(turns))


def _reject(plan: ConversationPlan, outcome: JsonOutcome) -> dict[str, Any]:
    reason = outcome.reason or "unknown"
    code = reason.split(":")[1].strip() if reason.startswith("schema:") and reason.count(":") >= 2 else reason.split(":")[0]
    return {"id": plan.id, "scenario_id": plan.scenario.id, "reason": code, "detail": reason,
            "attempts": outcome.attempts, "raw": outcome.raw[:4000]}


def _deduplicate(rows: list[ConversationRow]) -> tuple[list[ConversationRow], dict[str, int], list[dict]]:
    texts = ["\n".join(m.content for m in r.messages[1:]) for r in rows]
    result = deduplicate(texts)
    rejects = [{"id": rows[i].id, "scenario_id": rows[i].scenario_id, "reason": reason,
                "detail": reason, "attempts": 1, "raw": ""}
               for reason, idx in (("duplicate_exact", result.exact), ("duplicate_near", result.near))
               for i in idx]
    return [rows[i] for i in result.keep], {"exact": len(result.exact), "near": len(result.near)}, rejects
