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

from .config import DataConfig, ModelConfig, field_help
from .errors import TelcotuneError

app = typer.Typer(
    name="telcotune",
    help="Fine-tune a small LM into a telecom support assistant and find the best LoRA configuration.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
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


def main(argv: list[str] | None = None) -> None:
    try:
        app(args=argv, standalone_mode=True)
    except TelcotuneError as exc:
        err_console.print(Text("error: ", style="bold red") + Text(str(exc)), highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted; finished stages are kept and the next run resumes")
        sys.exit(130)
