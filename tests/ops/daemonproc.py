"""Helpers to run ``notifier-tui --daemon`` as a real subprocess on a real store file.

Each helper bounds its own wait, so a daemon that misbehaves fails the test
instead of hanging it, and :func:`stop` always reaps the process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from notifier_tui.core.store import Store
from tests import waits

TOKEN = "secret-token-value"


def seed(db: Path, clients: int) -> Store:
    """A store with ``clients`` clients and one mailing that is running now.

    The caller closes it (one store may be open per process): see :func:`seeded`.
    """
    store = Store(db)
    store.import_rows(
        (i + 2, {"phone": f"7901{i:07d}", "tag": "", "timezone": "Europe/Moscow"})
        for i in range(clients)
    )
    start = datetime.now(UTC) - timedelta(seconds=1)
    store.create_mailing(start, start + timedelta(minutes=10), "daemon test")
    return store


@contextlib.contextmanager
def seeded(db: Path, clients: int) -> Iterator[Store]:
    """:func:`seed`, closed afterwards whatever the test did."""
    store = seed(db, clients)
    try:
        yield store
    finally:
        store.close()


def daemon_env(tmp_path: Path, name: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a test daemon: its own config and log directories, a fast lease."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTIFIER_")}
    env.update(
        NOTIFIER_CONFIG_DIR=str(tmp_path / "config"),
        NOTIFIER_LOG_DIR=str(tmp_path / f"log-{name}"),
        NOTIFIER_LEASE_TTL="1",
        NOTIFIER_CONCURRENCY="16",
        NOTIFIER_TOKEN=TOKEN,
        NOTIFIER_RETRY_BASE="0.1",
    )
    env.update(extra or {})
    return env


def spawn(
    tmp_path: Path,
    db: Path,
    base_url: str,
    name: str,
    *,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    **popen: Any,
) -> subprocess.Popen[bytes]:
    """Start ``python -m notifier_tui --daemon`` on ``db``, sending to ``base_url``."""
    popen.setdefault("stdout", subprocess.PIPE)
    popen.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "notifier_tui",
            "--db",
            str(db),
            "--base-url",
            base_url,
            "--daemon",
            *args,
        ],
        env=daemon_env(tmp_path, name, env),
        **popen,
    )


def log_text(tmp_path: Path, name: str) -> str:
    path = tmp_path / f"log-{name}" / "notifier.log"
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def counts(store: Store) -> dict[str, int]:
    return dict(
        store.db.execute_sql("SELECT status, COUNT(*) FROM message GROUP BY status").fetchall()
    )


async def until(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    """The suite's one bounded wait (tests/waits.py), with this module's patience."""
    await waits.until(predicate, timeout=timeout, step=0.1)


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> tuple[int, str]:
    """Signal the daemon (unless it ended) and reap it; kill it after 20 s."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return proc.returncode, (err or b"").decode(errors="replace")
