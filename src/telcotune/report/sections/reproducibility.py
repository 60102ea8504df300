"""Reproducibility: versions, model, data hash, config, seeds, machine, git commit, and which
energy figures were measured and which estimated."""

from __future__ import annotations

import platform
from collections import Counter
from dataclasses import dataclass
from typing import Any

from ... import fmt
from ... import manifest as manifest_mod
from ...artifacts.energy import EnergyFile
from ...artifacts.io import to_json
from ...artifacts.manifest import StageManifest
from ...artifacts.ranking import Ranking
from ..blocks import Block, Code, Section, Subheading, Table, Text, not_available
from ..load import StudyArtifacts
from .context import Context

TITLE = "Reproducibility"


def _distinct(values: list[Any]) -> str:
    seen = [str(v) for v in dict.fromkeys(v for v in values if v is not None)]
    return ", ".join(seen) if seen else fmt.NA


@dataclass(frozen=True)
class StageFacts:
    """One row of the stages table: a stage manifest, the training runs' merged, or this build."""

    finished_at: str | None
    git_commit: str | None
    platform: str | None
    versions: dict[str, str]

    @classmethod
    def of(cls, m: StageManifest) -> "StageFacts":
        return cls(m.finished_at, m.git_commit, m.machine.get("platform"), dict(m.versions))


def _study_table(study: StudyArtifacts) -> Table:
    cfg = study.config
    run_cfgs = [r.config for r in study.runs]
    ev = study.manifests.get("evaluate")
    data_manifest = study.manifests.get("data")
    judges = list(study.ranking.judges) if study.ranking else (cfg.judges.panel if cfg else [])
    rows = [
        ("study name", cfg.name if cfg else fmt.NA),
        ("base model", _distinct([cfg.model.spec if cfg else None, study.sweep.model if study.sweep else None,
                                  ev.extra("model") if ev else None, *(c.model for c in run_cfgs)])),
        ("data hash (train and val files)", _distinct([c.data_hash for c in run_cfgs])),
        ("glossary hash", _distinct(list(data_manifest.inputs.values()) if data_manifest else [])),
        ("generator", _distinct([cfg.data.backend if cfg else None,
                                 data_manifest.extra("backend") if data_manifest else None])),
        ("judges", _distinct(judges)),
        ("seeds: data / train / eval", " / ".join([_distinct([cfg.data.seed if cfg else None]),
                                                   _distinct([r.settings.seed for r in study.runs]),
                                                   _distinct([cfg.eval.seed if cfg else None])])),
        ("bootstrap", _bootstrap(study.ranking)),
        ("training device / precision / threads", " / ".join(_distinct([getattr(c, k) for c in run_cfgs])
                                                             for k in ("device", "precision", "threads"))),
    ]
    return Table(("item", "value"), tuple(rows), numeric=(False, False))


def _bootstrap(ranking: Ranking | None) -> str:
    if ranking is None:
        return fmt.NA
    boot = ranking.bootstrap
    return f"{boot.n_resamples} resamples over {boot.unit}s, seed {boot.seed}"


def _merge(manifests: list[StageManifest]) -> StageFacts:
    """The training runs' manifests as one: each field lists its distinct values (usually one)."""
    versions = dict.fromkeys(k for m in manifests for k in m.versions)
    return StageFacts(
        finished_at=max(m.finished_at for m in manifests) or None,
        git_commit=_distinct([m.git_commit for m in manifests]),
        platform=_distinct([m.machine.get("platform") for m in manifests]),
        versions={k: _distinct([m.versions.get(k) for m in manifests]) for k in versions},
    )


def _stage_manifests(study: StudyArtifacts, report: StageFacts) -> list[tuple[str, StageFacts]]:
    """(stage, facts) in pipeline order; the training runs merged into one row."""
    stages = [(name, StageFacts.of(m)) for name, m in study.manifests.items() if name == "data"]
    runs = [r.manifest for r in study.runs]
    if runs:
        stages.append((f"train ({fmt.plural(len(runs), 'run')})", _merge(runs)))
    stages += [(name, StageFacts.of(m)) for name, m in study.manifests.items() if name != "data"]
    return [*stages, ("report (this build)", report)]


def _short_commits(value: str | None) -> str:
    return ", ".join(c.strip()[:12] for c in value.split(",")) if value and value != fmt.NA else fmt.NA


def _stages_table(stages: list[tuple[str, StageFacts]]) -> Table:
    rows = tuple((name, m.finished_at or fmt.NA, _short_commits(m.git_commit), m.platform or fmt.NA,
                  m.versions.get("telcotune", fmt.NA)) for name, m in stages)
    return Table(("stage", "finished at (latest)", "git commit", "machine", "telcotune"), rows,
                 numeric=(False,) * 5)


def _versions_table(stages: list[tuple[str, StageFacts]]) -> Table:
    packages = list(dict.fromkeys(k for _, m in stages for k in m.versions))
    rows = tuple((p, *(m.versions.get(p, fmt.NA) for _, m in stages)) for p in packages)
    return Table(("package", *(n for n, _ in stages)), rows, numeric=(False,) * (1 + len(stages)))


def _energy_rows(study: StudyArtifacts) -> list[tuple[str, EnergyFile]]:
    rows: list[tuple[str, EnergyFile]] = []
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
    energy = fmt.energy_formatter(e.total.energy_j for _, e in rows)
    for name, e in rows:
        sources = _distinct([p.source for p in e.phases.values()])
        table.append((name, e.method, ", ".join(e.phases) or fmt.NA, sources, energy(e.total.energy_j),
                      e.missing_reason or ""))
    counts = Counter(e.method for _, e in rows)
    summary = ", ".join(f"{n} {m}" for m, n in sorted(counts.items()))
    text = (f"{len(rows)} energy figures: {summary}. Measured: read from a hardware counter (RAPL, NVML). "
            f"Estimated: CodeCarbon's model of power from TDP and load, used where no counter is readable "
            f"(typical on VMs). Missing: not metered, with the reason.")
    return [head, Text(text), Table(("artifact", "method", "phases", "source", "energy", "missing reason"),
                                    tuple(table), numeric=(False, False, False, False, True, False))]


def build(ctx: Context) -> Section:
    study = ctx.study
    report = StageFacts(manifest_mod.now_iso(), manifest_mod.git_commit(), platform.platform(),
                        manifest_mod.package_versions())
    stages = _stage_manifests(study, report)
    blocks: list[Block] = [_study_table(study), Subheading("Stages"), _stages_table(stages),
                           Subheading("Package versions"), _versions_table(stages), *_energy_table(study),
                           Subheading("Resolved configuration")]
    if study.config is None:
        blocks.append(not_available("the resolved configuration", study.missing_reason("config")))
    else:
        blocks.append(Code(to_json(study.config), "config.json"))
    return Section("reproducibility", TITLE, tuple(blocks))
