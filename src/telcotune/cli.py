"""The command line: parses options and calls the library. No logic lives here.

Every option that mirrors a config field takes its help text from the schema (`field_help`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.text import Text

from . import __version__
from .config import DEFAULT_PHONE_REGIONS, PLAN_HALFWIDTH, DataConfig, EvalConfig, JudgesConfig, ModelConfig, PrivacyConfig, TrackingConfig, field_help
from .errors import TelcotuneError
from .serve.limits import ServeLimits, option_help

_TRACK_HELP = field_help(TrackingConfig, "backend") + " Overrides the config's tracking.backend."


def _track_option():
    return typer.Option(None, "--track", help=_TRACK_HELP)


app = typer.Typer(
    name="telcotune",
    help="Fine-tune a small LM into a telecom support assistant and find the best LoRA configuration.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts hold literal brackets such as "[default: 16]"
)
err_console = Console(stderr=True, soft_wrap=True)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"telcotune {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """Fine-tune a small LM into a telecom support assistant and find the best LoRA configuration."""


@app.command("model")
def model_cmd(
    spec: str = typer.Argument(ModelConfig.model_fields["spec"].default, help=field_help(ModelConfig, "spec")),
    prompt: Optional[str] = typer.Option(None, help="Also answer this one customer message."),
    max_new_tokens: int = typer.Option(64, help="Longest answer, in tokens."),
) -> None:
    """Resolve a model spec to a local folder (converting the embedded model once) and describe it."""
    from .smoke import describe_model

    describe_model(spec, prompt=prompt, max_new_tokens=max_new_tokens)


data_app = typer.Typer(help="Generate synthetic support conversations (`telcotune data --out DIR`), or inspect a data folder.",
                       no_args_is_help=False, rich_markup_mode=None)
app.add_typer(data_app, name="data")


@data_app.command("inspect")
def data_inspect_cmd(
    folder: Path = typer.Argument(..., help="Data folder (from `telcotune data` or `telcotune import`)."),
    n: int = typer.Option(3, "--n", min=1, help="Conversations to show (the split's first)."),
    split: str = typer.Option("train", "--split", help="train, val, test or test_ood."),
    model: Optional[str] = typer.Option(None, help="Tokenize for this model [default: the study's (DIR/../config.json), else the embedded one]."),
) -> None:
    """Print conversations with the tokens training learns (the loss mask) highlighted."""
    from .data.inspect import inspect_command

    inspect_command(folder, split, n, model)


@data_app.callback(invoke_without_command=True)
def data_cmd(
    ctx: typer.Context,
    out: Optional[Path] = typer.Option(None, "--out", help="Output folder for the data set (required to generate)."),
    glossary: Optional[str] = typer.Option(None, help=field_help(DataConfig, "glossary")),
    backend: Optional[str] = typer.Option(None, help=field_help(DataConfig, "backend")),
    per_scenario: Optional[int] = typer.Option(None, help=field_help(DataConfig, "per_scenario")),
    seed: Optional[int] = typer.Option(None, help=field_help(DataConfig, "seed")),
    concurrency: Optional[int] = typer.Option(None, help=field_help(DataConfig, "concurrency")),
    timeout_s: Optional[float] = typer.Option(None, help=field_help(DataConfig, "timeout_s")),
    max_retries: Optional[int] = typer.Option(None, help=field_help(DataConfig, "max_retries")),
    ood_term: Optional[list[str]] = typer.Option(None, "--ood-term", help=field_help(DataConfig, "ood_terms")),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="Take defaults from this experiment YAML's `data` section."),
    quiet: bool = typer.Option(False, help="No progress bar."),
) -> None:
    """Generate synthetic support conversations from a glossary, validated and split by scenario
    (`telcotune data inspect DIR` shows what training learns from a data folder)."""
    from .config import resolve_config
    from .data.stage import run_data_stage
    from .errors import ConfigError

    if ctx.invoked_subcommand is not None:
        return
    if out is None:
        raise ConfigError("telcotune data: --out is required (or `telcotune data inspect DIR`)")

    cfg = resolve_config(config, {"data": dict(
        glossary=glossary, backend=backend, per_scenario=per_scenario, seed=seed, concurrency=concurrency,
        timeout_s=timeout_s, max_retries=max_retries, ood_terms=ood_term)})
    stats = run_data_stage(cfg.data, out, energy=cfg.energy, progress=not quiet,
                           trust_remote_code=cfg.model.trust_remote_code)
    typer.echo(f"{stats.conversations} conversations from {stats.scenarios} scenarios "
               f"({stats.rejects.total} rejected) in {out}")


@app.command("import")
def import_cmd(
    sources: list[Path] = typer.Argument(..., help="Transcript files or folders (.jsonl, .json, .csv, .tsv)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output data folder (the data stage's layout); not needed with --check-only."),
    format: str = typer.Option("auto", "--format", help="auto, openai (messages), sharegpt (conversations) or csv (one row per turn, CSV or JSONL)."),
    role_map: Optional[list[str]] = typer.Option(None, "--role-map", help="SPEAKER=ROLE pairs, comma-separated or repeated; ROLE is user, assistant, system or drop (e.g. agent=assistant,customer=user)."),
    columns: Optional[list[str]] = typer.Option(None, "--columns", help="Per-turn column names: id=..., order=..., role=..., text=... [default: id=conversation_id,order=turn|timestamp,role=role,text=text]."),
    group_by: Optional[str] = typer.Option(None, "--group-by", help="Field or column whose value keeps conversations together in one split (ticket, customer or account id) [default: the conversation id]."),
    system_prompt: Optional[str] = typer.Option(None, "--system-prompt", help="System message for every conversation: TEXT or a FILE [default: the conversation's own, else the built-in one]."),
    mix_synthetic: Optional[Path] = typer.Option(None, "--mix-synthetic", help="A synthetic data folder (from `telcotune data`) to mix rows from, split by split."),
    synthetic_share: float = typer.Option(0.5, "--synthetic-share", help="Share of each split made of synthetic rows with --mix-synthetic."),
    split: str = typer.Option("0.8,0.1,0.1", "--split", help="Shares of train,val,test by conversations, whole groups only."),
    seed: int = typer.Option(0, "--seed", help="Seed for the group split and synthetic sampling."),
    pattern: Optional[list[str]] = typer.Option(None, "--pattern", help="Operator-defined entity NAME=REGEX, repeatable (e.g. ACCOUNT=ACC-\\d{8})."),
    ner_model: Optional[str] = typer.Option(None, "--ner-model", help=field_help(PrivacyConfig, "ner_model")),
    phone_region: Optional[list[str]] = typer.Option(None, "--phone-region", help=field_help(PrivacyConfig, "phone_regions") + f" Repeatable [default: {' '.join(DEFAULT_PHONE_REGIONS)}]."),
    allow: Optional[list[str]] = typer.Option(None, "--allow", help=field_help(PrivacyConfig, "allow_list") + " Repeatable."),
    check_only: bool = typer.Option(False, "--check-only", help="Read, redact, split and verify, print the redaction report, write nothing."),
    quiet: bool = typer.Option(False, help="No progress bar."),
) -> None:
    """Import real support transcripts, redact personal data offline, and write a data folder."""
    from .errors import ConfigError
    from .ingest.options import options_from_cli
    from .ingest.stage import import_transcripts
    from .privacy.report import format_report

    if out is None and not check_only:
        raise ConfigError("--out is required (or use --check-only)")
    options = options_from_cli(sources, format=format, columns=columns or [], role_map=role_map or [],
                               group_by=group_by, system_prompt=system_prompt, mix_synthetic=mix_synthetic,
                               synthetic_share=synthetic_share, split=split, seed=seed, patterns=pattern or [],
                               ner_model=ner_model, phone_regions=phone_region, allow_list=allow)
    result = import_transcripts(out, options, check_only=check_only, progress=not quiet)
    if format == "auto" and not result.skipped:
        for name, detected in result.formats.items():
            err_console.print(f"import: {name} read as {detected}", highlight=False)
    stats = result.stats
    typer.echo(format_report(stats.redaction))
    splits = ", ".join(f"{name} {n}" for name, n in stats.splits.items())
    done = "checked, nothing written" if check_only else ("current, skipped" if result.skipped else f"written to {out}")
    typer.echo(f"{stats.imported.kept} of {stats.imported.read} conversations imported "
               f"({stats.rejects.total} rejected; {splits}): {done}")


@app.command("run")
def run_cmd(
    config: Path = typer.Option(..., "--config", "-c", help="Experiment YAML (see configs/)."),
    workdir: Optional[Path] = typer.Option(None, help="Study folder [default: runs/<name>]."),
    quiet: bool = typer.Option(False, help="No progress bars."),
    track: Optional[str] = _track_option(),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan (stages current or to run, runs, steps, estimated time per stage from a quick probe) and write nothing."),
) -> None:
    """Run the whole study described by a config: data, sweep, evaluate, report."""
    from .pipeline import run_study

    run_study(config, workdir, progress=not quiet, track=track, dry_run=dry_run)


from .config import EnergyConfig as _EnergyConfig, SweepConfig as _SweepConfig, TrainConfig as _TrainConfig  # noqa: E402
from .config import KnowledgeConfig as _KnowledgeConfig  # noqa: E402


def _t(name: str) -> str:
    return field_help(_TrainConfig, name)


@app.command("train")
def train_cmd(
    data: Path = typer.Option(..., "--data", help="Data folder with train.jsonl and val.jsonl (from `telcotune data`)."),
    out: Path = typer.Option(..., "--out", help="Run folder: adapter/, metrics, energy.json, manifest.json."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="Take defaults from this experiment YAML (train, model, energy)."),
    model: Optional[str] = typer.Option(None, help=field_help(ModelConfig, "spec")),
    r: Optional[int] = typer.Option(None, "--r", help=_t("r")),
    alpha: Optional[float] = typer.Option(None, help=_t("alpha")),
    dropout: Optional[float] = typer.Option(None, help=_t("dropout")),
    targets: Optional[str] = typer.Option(None, help=_t("targets")),
    lr: Optional[float] = typer.Option(None, help=_t("lr")),
    epochs: Optional[float] = typer.Option(None, help=_t("epochs")),
    max_steps: Optional[int] = typer.Option(None, help=_t("max_steps")),
    batch_size: Optional[int] = typer.Option(None, help=_t("batch_size")),
    grad_accum: Optional[int] = typer.Option(None, help=_t("grad_accum")),
    max_length: Optional[int] = typer.Option(None, help=_t("max_length")),
    seed: Optional[int] = typer.Option(None, help=_t("seed")),
    rslora: Optional[bool] = typer.Option(None, "--rslora/--no-rslora", help=_t("rslora")),
    dora: Optional[bool] = typer.Option(None, "--dora/--no-dora", help=_t("dora")),
    schedule: Optional[str] = typer.Option(None, help=_t("schedule")),
    warmup_ratio: Optional[float] = typer.Option(None, help=_t("warmup_ratio")),
    eval_every: Optional[int] = typer.Option(None, help=_t("eval_every")),
    save_every: Optional[int] = typer.Option(None, help=_t("save_every")),
    early_stopping: Optional[int] = typer.Option(None, help=_t("early_stopping")),
    precision: Optional[str] = typer.Option(None, help=_t("precision")),
    meter: Optional[str] = typer.Option(None, help=field_help(_EnergyConfig, "meter")),
    quiet: bool = typer.Option(False, help="No progress bar."),
    track: Optional[str] = _track_option(),
) -> None:
    """Train one LoRA adapter (resumes from its checkpoint; skipped when already finished)."""
    from .config import resolve_config
    from .train.commands import train_command

    cfg = resolve_config(config, {
        "train": dict(r=r, alpha=alpha, dropout=dropout, targets=targets, lr=lr, epochs=epochs,
                      max_steps=max_steps, batch_size=batch_size, grad_accum=grad_accum,
                      max_length=max_length, seed=seed, rslora=rslora, dora=dora, schedule=schedule,
                      warmup_ratio=warmup_ratio, eval_every=eval_every, save_every=save_every,
                      early_stopping=early_stopping, precision=precision),
        "model": {"spec": model}, "energy": {"meter": meter}, "tracking": {"backend": track}})
    train_command(data, out, cfg, progress=not quiet)


@app.command("sweep")
def sweep_cmd(
    data: Path = typer.Option(..., "--data", help="Data folder with train.jsonl and val.jsonl (from `telcotune data`)."),
    out: Path = typer.Option(..., "--out", help="Sweep folder: one run folder per configuration, sweep.json, sweep.csv."),
    sweep: Optional[Path] = typer.Option(None, "--sweep", help="Sweep YAML (`base` plus `runs` or `grid`, e.g. configs/sweeps/paper16.yaml) [default: the --config's sweep, else one run with the train defaults]."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="Take train defaults, model, energy and sweep from this experiment YAML."),
    model: Optional[str] = typer.Option(None, help=field_help(ModelConfig, "spec")),
    max_steps: Optional[int] = typer.Option(None, help="Override every run's max_steps (quick trials)."),
    only: Optional[list[str]] = typer.Option(None, "--only", help="Train only this run (repeat, or a comma list)."),
    meter: Optional[str] = typer.Option(None, help=field_help(_EnergyConfig, "meter")),
    executor: Optional[str] = typer.Option(None, help=field_help(_SweepConfig, "executor")),
    ray_address: Optional[str] = typer.Option(None, help=field_help(_SweepConfig, "ray_address")),
    max_concurrent: Optional[int] = typer.Option(None, help=field_help(_SweepConfig, "max_concurrent")),
    quiet: bool = typer.Option(False, help="No progress bars."),
    track: Optional[str] = _track_option(),
) -> None:
    """Train every LoRA configuration of a sweep (here one after another, or as Ray tasks); finished runs are skipped."""
    from .config import resolve_config
    from .train.commands import sweep_command

    cfg = resolve_config(config, {"model": {"spec": model}, "energy": {"meter": meter},
                                  "sweep": {"executor": executor, "ray_address": ray_address,
                                            "max_concurrent": max_concurrent},
                                  "tracking": {"backend": track}})
    sweep_command(data, out, cfg, sweep, max_steps, only, progress=not quiet)


@app.command("evaluate")
def evaluate_cmd(
    data: Path = typer.Option(..., "--data", help="Data folder (from `telcotune data`)."),
    sweep: Path = typer.Option(..., "--sweep", help="Sweep folder (from `telcotune sweep`)."),
    out: Path = typer.Option(..., "--out", help="Output folder for answers, judgments and rankings."),
    model: Optional[str] = typer.Option(None, help=field_help(ModelConfig, "spec")),
    prompts: Optional[list[str]] = typer.Option(None, "--prompts", help=field_help(EvalConfig, "prompts")),
    limit: Optional[int] = typer.Option(None, help=field_help(EvalConfig, "limit")),
    judge: Optional[list[str]] = typer.Option(None, "--judge", help=field_help(JudgesConfig, "panel")),
    protocol: Optional[str] = typer.Option(None, help=field_help(EvalConfig, "protocol")),
    pairs: Optional[str] = typer.Option(None, help=field_help(EvalConfig, "pairs")),
    max_new_tokens: Optional[int] = typer.Option(None, help=field_help(EvalConfig, "max_new_tokens")),
    batch_size: Optional[int] = typer.Option(None, help=field_help(EvalConfig, "batch_size")),
    include_base: Optional[bool] = typer.Option(None, "--include-base/--no-base", help=field_help(EvalConfig, "include_base")),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="Take defaults from this experiment YAML."),
    allow_remote: bool = typer.Option(False, "--allow-remote", help="Let remote judges see a data folder of imported conversations (as data.source.allow_remote does); without it they are refused."),
    executor: Optional[str] = typer.Option(None, help="Where adapters answer: `local` or `ray` (one Ray task per adapter) [default: the config's sweep.executor]."),
    ray_address: Optional[str] = typer.Option(None, help=field_help(_SweepConfig, "ray_address")),
    quiet: bool = typer.Option(False, help="No progress bars."),
    track: Optional[str] = _track_option(),
) -> None:
    """Answer evaluation prompts with every adapter, judge them with the panel, rank the runs."""
    from .config import resolve_config
    from .evaluate.stage import run_evaluate
    from .paths import EvalPaths
    from .tracking import track_evaluation

    cfg = resolve_config(config, {
        "eval": dict(prompts=prompts, limit=limit, protocol=protocol, pairs=pairs, max_new_tokens=max_new_tokens,
                     batch_size=batch_size, include_base=include_base),
        "judges": {"panel": judge}, "model": {"spec": model},
        "sweep": {"executor": executor, "ray_address": ray_address}, "tracking": {"backend": track}})
    ranking = run_evaluate(data, sweep, out, cfg.model.ref(), cfg.eval, cfg.judges, cfg.energy, decoding=cfg.decoding,
                           progress=not quiet,
                           glossary=cfg.data.glossary_path(), allow_remote=allow_remote or cfg.data.remote_allowed(),
                           placement=cfg.sweep, resources=cfg.train.resources)
    track_evaluation(cfg.tracking, out.parent, cfg.name, out, sweep)  # a study's eval/ sits in the study folder
    for name, section in ranking.judges.items():
        finding = section.loss_vs_judge.finding if section.loss_vs_judge else None
        typer.echo(f"{name}: {finding}" if finding else f"{name}: judged")
    paths = EvalPaths(out)
    typer.echo(f"ranking: {paths.ranking}, leaderboard: {paths.leaderboard}")


@app.command("knowledge")
def knowledge_cmd(
    workdir: Path = typer.Option(..., "--workdir", help="Study folder (runs/<name>): base model from config.json, adapters from sweep/, system prompt from data/; writes eval/knowledge.json."),
    mcq: Optional[list[Path]] = typer.Option(None, "--mcq", help=field_help(_KnowledgeConfig, "mcq") + " Repeat for several."),
    glossary_mcq: bool = typer.Option(False, "--glossary-mcq", help="Score questions built from the study's glossary (definition, expansion, resolution step). Without --mcq or --glossary-mcq, the study config's eval.knowledge picks the sources."),
    limit: Optional[int] = typer.Option(None, help=field_help(_KnowledgeConfig, "limit")),
    model: Optional[str] = typer.Option(None, help="Base model spec [default: the study's config.json model.spec]."),
    batch_size: Optional[int] = typer.Option(None, help=field_help(_KnowledgeConfig, "batch_size")),
    quiet: bool = typer.Option(False, help="No progress bar."),
) -> None:
    """Score knowledge questions (multiple choice, by log-likelihood) on the base model and every adapter."""
    from .knowledge.command import knowledge_command, results_table

    result = knowledge_command(workdir, mcq, glossary_mcq, limit, model, batch_size, progress=not quiet)
    console = Console()
    console.width = max(console.width, 110)  # one row per model, not wrapped in a pipe
    console.print(results_table(result))
    typer.echo(f"knowledge: {workdir / 'eval' / 'knowledge.json'}")


_WORKDIR_HELP = "Study folder (runs/<name>): adapters from sweep/, model from config.json, system prompt from data/."
_RUN_HELP = "Run name, `base` (no adapter), `best-judge` (first judge's pointwise order) or `best-loss`."
_ADAPTER_HELP = "One adapter folder instead of a study (with --model, unless it sits in a study)."
_MODEL_HELP = "Base model spec [default: the study's config.json model.spec]."


@app.command("chat")
def chat_cmd(
    workdir: Optional[Path] = typer.Option(None, help=_WORKDIR_HELP),
    run: Optional[str] = typer.Option(None, help=f"{_RUN_HELP} [default: best-judge]"),
    adapter: Optional[Path] = typer.Option(None, help=_ADAPTER_HELP),
    model: Optional[str] = typer.Option(None, help=_MODEL_HELP),
    max_new_tokens: int = typer.Option(ServeLimits.default_new_tokens, min=1, help="Longest reply, in tokens."),
    temperature: Optional[float] = typer.Option(None, min=0, max=2, help="Sampling temperature; 0 is greedy [default: the study config's decoding.temperature, 0]."),
) -> None:
    """Chat in the terminal with a fine-tuned assistant (streamed replies; /reset, /exit)."""
    from .serve.commands import chat_command

    chat_command(workdir, run, adapter, model, max_new_tokens, temperature)


@app.command("serve")
def serve_cmd(
    workdir: Optional[Path] = typer.Option(None, help=_WORKDIR_HELP),
    run: Optional[list[str]] = typer.Option(None, "--run", help=f"{_RUN_HELP} Repeat to serve several [default: every finished run]."),
    adapter: Optional[Path] = typer.Option(None, help=_ADAPTER_HELP),
    model: Optional[str] = typer.Option(None, help=_MODEL_HELP),
    host: str = typer.Option("127.0.0.1", help="Address to listen on; anything but loopback exposes the model."),
    port: int = typer.Option(8000, help="TCP port."),
    api_key_env: Optional[str] = typer.Option(None, help="Require `Authorization: Bearer <key>` with the key read from this environment variable."),
    concurrency: int = typer.Option(ServeLimits.concurrency, min=1, help=option_help("concurrency")),
    max_batch: int = typer.Option(ServeLimits.max_batch, min=1, help=option_help("max_batch")),
    max_new_tokens: int = typer.Option(ServeLimits.max_new_tokens, min=1, help=option_help("max_new_tokens")),
    max_input_tokens: int = typer.Option(ServeLimits.max_input_tokens, min=1, help=option_help("max_input_tokens")),
) -> None:
    """Serve the assistant over an OpenAI-compatible API, with a web chat page at /."""
    from .serve.commands import serve_command

    limits = ServeLimits.capped(max_input_tokens=max_input_tokens, max_new_tokens=max_new_tokens,
                                concurrency=concurrency, max_batch=max_batch)
    serve_command(workdir, run, adapter, model, host, port, api_key_env, limits)


@app.command("export")
def export_cmd(
    out: Path = typer.Option(..., "--out", help="Folder for the merged model (written atomically)."),
    workdir: Optional[Path] = typer.Option(None, help=_WORKDIR_HELP),
    run: Optional[str] = typer.Option(None, help=_RUN_HELP),
    adapter: Optional[Path] = typer.Option(None, help=_ADAPTER_HELP),
    model: Optional[str] = typer.Option(None, help=_MODEL_HELP),
    dtype: str = typer.Option("fp32", help="Weights dtype of the merged model: fp32 or bf16."),
) -> None:
    """Merge an adapter into its base model: a folder transformers and vLLM load without peft."""
    from .serve.commands import export_command

    typer.echo(f"merged model: {export_command(workdir, run, adapter, model, out, dtype)}")


@app.command("export-config")
def export_config_cmd(
    workdir: Path = typer.Option(..., "--workdir", help="Study folder (runs/<name>)."),
    run: str = typer.Option(..., "--run", help="Run name (a folder of sweep/)."),
    format: str = typer.Option(..., "--format", help="axolotl (YAML), llamafactory (YAML) or trl (a `trl sft` command)."),
    out: Path = typer.Option(..., "--out", help="File to write."),
) -> None:
    """Write a run's configuration for Axolotl, LLaMA-Factory or TRL, on the study's data."""
    from .interop import export_config

    typer.echo(f"{format} config for run {run}: {export_config(workdir, run, format, out)}")


@app.command("rate")
def rate_cmd(
    workdir: Path = typer.Option(..., "--workdir", help="Study folder (runs/<name>) whose evaluation answers people rate."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on; anything but loopback needs --api-key-env."),
    port: int = typer.Option(8010, help="TCP port."),
    protocol: str = typer.Option("pairwise", help="pairwise: two answers side by side (A, B, tie, both bad); pointwise: one answer scored 1-10 on the judges' criteria."),
    per_rater: int = typer.Option(40, "--per-rater", min=1, help="Ratings asked of each rater."),
    api_key_env: Optional[str] = typer.Option(None, help="Require this access key (read from the environment variable) for rating; needed beyond loopback."),
    export: Optional[Path] = typer.Option(None, "--export", help="Write every rating to this CSV file and exit."),
    import_file: Optional[Path] = typer.Option(None, "--import", help="Add the ratings in this CSV file (validated row by row; all or nothing) and exit."),
) -> None:
    """Let people rate the study's answers (a web page), or export / import their ratings."""
    from .rate.commands import export_command, import_command, rate_command

    if export and import_file:
        raise typer.BadParameter("give --export or --import, not both")
    if export:
        typer.echo(f"exported {export_command(workdir, export)} rating(s) to {export}")
    elif import_file:
        added, skipped = import_command(workdir, import_file)
        typer.echo(f"imported {added} rating(s) from {import_file}" + (f"; {skipped} already present" if skipped else ""))
    else:
        rate_command(workdir, host, port, protocol, per_rater, api_key_env)


