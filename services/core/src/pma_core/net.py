"""What counts as "this machine": shared by the model-request switch and the tests' network guard."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def is_loopback_host(host: str) -> bool:
    """True for names and addresses that stay on this machine (127.0.0.0/8, ::1, localhost)."""
    host = host.strip().lower()
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def url_host(url: str) -> str:
    """The host part of a URL (lower-case, no port); empty when the URL has none."""
    return (urlsplit(url).hostname or "").lower()


def is_loopback_url(url: str) -> bool:
    """True when the URL's host is on this machine."""
    return is_loopback_host(url_host(url))
