"""Refuse every network connection that does not stay on this machine.

Tests may talk to real Postgres, Valkey and Qdrant and to loopback fakes of third-party APIs; anything
else (a real OpenRouter, Google or Coda endpoint) is a bug in the test and fails loudly here.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from pma_core.net import is_loopback_host


class ExternalNetworkBlockedError(RuntimeError):
    """Raised when a test tries to reach a host that is not on loopback."""


def _check_address(address: Any) -> None:
    # AF_UNIX addresses are paths (str/bytes): local by definition.
    if isinstance(address, tuple) and address and isinstance(address[0], str):
        host = address[0]
        if not is_loopback_host(host):
            raise ExternalNetworkBlockedError(f"tests may only connect to loopback, not {host!r}")


class NetworkGuard:
    """Patches `socket.socket.connect`/`connect_ex` and `getaddrinfo`; `uninstall` restores them."""

    def __init__(self) -> None:
        self._saved: dict[str, Callable[..., Any]] = {}

    def install(self) -> None:
        if self._saved:
            return
        original_connect = socket.socket.connect
        original_connect_ex = socket.socket.connect_ex
        original_getaddrinfo = socket.getaddrinfo
        self._saved = {
            "connect": original_connect,
            "connect_ex": original_connect_ex,
            "getaddrinfo": original_getaddrinfo,
        }

        def guarded_connect(sock: socket.socket, address: Any) -> None:
            _check_address(address)
            original_connect(sock, address)

        def guarded_connect_ex(sock: socket.socket, address: Any) -> int:
            _check_address(address)
            return original_connect_ex(sock, address)

        def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(host, bytes):
                host = host.decode()
            if host is not None and not is_loopback_host(str(host)):
                raise ExternalNetworkBlockedError(f"tests may only resolve loopback names, not {host!r}")
            return original_getaddrinfo(host, *args, **kwargs)

        socket.socket.connect = guarded_connect  # type: ignore[method-assign,assignment]
        socket.socket.connect_ex = guarded_connect_ex  # type: ignore[method-assign,assignment]
        socket.getaddrinfo = guarded_getaddrinfo

    def uninstall(self) -> None:
        if not self._saved:
            return
        socket.socket.connect = self._saved["connect"]  # type: ignore[method-assign]
        socket.socket.connect_ex = self._saved["connect_ex"]  # type: ignore[method-assign]
        socket.getaddrinfo = self._saved["getaddrinfo"]
        self._saved = {}
