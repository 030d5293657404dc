"""The daemon exits with the command line's statuses, so systemd can tell them apart.

2: bad input (a flag); 78 (EX_CONFIG): an unusable store or setting, which
``RestartPreventExitStatus`` keeps systemd from restarting in a loop; 1:
transient, worth a restart. Each case runs the real daemon on a real file and
needs no gateway: it ends before sending anything.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from notifier_tui.settings.exit_codes import Exit
from tests.ops.daemonproc import daemon_env, seeded

pytestmark = pytest.mark.timeout(60)

UNREACHABLE = "http://127.0.0.1:9"
"""Never contacted: every case ends before the first request."""


def run_daemon(
    tmp_path: Path,
    db: Path,
    *args: str,
    env: dict[str, str] | None = None,
    prefix: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "notifier_tui", "--db", str(db), "--base-url", UNREACHABLE]
    return subprocess.run(
        [*prefix, *argv, "--daemon", *args],
        env=daemon_env(tmp_path, "a", env),
        capture_output=True,
        text=True,
        timeout=40,
    )


def make_store(db: Path) -> None:
    with seeded(db, 3):
        pass


def test_a_file_that_is_not_sqlite_is_unusable(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    db.write_text("name,phone\nnot a database at all\n" * 200, encoding="utf-8")
    result = run_daemon(tmp_path, db)
    assert result.returncode == Exit.CONFIG == 78, result.stderr
    assert "daemon not started" in result.stderr
    assert "not an SQLite store" in result.stderr
    assert db.read_text(encoding="utf-8").startswith("name,phone")  # left as it was


def test_a_newer_schema_is_unusable(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    make_store(db)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    result = run_daemon(tmp_path, db)
    assert result.returncode == Exit.CONFIG, result.stderr
    assert "newer than this program" in result.stderr


@pytest.mark.skipif(
    os.geteuid() == 0 and shutil.which("setpriv") is None,
    reason="root ignores file modes; setpriv is needed to drop that right",
)
def test_a_read_only_store_is_unusable(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    make_store(db)
    db.chmod(0o444)
    # Root writes to any file; without CAP_DAC_OVERRIDE it honours the mode like anyone.
    prefix = (
        ("setpriv", "--bounding-set=-dac_override,-dac_read_search") if os.geteuid() == 0 else ()
    )
    try:
        result = run_daemon(tmp_path, db, prefix=prefix)
    finally:
        db.chmod(0o644)
    assert result.returncode == Exit.CONFIG, result.stderr
    assert "read-only" in result.stderr
    with sqlite3.connect(db) as conn:  # the probe wrote nothing
        assert conn.execute("SELECT COUNT(*) FROM lease").fetchone() == (0,)


def test_a_timeout_flag_that_is_not_a_number_is_bad_input(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    make_store(db)
    result = run_daemon(tmp_path, db, "--timeout", "nan")
    assert result.returncode == Exit.USAGE == 2, result.stderr
    assert "timeout" in result.stderr


def test_a_bad_setting_from_the_environment_is_unusable_setup(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    make_store(db)
    result = run_daemon(tmp_path, db, env={"NOTIFIER_STOP_TIMEOUT": "nan"})
    assert result.returncode == Exit.CONFIG, result.stderr
    assert "NOTIFIER_STOP_TIMEOUT" in result.stderr


def test_a_store_busy_at_start_is_transient(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    make_store(db)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")  # held past the daemon's busy timeout
    try:
        result = run_daemon(tmp_path, db)
    finally:
        conn.execute("ROLLBACK")
        conn.close()
    assert result.returncode == Exit.ERROR == 1, result.stderr
    assert "busy" in result.stderr