@app.command("report")
def report_cmd(
    workdir: Path = typer.Option(..., "--workdir", help="Study folder (runs/<name>) whose artifacts to report on."),
    force: bool = typer.Option(False, help="Rebuild even when the report is current."),
) -> None:
    """Build the study's report: report/index.html (self-contained), report.md and figures/."""
    from .report import build_report

    typer.echo(f"report: {build_report(workdir, force=force)}")


@app.command("plan")
def plan_cmd(
    workdir: Path = typer.Option(..., "--workdir", help="A finished (pilot) study folder (runs/<name>)."),
    target_halfwidth: Optional[float] = typer.Option(
        None, help=f"Plan for 95% intervals of at most +-X (a run's and a paired difference's), in each judge's unit [default, without --detect-difference: {PLAN_HALFWIDTH}, the report's target]."),
    detect_difference: Optional[float] = typer.Option(
        None, help="Plan to detect a true paired difference of D between two runs, in each judge's unit."),
    power: float = typer.Option(0.8, help="With --detect-difference: the chance of detecting it."),
) -> None:
    """How many prompts, judge calls, minutes and money a study needs to reach a target, per judge."""
    from .plan import plan_command

    plan_command(workdir, target_halfwidth, detect_difference, power)


def main(argv: list[str] | None = None) -> None:
    try:
        app(args=argv, standalone_mode=True)
    except TelcotuneError as exc:
        from .redaction import redact

        # A spec in the message may carry URL credentials: the error line is redacted like artifacts.
        err_console.print(Text("error: ", style="bold red") + Text(redact(str(exc))), highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted; finished stages are kept and the next run resumes")
        sys.exit(130)
