"""`telcotune evaluate`: answers from every adapter (and the base model), the judge panel,
rankings with confidence intervals, and the loss-versus-judgement comparison."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from rich.console import Console

from ..adapters import BASE_RUN
from ..artifacts.io import read_record, read_rows
from ..artifacts.ranking import Ranking
from ..artifacts.run import FinishedRun, finished_runs
from ..cluster import uses_ray
from ..config import (BUILTIN_GLOSSARY_FILE, DecodingConfig, EnergyConfig, EvalConfig, JudgesConfig, KnowledgeConfig, ResourcesConfig,
                      SweepConfig)
from ..data.conversation import system_prompt_of
from ..knowledge.record import KnowledgeResult
from ..knowledge.runner import ScoringJob, run_knowledge
from ..knowledge.sources import collect_questions
from ..energy import make_meter
from ..errors import StageError
from ..fsio import read_jsonl
from ..judge.base import Judgment, judge_slug
from ..judge.factory import make_judge
from ..manifest import StageRun, hash_inputs, hash_obj
from ..models import ModelRef
from ..paths import TEST_SPLITS, DataPaths, EvalPaths, SweepPaths
from ..privacy.onprem import check_remote_allowed, holds_imported, may_cache
from ..rate.human import human_sections, load_ratings
from .answers import AnswerJob, answer_runs, read_answers
from ..judge.base import JudgeContext
from .judging import JudgeRun, contexts, run_judge
from .prompt_sets import load_prompts
from .ranking import build_ranking, leaderboard_rows, write_ranking

STAGE = "evaluate"
EVAL_OUTPUTS = ("ranking.json", "leaderboard.csv", "answers", "judgments")
KNOWLEDGE_OUTPUTS = ("knowledge.json", "knowledge")
console = Console(stderr=True)


def _term_groups(scenarios: list[dict]) -> list[list[str]]:
    seen: dict[str, list[str]] = {}
    for row in scenarios:
        seen.setdefault(row["term"], [row["term"], *([row["expansion"]] if row.get("expansion") else []),
                                      *row.get("aliases", [])])
    return list(seen.values())


SCENARIOS_SKIPPED = ("the rubric's term and steps criteria, the semantic judge's steps and the LLM judges' "
                     "reference information are skipped for them")


def _inputs(data: DataPaths, runs: list[FinishedRun], prompts_files: list[Path], base: Path) -> dict[str, str]:
    files = [*([data.scenarios] if data.scenarios.is_file() else []), *prompts_files]
    for run in runs:
        files += [run.paths.adapter, run.paths.metrics]
    return hash_inputs(files, base=base)


def _knowledge_files(cfg: KnowledgeConfig, glossary: Path) -> list[Path]:
    if not cfg.enabled:
        return []
    return [*([glossary] if cfg.glossary_mcq else []), *map(Path, cfg.mcq)]


def _knowledge(model: ModelRef, runs: list[FinishedRun], cfg: EvalConfig, glossary: Path, data: DataPaths,
               paths: EvalPaths, meter, progress: bool) -> KnowledgeResult | None:
    """The knowledge step (eval.knowledge): the base model and every adapter on the questions."""
    if not cfg.knowledge.enabled:
        return None
    questions, sources = collect_questions(cfg.knowledge, glossary, cfg.seed)
    jobs = [ScoringJob(r.name, r.paths.adapter) for r in runs]
    return run_knowledge(model, jobs, questions, sources, system_prompt_of(data), paths, cfg.knowledge, meter=meter,
                         progress=progress)


def ratings_input(ratings: list) -> dict[str, str]:
    """The ratings' content as one input entry (the SQLite file's bytes change with its journal)."""
    if not ratings:
        return {}
    return {EvalPaths(Path(".")).ratings.name: hash_obj([dataclasses.asdict(r) for r in ratings])}


def evaluated_runs(sweep_dir: Path) -> list[FinishedRun]:
    sweep = SweepPaths(Path(sweep_dir))
    if not sweep.root.is_dir():
        raise StageError(f"sweep folder {sweep.root} not found; run `telcotune sweep` first")
    runs = finished_runs(sweep)
    if not runs:
        raise StageError(f"{sweep.root}: no finished run (a run folder with adapter/ and manifest.json)")
    return runs


def read_scenarios(data: DataPaths) -> list[dict]:
    """The data folder's scenarios; none for imported conversations (no scenarios.jsonl)."""
    return read_jsonl(data.scenarios) if data.scenarios.is_file() else []


def _say_skipped(ctxs: list[JudgeContext]) -> int:
    """Prompts without a scenario (imported conversations): said once, and counted."""
    without = sum(c.scenario is None for c in ctxs)
    if without:
        console.print(f"evaluate: {without} of {len(ctxs)} prompts have no scenario (imported conversations): "
                      f"{SCENARIOS_SKIPPED}", highlight=False)
    return without


def check_judges(data: DataPaths, panel: list[str], allow_remote: bool) -> bool:
    """The on-premises rule for the judges of `data`; True when it holds imported conversations."""
    imported = holds_imported(data.root)
    for spec in panel:
        check_remote_allowed(spec, holds_imported=imported, allow_remote=allow_remote, purpose="judge answers")
    return imported


