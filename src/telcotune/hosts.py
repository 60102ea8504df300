"""Whether a host name is this machine: the one loopback rule of the server (which hosts may
skip the API key), the rater app, and the LLM client (where a key may travel over plain http)."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """This machine: `localhost` or a loopback address (127.0.0.0/8, ::1, bracketed or not)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
