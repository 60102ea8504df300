"""Keep imported conversations on premises: a data folder that holds imported rows may be sent
only to local backends (template, local:, and OpenAI-compatible servers on loopback or
private addresses) unless `allow_remote: true` says otherwise.

A base URL counts as local when its host is `localhost` (or a `.localhost` name), a literal
loopback or private address (127.0.0.0/8, ::1, 10/8, 172.16/12, 192.168/16, fc00::/7), or a
name under a suffix that never resolves publicly (`.local`, `.internal`, `.lan`,
`.home.arpa`). Other names are remote: resolving them here would not prove where they lead.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import ConfigError
from ..llm.spec import parse_spec
from ..manifest import read_manifest

LOCAL_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "::1/128", "fc00::/7",
))
PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")


class RemoteBackendRefused(ConfigError):
    """A remote backend was asked to handle conversations imported from real transcripts."""


def is_local_base_url(url: str) -> bool:
    """True when `url`'s host is loopback, a private network address or a private name."""
    try:
        host = (urlsplit(url.strip()).hostname or "").rstrip(".").lower()
    except ValueError:
        return False
    if not host:
        return False
    if host == "localhost" or host.endswith(PRIVATE_SUFFIXES):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in LOCAL_NETWORKS)


def is_remote_spec(spec: str) -> bool:
    """True for backends that send text off this network: `anthropic:`, `gemini:`, and
    `openai:` without a local `@BASE_URL`. Judge specs that are not LLM backends (`rubric`)
    are local."""
    if spec.strip().lower() == "rubric":
        return False
    parsed = parse_spec(spec)
    if parsed.backend in ("template", "local"):
        return False
    if parsed.backend == "openai" and parsed.base_url is not None:
        return not is_local_base_url(parsed.base_url)
    return True


def holds_imported(data_dir: str | Path) -> bool:
    """True when the data folder's manifest marks it as holding imported conversations
    (`StageManifest.holds_imported`)."""
    manifest = read_manifest(Path(data_dir))
    return manifest is not None and manifest.holds_imported


def _display(spec: str) -> str:
    """The spec without credentials a base URL might carry (user:password@host)."""
    parsed = parse_spec(spec)
    if parsed.base_url is None:
        return f"{parsed.backend}:{parsed.model}"
    parts = urlsplit(parsed.base_url)
    return f"{parsed.backend}:{parsed.model}@{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}"


def check_remote_allowed(spec: str, *, holds_imported: bool, allow_remote: bool, purpose: str) -> None:
    """Refuse a remote backend for imported data unless allowed. `purpose` says what it was
    for: `generate conversations`, `judge answers`, `answer prompts`."""
    if holds_imported and not allow_remote and is_remote_spec(spec):
        raise RemoteBackendRefused(
            f"refusing to use {_display(spec)!r} to {purpose}: it is a remote backend and the data folder "
            "holds imported conversations. Use a local backend (local:MODEL, or "
            "openai:MODEL@http://127.0.0.1:PORT/v1 on a loopback or private address) or set `allow_remote: true`")


def may_cache(spec: str, *, holds_imported: bool) -> bool:
    """Whether replies of `spec` may go to the on-disk LLM cache: not for a remote backend
    (allowed with `allow_remote`) handling imported conversations, whose prompts hold them."""
    return not (holds_imported and is_remote_spec(spec))