def evaluation_stage(data_dir: Path, sweep_dir: Path, out: Path, model: ModelRef, eval_cfg: EvalConfig,
                     judges_cfg: JudgesConfig, decoding: DecodingConfig, glossary: Path = BUILTIN_GLOSSARY_FILE,
                     runs: list[FinishedRun] | None = None, ratings: list | None = None) -> StageRun:
    """The evaluation's stage skeleton (its config hash and inputs); `.current` says whether it
    is done for these settings, answers and ratings. Reads only."""
    paths = EvalPaths(Path(out))
    data = DataPaths(Path(data_dir))
    runs = evaluated_runs(sweep_dir) if runs is None else runs
    ratings = load_ratings(paths) if ratings is None else ratings
    prompt_files = [data.split(n) if n in TEST_SPLITS else Path(n) for n in eval_cfg.prompts]
    config_hash = hash_obj({"model": model.spec, "eval": eval_cfg.model_dump(mode="json"),
                            "judges": judges_cfg.panel,
                            **({"judge_protocols": judges_cfg.protocols} if judges_cfg.protocols else {}),
                            "decoding": decoding.model_dump(mode="json")})
    knowledge_files = _knowledge_files(eval_cfg.knowledge, glossary)
    inputs = {**_inputs(data, runs, prompt_files + knowledge_files, paths.root), **ratings_input(ratings)}
    return StageRun(paths.root, STAGE, config_hash, inputs)


def run_evaluate(data_dir: Path, sweep_dir: Path, out: Path, model: ModelRef, eval_cfg: EvalConfig,
                 judges_cfg: JudgesConfig, energy_cfg: EnergyConfig | None = None,
                 decoding: DecodingConfig | None = None, progress: bool = True, glossary: Path = BUILTIN_GLOSSARY_FILE, allow_remote: bool = False,
                 placement: SweepConfig | None = None, resources: ResourcesConfig | None = None) -> Ranking:
    """`decoding`: the study's `decoding` section (its defaults when None): answers are decoded as
    `serve` decodes. `glossary`: the study's glossary, for the knowledge step's glossary questions.
    `allow_remote`: remote judges may see a data folder of imported conversations. With
    `placement.executor: ray` every adapter answers in a Ray task of its own (`resources` each)."""
    paths = EvalPaths(Path(out))
    data = DataPaths(Path(data_dir))
    imported = check_judges(data, judges_cfg.panel, allow_remote)  # before any work
    runs = evaluated_runs(sweep_dir)
    prompts = load_prompts(data.root, eval_cfg.prompts, eval_cfg.limit, eval_cfg.seed)
    ratings = load_ratings(paths)  # people's ratings are an input: rating more updates the ranking
    decoding = decoding or DecodingConfig()
    stage = evaluation_stage(data_dir, sweep_dir, out, model, eval_cfg, judges_cfg, decoding, glossary, runs, ratings)
    if stage.current:
        console.print(f"evaluate: {paths.root} is current, skipping")
        return read_record(paths.ranking, Ranking)
    with stage:
        meter = make_meter(energy_cfg) if energy_cfg is not None else None
        jobs = [AnswerJob(r.name, r.paths.adapter) for r in runs]
        if eval_cfg.include_base:
            jobs.insert(0, AnswerJob(BASE_RUN, None))
        if uses_ray(placement):
            from ..cluster.ray_answers import answer_on_ray  # ray is imported only here

            inference = answer_on_ray(model, jobs, prompts, eval_cfg, decoding, paths, energy_cfg or EnergyConfig(),
                                      placement, resources or ResourcesConfig(), progress)
        else:
            inference = answer_runs(model, jobs, prompts, eval_cfg, decoding, paths, meter, progress)
        answers = {job.run: {row.id: row.answer for row in read_answers(paths, job.run)} for job in jobs}
        knowledge = _knowledge(model, runs, eval_cfg, glossary, data, paths, meter, progress)

        scenarios = read_scenarios(data)
        ctxs = contexts(prompts, {row["id"]: row for row in scenarios})
        without_scenario = _say_skipped(ctxs)
        judge_runs: dict[str, JudgeRun] = {}
        for spec in judges_cfg.panel:
            # a remote judge's replies about imported conversations stay out of the on-disk cache
            judge = make_judge(spec, judges_cfg, _term_groups(scenarios), trust_remote_code=model.trust_remote_code,
                               use_cache=may_cache(spec, holds_imported=imported))
            own = eval_cfg.model_copy(update={"protocol": judges_cfg.protocol(spec, eval_cfg.protocol)})
            judge_runs[spec] = run_judge(judge, ctxs, answers, own, paths, meter, progress)

        sets: dict[str, set[str]] = {}
        for p in prompts:
            sets.setdefault(p.set, set()).add(p.id)
        val_loss = {r.name: r.val_loss for r in runs if r.val_loss is not None}
        human = human_sections(paths, val_loss, ratings, n_resamples=eval_cfg.bootstrap, seed=eval_cfg.seed)
        ranking = build_ranking(runs, [j.run for j in jobs], judge_runs, sets, answers, eval_cfg.bootstrap,
                                eval_cfg.seed, inference,
                                {spec: paths.judgments(judge_slug(spec)).name for spec in judges_cfg.panel},
                                human=human, ratings=ratings, knowledge=knowledge)
        write_ranking(paths, ranking, leaderboard_rows(ranking, runs))
        outputs = EVAL_OUTPUTS + (KNOWLEDGE_OUTPUTS if knowledge is not None else ())
        stage.complete(outputs, extra={"model": model.spec, "judges": judges_cfg.panel,
                                       "prompts_without_scenario": without_scenario})
    return ranking


def read_judgments(paths: EvalPaths, judge: str) -> list[Judgment]:
    return read_rows(paths.judgments(judge_slug(judge)), Judgment)
