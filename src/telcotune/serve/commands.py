"""What `telcotune chat`, `serve` and `export` do once the CLI has parsed their options."""

from __future__ import annotations

import warnings
from pathlib import Path

from rich.console import Console

from ..errors import ConfigError
from .choice import BEST_JUDGE
from .limits import ServeLimits
from .target import ServeTarget, adapter_target, study_target

console = Console(stderr=True, soft_wrap=True)


def load_target(workdir: Path | None, runs: list[str] | None, adapter: Path | None,
                model: str | None) -> ServeTarget:
    if workdir and adapter:
        raise ConfigError("give either --workdir (a study folder) or --adapter (one adapter folder), not both")
    if adapter:
        if runs:
            raise ConfigError("--run picks runs of a --workdir study; with --adapter it has no meaning")
        return adapter_target(adapter, model)
    if workdir:
        return study_target(workdir, runs, model)
    raise ConfigError("give --workdir W (a study folder) or --adapter DIR (with --model SPEC)")


def _describe(target: ServeTarget) -> None:
    for note in target.notes:
        console.print(f"picked {note}", highlight=False)
    console.print(f"loading {target.model_spec} with {len(target.adapters)} adapter(s)", highlight=False)


def quiet_library_warnings() -> None:
    """Deprecation notices of transformers/peft (`is_gradient_checkpointing` ...) are for
    developers; a person chatting or serving would see them with every model load."""
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)


def chat_command(workdir: Path | None, run: str | None, adapter: Path | None, model: str | None,
                 max_new_tokens: int, temperature: float | None) -> None:
    from .chat import ChatSession, run_chat
    from .engine import ChatEngine

    quiet_library_warnings()
    target = load_target(workdir, [run or BEST_JUDGE] if workdir else None, adapter, model)
    _describe(target)
    limits = ServeLimits(max_new_tokens=max_new_tokens, default_new_tokens=max_new_tokens, concurrency=1,
                         max_batch=1)
    engine = ChatEngine.load(target, limits)
    decoding = target.decoding if temperature is None else target.decoding.model_copy(
        update={"temperature": temperature})
    run_chat(ChatSession(engine, target.default, max_new_tokens=max_new_tokens, decoding=decoding))


def serve_command(workdir: Path | None, runs: list[str] | None, adapter: Path | None, model: str | None,
                  host: str, port: int, api_key_env: str | None, limits: ServeLimits) -> None:
    from .app import LOOPBACK_HOSTS, create_app
    from .auth import api_key_from_env
    from .engine import ChatEngine
    from ..hosts import is_loopback
    from .server import run_server

    quiet_library_warnings()
    api_key = api_key_from_env(api_key_env)  # before the slow model load: a missing key fails fast
    if not is_loopback(host) and not api_key:
        console.print(f"[bold yellow]warning:[/] listening on {host} without an API key: anyone who can reach "
                      "this port can use the model (pass --api-key-env VAR)")
    target = load_target(workdir, runs, adapter, model)
    _describe(target)
    engine = ChatEngine.load(target, limits)
    console.print(f"serving {', '.join(engine.names)} at http://{host}:{port}/ (API: /v1, "
                  f"{'API key required' if api_key else 'no API key'})", highlight=False)
    allowed_hosts = LOOPBACK_HOSTS if is_loopback(host) else None
    run_server(create_app(engine, api_key=api_key, allowed_hosts=allowed_hosts), host=host, port=port)


def export_command(workdir: Path | None, run: str | None, adapter: Path | None, model: str | None,
                   out: Path, dtype: str) -> Path:
    from .export import export_merged

    if workdir and not run:
        raise ConfigError(f"--run NAME (or {BEST_JUDGE}, best-loss) says which adapter of the study to export")
    target = load_target(workdir, [run] if run else None, adapter, model)
    if len(target.adapters) != 1:
        raise ConfigError(f"{target.default!r} has no adapter to merge; pick a trained run")
    _describe(target)
    (adapter_dir,) = target.adapters.values()
    return export_merged(target.model_spec, adapter_dir, out, dtype, target.trust_remote_code)
