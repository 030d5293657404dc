"""Fixtures for the command-line tests: the real entry point on a real SQLite file.

Every test runs with its config, data and log directories in ``tmp_path`` and
no ``NOTIFIER_*`` variable from the developer's shell, so a local config file
or token can neither change a result nor leak into one.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from notifier_tui.cli.entry import main

TABLES = ("client", "mailing", "message")


@dataclass(frozen=True)
class Result:
    """One run of ``main``: exit status and what it printed."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        """stdout as exactly one JSON document (json.loads refuses two)."""
        return json.loads(self.out)

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


Run = Callable[..., Result]


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("NOTIFIER_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    monkeypatch.setenv("NOTIFIER_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("NOTIFIER_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("NOTIFIER_LOG_DIR", str(home / "log"))
    return home


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


@pytest.fixture
def run_raw(capsys: pytest.CaptureFixture[str]) -> Run:
    """``main(argv)`` exactly as given, returning a :class:`Result`."""

    def run(*argv: str) -> Result:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def cli(run_raw: Run, db: Path) -> Run:
    """``main(["--db", db, *argv])``: a subcommand on the test's store."""

    def run(*argv: str) -> Result:
        return run_raw("--db", str(db), *argv)

    return run


@pytest.fixture
def ok(cli: Run) -> Callable[..., Any]:
    """Run a subcommand with ``--json``, assert it succeeded, return its document."""

    def run(*argv: str) -> Any:
        result = cli(*argv, "--json")
        assert result.code == 0, result.err
        return result.json()

    return run


def dump(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the data tables, to prove a failed command wrote nothing."""
    if not db.exists():
        return {}
    conn = sqlite3.connect(db)
    try:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in TABLES}
    finally:
        conn.close()


def assert_bad_input(result: Result, field: str, code: int = 2) -> None:
    """Exit 2, nothing on stdout, one stderr line naming the field, no traceback."""
    assert result.code == code, (result.out, result.err)
    assert result.out == ""
    assert len(result.err_lines) == 1, result.err
    assert result.err_lines[0].startswith(f"notifier-tui: error: {field}: "), result.err
    assert "Traceback" not in result.err


def assert_bad_setup(result: Result, field: str) -> None:
    """Like :func:`assert_bad_input`, with exit 78 (EX_CONFIG): the setup, not the input."""
    assert_bad_input(result, field, code=78)


def phone(n: int) -> str:
    """A distinct valid phone for ``n`` (operator 900)."""
    return f"7900{n:07d}"


@contextlib.contextmanager
def machine_zone(name: str) -> Iterator[str]:
    """Set the process's local timezone (``TZ``) to ``name`` for the block."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield name
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()


@pytest.fixture
def local_tz() -> Iterator[str]:
    """Run with the process's local timezone set to Europe/Berlin (it has DST)."""
    with machine_zone("Europe/Berlin") as name:
        yield name


@pytest.fixture
def new_york() -> Iterator[str]:
    """Run with the process's local timezone set to America/New_York."""
    with machine_zone("America/New_York") as name:
        yield name
