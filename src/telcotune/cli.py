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

from .config import DataConfig, EvalConfig, JudgesConfig, ModelConfig, field_help
from .errors import TelcotuneError

app = typer.Typer(
    name="telcotune",
    help="Fine-tune a small LM into a telecom support assistant and find the best LoRA configuration.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts hold literal brackets such as "[default: 16]"
)
err_console = Console(stderr=True, soft_wrap=True)


@app.command("model")
def model_cmd(
    spec: str = typer.Argument(ModelConfig.model_fields["spec"].default, help=field_help(ModelConfig, "spec")),
    prompt: Optional[str] = typer.Option(None, help="Also answer this one customer message."),
    max_new_tokens: int = typer.Option(64, help="Longest answer, in tokens."),
) -> None:
    """Resolve a model spec to a local folder (converting the embedded model once) and describe it."""
    from .smoke import describe_model

    describe_model(spec, prompt=prompt, max_new_tokens=max_new_tokens)


def _overrides(**values) -> dict:
    """CLI options left at None fall back to the config; only the given ones override it."""
    return {k: v for k, v in values.items() if v is not None}


@app.command("data")
def data_cmd(
    out: Path = typer.Option(..., "--out", help="Output folder for the data set."),
    glossary: Optional[str] = typer.Option(None, help=field_help(DataConfig, "glossary")),
    backend: Optional[str] = typer.Option(None, help=field_help(DataConfig, "backend")),
    per_scenario: Optional[int] = typer.Option(None, help=field_help(DataConfig, "per_scenario")),
    seed: Optional[int] = typer.Option(None, help=field_help(DataConfig, "seed")),
    concurrency: Optional[int] = typer.Option(None, help=field_help(DataConfig, "concurrency")),
    ood_term: Optional[list[str]] = typer.Option(None, "--ood-term", help=field_help(DataConfig, "ood_terms")),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="Take defaults from this experiment YAML's `data` section."),
    quiet: bool = typer.Option(False, help="No progress bar."),
) -> None:
    """Generate synthetic support conversations from a glossary, validated and split by scenario."""
    from .pipeline import data_config
    from .data.stage import run_data_stage

    cfg = data_config(config, _overrides(glossary=glossary, backend=backend, per_scenario=per_scenario,
                                         seed=seed, concurrency=concurrency, ood_terms=ood_term))
    stats = run_data_stage(cfg.data, out, energy=cfg.energy, progress=not quiet)
    typer.echo(f"{stats['conversations']} conversations from {stats['scenarios']} scenarios "
               f"({stats['rejects']['total']} rejected) in {out}")


@app.command("run")
def run_cmd(
    config: Path = typer.Option(..., "--config", "-c", help="Experiment YAML (see configs/)."),
    workdir: Optional[Path] = typer.Option(None, help="Study folder [default: runs/<name>]."),
    quiet: bool = typer.Option(False, help="No progress bars."),
) -> None:
    """Run the whole study described by a config: data, sweep, evaluate, report."""
    from .pipeline import run_study

    run_study(config, workdir, progress=not quiet)


from .config import EnergyConfig as _EnergyConfig, TrainConfig as _TrainConfig  # noqa: E402
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
) -> None:
    """Train one LoRA adapter (resumes from its checkpoint; skipped when already finished)."""
    from .train.commands import base_config, train_command

    cfg = base_config(config, _overrides(
        r=r, alpha=alpha, dropout=dropout, targets=targets, lr=lr, epochs=epochs, max_steps=max_steps,
        batch_size=batch_size, grad_accum=grad_accum, max_length=max_length, seed=seed, rslora=rslora,
        dora=dora, schedule=schedule, warmup_ratio=warmup_ratio, eval_every=eval_every,
        save_every=save_every, early_stopping=early_stopping, precision=precision), model, meter)
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
    quiet: bool = typer.Option(False, help="No progress bars."),
) -> None:
    """Train every LoRA configuration of a sweep, one after another; finished runs are skipped."""
    from .train.commands import base_config, sweep_command

    cfg = base_config(config, {}, model, meter)
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
    quiet: bool = typer.Option(False, help="No progress bars."),
) -> None:
    """Answer evaluation prompts with every adapter, judge them with the panel, rank the runs."""
    from .config import ExperimentConfig, apply_overrides, load_config
    from .evaluate.stage import run_evaluate

    cfg = load_config(config) if config else ExperimentConfig()
    cfg = apply_overrides(cfg, "eval", _overrides(prompts=prompts, limit=limit, protocol=protocol, pairs=pairs,
                                                  max_new_tokens=max_new_tokens, batch_size=batch_size,
                                                  include_base=include_base))
    cfg = apply_overrides(cfg, "judges", _overrides(panel=judge))
    spec = model or cfg.model.spec
    ranking = run_evaluate(data, sweep, out, spec, cfg.eval, cfg.judges, cfg.energy, progress=not quiet)
    for name, section in ranking["judges"].items():
        finding = section.get("loss_vs_judge", {}).get("plain_finding")
        typer.echo(f"{name}: {finding}" if finding else f"{name}: judged")
    typer.echo(f"ranking: {out / 'ranking.json'}, leaderboard: {out / 'leaderboard.csv'}")


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
    max_new_tokens: int = typer.Option(256, help="Longest reply, in tokens."),
    temperature: float = typer.Option(0.0, help="Sampling temperature; 0 is greedy."),
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
    concurrency: int = typer.Option(2, min=1, help="Requests in the server at once (one generates, the others wait); more get 503."),
    max_new_tokens: int = typer.Option(512, min=1, help="Largest max_tokens a request may ask for."),
    max_input_tokens: int = typer.Option(2048, min=1, help="Longest conversation a request may send, in tokens."),
) -> None:
    """Serve the assistant over an OpenAI-compatible API, with a web chat page at /."""
    from .serve.commands import serve_command
    from .serve.limits import ServeLimits

    limits = ServeLimits(max_input_tokens=max_input_tokens, max_new_tokens=max_new_tokens,
                         default_new_tokens=min(256, max_new_tokens), concurrency=concurrency)
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


@app.command("report")
def report_cmd(
    workdir: Path = typer.Option(..., "--workdir", help="Study folder (runs/<name>) whose artifacts to report on."),
    force: bool = typer.Option(False, help="Rebuild even when the report is current."),
) -> None:
    """Build the study's report: report/index.html (self-contained), report.md and figures/."""
    from .report import build_report

    typer.echo(f"report: {build_report(workdir, force=force)}")


def main(argv: list[str] | None = None) -> None:
    try:
        app(args=argv, standalone_mode=True)
    except TelcotuneError as exc:
        err_console.print(Text("error: ", style="bold red") + Text(str(exc)), highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted; finished stages are kept and the next run resumes")
        sys.exit(130)
