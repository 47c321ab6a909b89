"""A throwaway PostgreSQL server from the Debian binaries (``/usr/lib/postgresql/<v>/bin``),
for the audit tests and ``benchmarks/audit.py``.

    with PostgresServer() as server:
        url = server.create_database("t1")     # postgresql://kai@127.0.0.1:<port>/t1

The cluster lives in a fresh folder under /tmp (its unix socket too: socket paths are short),
listens on 127.0.0.1 on a free port, trusts local connections, and is removed on stop.
PostgreSQL refuses to run as root: as root, the server runs as the ``postgres`` system user
(``KAI_TEST_PG_USER`` names another). ``KAI_TEST_PG_BIN`` points at another bin folder.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO

import psycopg
from psycopg import sql

SUPERUSER = "kai"
START_SECONDS = 60


def binaries() -> Path | None:
    """The newest folder holding ``initdb`` and ``postgres``, or None."""
    given = os.environ.get("KAI_TEST_PG_BIN")
    candidates = [Path(given)] if given else sorted(
        (Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True)
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "postgres").exists():
            return folder
    return None


def run_as() -> pwd.struct_passwd | None:
    """The user the server runs as: None (this one) unless we are root."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get("KAI_TEST_PG_USER", "postgres")
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def unavailable() -> str | None:
    """Why no server can be started here, or None when one can."""
    if binaries() is None:
        return "no PostgreSQL server binaries (initdb, postgres) in /usr/lib/postgresql/*/bin"
    if os.geteuid() == 0 and run_as() is None:
        return "running as root and no 'postgres' user to run the PostgreSQL server as"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PostgresServer:
    """One PostgreSQL cluster in a temporary folder. ``fsync=False`` (the tests' default) trades
    durability against power loss, which no test needs, for speed; benchmarks keep it on."""

    def __init__(self, *, fsync: bool = False, timezone: str = "UTC") -> None:
        reason = unavailable()
        if reason:
            raise RuntimeError(reason)
        self.bin = binaries() or Path()
        self.user = run_as()
        self.fsync = fsync
        self.timezone = timezone
        self.root = Path(tempfile.mkdtemp(prefix="kai-pg-"))
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    def _popen(self, args: list[str], log: IO[bytes] | None = None) -> subprocess.Popen[bytes]:
        """Start ``args`` as the server's user (postgres refuses root)."""
        user = self.user
        return subprocess.Popen(
            args, stdout=log if log else subprocess.PIPE, stderr=subprocess.STDOUT,
            user=user.pw_uid if user else None, group=user.pw_gid if user else None,
            extra_groups=[] if user else None,
            env={**os.environ, "HOME": str(self.root), "USER": user.pw_name} if user else None)

    def start(self) -> PostgresServer:
        if self.user is not None:
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
        initdb = self._popen([str(self.bin / "initdb"), "-D", str(self.root / "data"), "-U", SUPERUSER,
                              "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"])
        output, _ = initdb.communicate()
        if initdb.returncode:
            self.stop()
            raise RuntimeError(f"initdb failed: {output.decode(errors='replace')[-2000:]}")
        for _attempt in range(5):  # another process may take the free port before the server does
            self.port = free_port()
            if self._launch():
                return self
        self.stop()
        raise RuntimeError(f"PostgreSQL did not start: {self.log()[-2000:]}")

    def _launch(self) -> bool:
        settings = {"listen_addresses": "127.0.0.1", "port": str(self.port), "unix_socket_directories": str(self.root),
                    "fsync": "on" if self.fsync else "off", "timezone": self.timezone, "max_connections": "100",
                    "logging_collector": "off"}
        args = [str(self.bin / "postgres"), "-D", str(self.root / "data")]
        for key, value in settings.items():
            args += ["-c", f"{key}={value}"]
        with open(self.root / "server.log", "ab") as log:
            self.process = self._popen(args, log)
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                return False
            try:
                with psycopg.connect(self.url("postgres"), connect_timeout=2):
                    return True
            except psycopg.OperationalError:
                time.sleep(0.05)
        self._halt()
        return False

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database; its URL."""
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def log(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """Stop the server (a fast shutdown: sessions are ended) and remove its folder."""
        self._halt()
        shutil.rmtree(self.root, ignore_errors=True)

    def _halt(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
