"""A throwaway PostgreSQL server for the tests: a real cluster in a temp dir on a free port.

tests/conftest.py registers this module as a plugin, so every test can ask for:

- ``pg_server`` (session): ``initdb`` + ``pg_ctl start`` of Debian's PostgreSQL
  binaries on 127.0.0.1 and a free port; stopped (``-m immediate``) at the end.
  PostgreSQL refuses to run as root, so as root the cluster belongs to, and
  runs as, the ``postgres`` user (``runuser``); otherwise as the current user.
- ``pg_url`` (function): a fresh, empty database on that server for one test,
  as a ``postgresql://`` URL; dropped afterwards.

Where no PostgreSQL is installed the tests that use them are skipped, unless
``CI`` is set: CI installs it, and a missing server there is a failure.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["PgServer", "pg_server", "pg_url"]

_counter = itertools.count(1)


def _bin_dir() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PgServer:
    """A running cluster: where it listens and how to run its tools."""

    bin_dir: Path
    data: Path
    port: int
    user: str
    as_user: list[str]

    def run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.as_user, str(self.bin_dir / tool), *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def sql(self, statement: str, db: str = "postgres") -> str:
        out = self.run(
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            self.user,
            "-d",
            db,
            "-v",
            "ON_ERROR_STOP=1",
            "-At",
            "-c",
            statement,
        )
        return out.stdout.strip()

    def url(self, db: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{db}"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    bin_dir = _bin_dir()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed; .ci/run installs the postgresql package")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    root = os.geteuid() == 0
    as_user = ["runuser", "-u", "postgres", "--"] if root else []
    user = "postgres" if root else os.environ.get("USER", "postgres")
    base = Path(tempfile.mkdtemp(prefix="notifier-pg-"))
    data = base / "data"
    if root:
        shutil.chown(base, "postgres")
    base.chmod(0o700)
    server = PgServer(bin_dir, data, _free_port(), user, as_user)
    server.run("initdb", "-D", str(data), "-A", "trust", "-U", user, "--no-sync", "-E", "UTF8")
    options = (
        f"-p {server.port} -c listen_addresses=127.0.0.1 -k {base}"
        # A test cluster: durability off, so the suite does not wait on fsync.
        " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        " -c max_connections=200"
    )
    server.run("pg_ctl", "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "start")
    try:
        yield server
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            server.run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    name = f"notifier_test_{os.getpid()}_{next(_counter)}"
    pg_server.sql(f"CREATE DATABASE {name}")
    try:
        yield pg_server.url(name)
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            pg_server.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
