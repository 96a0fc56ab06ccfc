"""Child-process plumbing shared by the embedded servers."""

from __future__ import annotations

import ctypes
import importlib.util
import os
import pwd
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

_PR_SET_PDEATHSIG = 1


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be found, started or stopped."""


def package_dir(package: str) -> Path:
    """Where an installed package lives, found without importing it (some have import-time side effects)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerError(f"package {package!r} is not installed; run `uv sync`")
    return Path(next(iter(spec.submodule_search_locations)))


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def child_setup(run_as: pwd.struct_passwd | None, *, death_signal: int = signal.SIGTERM) -> Callable[[], None]:
    """Runs in the child before exec: drop to `run_as`, then ask Linux to signal the child if we die.

    The death signal is what keeps `pma up` from leaving orphans even when it is killed with SIGKILL;
    it must be set after the user switch, because changing credentials clears it.
    """

    def setup() -> None:
        os.setpgrp()  # our own group: a terminal's Ctrl-C reaches only `pma up`, which stops us in order
        if run_as is not None:
            os.setgroups([])
            os.setgid(run_as.pw_gid)
            os.setuid(run_as.pw_uid)
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, death_signal)

    return setup


def stop_process(process: subprocess.Popen[bytes], *, sig: int, timeout: float) -> None:
    """Send `sig`, wait up to `timeout`, then SIGKILL: a server that will not stop is not left behind."""
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def wait_until(predicate: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise EmbeddedServerError(f"{what} did not become ready within {timeout:.0f}s")
