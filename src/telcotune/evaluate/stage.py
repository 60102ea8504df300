"""`telcotune evaluate`: answers from every adapter (and the base model), the judge panel,
rankings with confidence intervals, and the loss-versus-judgement comparison."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from ..adapters import BASE_RUN
from ..config import EnergyConfig, EvalConfig, JudgesConfig
from ..energy import make_meter
from ..fsio import read_json, read_jsonl
from ..judge.base import Judgment, judge_slug
from ..judge.factory import make_judge
from ..manifest import hash_inputs, hash_obj, is_current, now_iso, write_manifest
from ..models import resolve_model
from ..paths import DataPaths, EvalPaths
from .answers import AnswerJob, answer_runs
from .judging import contexts, run_judge
from .prompt_sets import load_prompts
from .ranking import build_ranking, leaderboard_rows, write_ranking
from .runs import finished_runs

STAGE = "evaluate"
console = Console(stderr=True)


def _term_groups(scenarios: list[dict]) -> list[list[str]]:
    seen: dict[str, list[str]] = {}
    for row in scenarios:
        seen.setdefault(row["term"], [row["term"], *([row["expansion"]] if row.get("expansion") else []),
                                      *row.get("aliases", [])])
    return list(seen.values())


def _inputs(data_dir: Path, runs, prompts_files: list[Path]) -> dict[str, str]:
    files = [DataPaths(data_dir).scenarios, *prompts_files]
    for run in runs:
        files += [run.paths.adapter, run.paths.metrics]
    return hash_inputs(files)


def run_evaluate(data_dir: Path, sweep_dir: Path, out: Path, model_spec: str, eval_cfg: EvalConfig,
                 judges_cfg: JudgesConfig, energy_cfg: EnergyConfig | None = None,
                 progress: bool = True) -> dict[str, Any]:
    paths = EvalPaths(Path(out))
    data = DataPaths(Path(data_dir))
    runs = finished_runs(sweep_dir)
    prompts = load_prompts(data.root, eval_cfg.prompts, eval_cfg.limit, eval_cfg.seed)
    prompt_files = [data.split(n) if n in ("test", "test_ood") else Path(n) for n in eval_cfg.prompts]
    config_hash = hash_obj({"model": model_spec, "eval": eval_cfg.model_dump(mode="json"),
                            "judges": judges_cfg.panel})
    inputs = _inputs(data.root, runs, prompt_files)
    if is_current(paths.root, STAGE, config_hash, inputs):
        console.print(f"evaluate: {paths.root} is current, skipping")
        return read_json(paths.ranking)
    started_at = now_iso()
    paths.root.mkdir(parents=True, exist_ok=True)
    (paths.root / "manifest.json").unlink(missing_ok=True)
    meter = make_meter(energy_cfg) if energy_cfg is not None else None

    jobs = [AnswerJob(r.name, r.paths.adapter) for r in runs]
    if eval_cfg.include_base:
        jobs.insert(0, AnswerJob(BASE_RUN, None))
    inference = answer_runs(resolve_model(model_spec), jobs, prompts, eval_cfg, paths, meter, progress)
    answers = {job.run: {row["id"]: row["answer"] for row in read_jsonl(paths.answers(job.run))} for job in jobs}

    scenarios = read_jsonl(data.scenarios)
    ctxs = contexts(prompts, {row["id"]: row for row in scenarios})
    judgments: dict[str, list[Judgment]] = {}
    for spec in judges_cfg.panel:
        judge = make_judge(spec, judges_cfg, _term_groups(scenarios))
        judgments[spec] = run_judge(judge, ctxs, answers, eval_cfg, paths, meter, progress)

    sets = {}
    for p in prompts:
        sets.setdefault(p.set, set()).add(p.id)
    ranking = build_ranking(judgments, runs, [j.run for j in jobs], sets, eval_cfg.bootstrap, eval_cfg.seed)
    ranking["inference"] = inference
    ranking["judge_files"] = {spec: paths.judgments(judge_slug(spec)).name for spec in judges_cfg.panel}
    write_ranking(paths, ranking, leaderboard_rows(ranking, runs, inference))
    write_manifest(paths.root, STAGE, config_hash, inputs, started_at,
                   outputs=["ranking.json", "leaderboard.csv", "answers/", "judgments/"],
                   extra={"model": model_spec, "judges": judges_cfg.panel})
    return ranking
