"""What `telcotune rate` does once the CLI has parsed its options: serve the rating app, or
export / import the ratings as CSV."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from ..errors import ConfigError, StageError
from ..paths import EvalPaths, StudyPaths
from .pool import PROTOCOLS, Protocol, candidates
from .store import RatingStore
from .study import AnswerBook, load_answers, load_judgments

console = Console(stderr=True, soft_wrap=True)


def _eval_paths(workdir: Path) -> EvalPaths:
    study = StudyPaths(Path(workdir))
    if not study.root.is_dir():
        raise StageError(f"{study.root}: no such study folder")
    return EvalPaths(study.eval)


def open_store(workdir: Path, protocols: tuple[Protocol, ...]) -> tuple[RatingStore, AnswerBook]:
    """The study's ratings file with the items of `protocols` in sync with its answers."""
    paths = _eval_paths(workdir)
    book = load_answers(paths.root)
    judges = load_judgments(paths.root)
    store = RatingStore(paths.ratings)
    for protocol in protocols:
        report = store.sync_items(candidates(book, judges, protocol, store.seed), protocol)
        if report.retired:
            console.print(f"{report.retired} {protocol} item(s) whose answers are gone will not be shown again "
                          "(their ratings are kept)", highlight=False)
    return store, book


def export_command(workdir: Path, out: Path) -> int:
    from .transfer import export_csv

    paths = _eval_paths(workdir)
    if not paths.ratings.is_file():
        raise StageError(f"{paths.ratings}: no ratings yet (start a session with `telcotune rate --workdir {workdir}`)")
    return export_csv(RatingStore(paths.ratings), out)


def import_command(workdir: Path, source: Path) -> tuple[int, int]:
    from .transfer import import_csv

    store, book = open_store(workdir, PROTOCOLS)
    report = import_csv(source, store, book)
    return report.added, report.skipped


def rate_command(workdir: Path, host: str, port: int, protocol: str, per_rater: int,
                 api_key_env: str | None) -> None:
    from ..serve.app import LOOPBACK_HOSTS
    from ..serve.auth import api_key_from_env
    from ..hosts import is_loopback
    from ..serve.server import run_server
    from .app import RatingSession, create_app

    if protocol not in PROTOCOLS:
        raise ConfigError(f"--protocol: must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    api_key = api_key_from_env(api_key_env)
    if not is_loopback(host) and not api_key:
        raise ConfigError(f"--host {host}: raters on other machines could rate without a key; pass --api-key-env VAR "
                          "(the key in environment variable VAR) to listen beyond this machine")
    store, book = open_store(workdir, (protocol,))
    n_items = len(store.items(protocol))
    console.print(f"rating {protocol}: {n_items} items from {len(book.by_prompt)} prompts and {len(book.runs)} runs; "
                  f"{per_rater} per rater; ratings in {store.path}", highlight=False)
    where = "this machine's network address" if host in ("0.0.0.0", "::") else host
    console.print(f"raters open http://{where}:{port}/{'#key=<the key>' if api_key else ''}; Ctrl-C stops "
                  "(every rating is saved as it is made)", highlight=False)
    session = RatingSession(store, book, protocol, per_rater)
    allowed_hosts = LOOPBACK_HOSTS if is_loopback(host) else None
    run_server(create_app(session, api_key=api_key, allowed_hosts=allowed_hosts), host=host, port=port)
