"""8. Reproducibility: versions, model, data hash, config, seeds, machine, git commit, and which
energy figures were measured and which estimated."""

from __future__ import annotations

import json
import platform
from collections import Counter
from typing import Any

from ... import manifest as manifest_mod
from .. import fmt
from ..blocks import Block, Code, Section, Subheading, Table, Text, not_available
from ..load import StudyArtifacts
from .context import Context

TITLE = "8. Reproducibility"


def _distinct(values: list[Any]) -> str:
    seen = [str(v) for v in dict.fromkeys(v for v in values if v is not None)]
    return ", ".join(seen) if seen else fmt.NA


def _study_table(study: StudyArtifacts) -> Table:
    cfg = study.config or {}
    run_cfgs = [r.config or {} for r in study.runs]
    ev = study.manifests.get("evaluate") or {}
    data_manifest = study.manifests.get("data") or {}
    judges = list((study.ranking or {}).get("judges") or {}) or (cfg.get("judges") or {}).get("panel", [])
    rows = [
        ("study name", cfg.get("name", fmt.NA)),
        ("base model", _distinct([(cfg.get("model") or {}).get("spec"), (study.sweep or {}).get("model"),
                                  ev.get("model"), *(c.get("model") for c in run_cfgs)])),
        ("data hash (train and val files)", _distinct([c.get("data_hash") for c in run_cfgs])),
        ("glossary hash", _distinct(list(data_manifest.get("inputs", {}).values()))),
        ("generator", _distinct([(cfg.get("data") or {}).get("backend"), data_manifest.get("backend")])),
        ("judges", _distinct(judges)),
        ("seeds: data / train / eval", " / ".join([_distinct([(cfg.get("data") or {}).get("seed")]),
                                                   _distinct([r.settings.get("seed") for r in study.runs]),
                                                   _distinct([(cfg.get("eval") or {}).get("seed")])])),
        ("bootstrap", _bootstrap(study.ranking)),
        ("training device / precision / threads", " / ".join(_distinct([c.get(k) for c in run_cfgs])
                                                             for k in ("device", "precision", "threads"))),
    ]
    return Table(("item", "value"), tuple(rows), numeric=(False, False))


def _bootstrap(ranking: dict[str, Any] | None) -> str:
    boot = (ranking or {}).get("bootstrap") or {}
    if not boot:
        return fmt.NA
    return f"{boot.get('n_resamples')} resamples over {boot.get('unit', 'prompt')}s, seed {boot.get('seed')}"


def _merge(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    """The training runs' manifests as one: each field lists its distinct values (usually one)."""
    versions = dict.fromkeys(k for m in manifests for k in (m.get("versions") or {}))
    return {
        "finished_at": max(m.get("finished_at", "") for m in manifests) or None,
        "git_commit": _distinct([m.get("git_commit") for m in manifests]),
        "machine": {"platform": _distinct([(m.get("machine") or {}).get("platform") for m in manifests])},
        "versions": {k: _distinct([(m.get("versions") or {}).get(k) for m in manifests]) for k in versions},
    }


def _stage_manifests(study: StudyArtifacts, report: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(stage, manifest) in pipeline order; the training runs merged into one row."""
    stages = [(name, m) for name, m in study.manifests.items() if name == "data"]
    runs = [r.manifest for r in study.runs if r.manifest]
    if runs:
        stages.append((f"train ({fmt.plural(len(runs), 'run')})", _merge(runs)))
    stages += [(name, m) for name, m in study.manifests.items() if name != "data"]
    return [*stages, ("report (this build)", report)]


def _short_commits(value: str | None) -> str:
    return ", ".join(c.strip()[:12] for c in value.split(",")) if value and value != fmt.NA else fmt.NA


def _stages_table(stages: list[tuple[str, dict[str, Any]]]) -> Table:
    rows = tuple((name, m.get("finished_at") or fmt.NA, _short_commits(m.get("git_commit")),
                  (m.get("machine") or {}).get("platform", fmt.NA), (m.get("versions") or {}).get("telcotune", fmt.NA))
                 for name, m in stages)
    return Table(("stage", "finished at (latest)", "git commit", "machine", "telcotune"), rows,
                 numeric=(False,) * 5)


def _versions_table(stages: list[tuple[str, dict[str, Any]]]) -> Table:
    kinds = stages
    packages = list(dict.fromkeys(k for _, m in kinds for k in (m.get("versions") or {})))
    rows = tuple((p, *((m.get("versions") or {}).get(p, fmt.NA) for _, m in kinds)) for p in packages)
    return Table(("package", *(n for n, _ in kinds)), rows, numeric=(False,) * (1 + len(kinds)))


def _energy_rows(study: StudyArtifacts) -> list[tuple[str, dict[str, Any]]]:
    rows = []
    if study.data_energy:
        rows.append(("data generation", study.data_energy))
    rows += [(f"training: {r.name}", r.energy) for r in study.runs if r.energy]
    rows += [(f"answers: {run}", e) for run, e in study.answer_energy.items()]
    rows += [(f"judging: {judge}", e) for judge, e in study.judge_energy.items()]
    return rows


def _energy_table(study: StudyArtifacts) -> list[Block]:
    head = Subheading("Energy figures: measured or estimated")
    rows = _energy_rows(study)
    if not rows:
        return [head, not_available("energy figures", "no energy.json was found")]
    table = []
    energy = fmt.energy_formatter((e.get("total") or {}).get("energy_j") for _, e in rows)
    for name, e in rows:
        phases = e.get("phases") or {}
        sources = _distinct([p.get("source") for p in phases.values()])
        table.append((name, e.get("method") or "missing", ", ".join(phases) or fmt.NA, sources,
                      energy((e.get("total") or {}).get("energy_j")), e.get("missing_reason") or ""))
    counts = Counter(e.get("method") or "missing" for _, e in rows)
    summary = ", ".join(f"{n} {m}" for m, n in sorted(counts.items()))
    text = (f"{len(rows)} energy figures: {summary}. Measured: read from a hardware counter (RAPL, NVML). "
            f"Estimated: CodeCarbon's model of power from TDP and load, used where no counter is readable "
            f"(typical on VMs). Missing: not metered, with the reason.")
    return [head, Text(text), Table(("artifact", "method", "phases", "source", "energy", "missing reason"),
                                    tuple(table), numeric=(False, False, False, False, True, False))]


def build(ctx: Context) -> Section:
    study = ctx.study
    report = {"finished_at": manifest_mod.now_iso(), "git_commit": manifest_mod.git_commit(),
              "versions": manifest_mod.package_versions(),
              "machine": {"platform": platform.platform()}}
    stages = _stage_manifests(study, report)
    blocks: list[Block] = [_study_table(study), Subheading("Stages"), _stages_table(stages),
                           Subheading("Package versions"), _versions_table(stages), *_energy_table(study),
                           Subheading("Resolved configuration")]
    if study.config is None:
        blocks.append(not_available("the resolved configuration", study.missing_reason("config")))
    else:
        blocks.append(Code(json.dumps(study.config, indent=2, ensure_ascii=False), "config.json"))
    return Section("reproducibility", TITLE, tuple(blocks))
