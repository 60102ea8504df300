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


@app.command("run")
def run_cmd(
    config: Path = typer.Option(..., "--config", "-c", help="Experiment YAML (see configs/)."),
    workdir: Optional[Path] = typer.Option(None, help="Study folder [default: runs/<name>]."),
) -> None:
    """Run the whole study described by a config: data, sweep, evaluate, report."""
    from .pipeline import run_study

    run_study(config, workdir)


def main(argv: list[str] | None = None) -> None:
    try:
        app(args=argv, standalone_mode=True)
    except TelcotuneError as exc:
        err_console.print(Text("error: ", style="bold red") + Text(str(exc)), highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted; finished stages are kept and the next run resumes")
        sys.exit(130)
