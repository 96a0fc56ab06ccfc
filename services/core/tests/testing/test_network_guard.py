"""The plugin's network guard: installed for every test, loopback allowed, anything else refused.

Nothing here opens a connection to another host: the refusal is checked on the decision itself.
"""

from __future__ import annotations

import socket

import pytest

from pma_core.net import is_loopback_host, is_loopback_url
from pma_core.testing.network import ExternalNetworkBlockedError, NetworkGuard, _check_address


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "LOCALHOST", "api.localhost"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", ["openrouter.ai", "10.0.0.5", "192.168.1.1", "8.8.8.8", "::2", "localhost.evil.com"])
def test_other_hosts(host: str) -> None:
    assert not is_loopback_host(host)


def test_urls() -> None:
    assert is_loopback_url("http://127.0.0.1:8101/v1")
    assert not is_loopback_url("https://openrouter.ai/api/v1")


def test_non_loopback_address_is_refused_before_connecting() -> None:
    with pytest.raises(ExternalNetworkBlockedError, match="only connect to loopback"):
        _check_address(("10.0.0.5", 443))
    _check_address(("127.0.0.1", 5432))
    _check_address("/run/postgres/.s.PGSQL.5432")  # a unix socket is local


def test_guard_is_installed_during_tests_and_uninstalls_cleanly() -> None:
    assert socket.socket.connect.__name__ == "guarded_connect"
    with pytest.raises(ExternalNetworkBlockedError, match="only resolve loopback names"):
        socket.getaddrinfo("openrouter.ai", 443)
    guard = NetworkGuard()
    guard.install()  # a second guard over the first still refuses, and gives the first back
    guard.uninstall()
    assert socket.socket.connect.__name__ == "guarded_connect"
