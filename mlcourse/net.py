"""Is the internet reachable? Used by the optional online-only cells."""

from __future__ import annotations

import socket

from .data import offline


def online(host: str = "huggingface.co", port: int = 443, timeout: float = 3.0) -> bool:
    """True when ``host:port`` accepts a TCP connection (and ``MLCOURSE_OFFLINE`` is not set)."""
    if offline():
        return False
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def skip_offline(what: str, host: str = "huggingface.co") -> bool:
    """Print why an online-only cell is skipped and return True when offline."""
    if online(host):
        return False
    print(f"⏭  Skipped: {what} needs the internet ({host} is not reachable here). "
          "The rest of the notebook does not depend on it.")
    return True
