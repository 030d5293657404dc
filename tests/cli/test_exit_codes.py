"""One exit status per class of failure, in the CLI and the daemon alike (issue 9.12).

2 is bad input, 78 an unusable setup (EX_CONFIG), 1 transient or unexpected.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import peewee
import pytest

from notifier_tui.core.store import schema
from tests.cli.conftest import Run, assert_bad_input, assert_bad_setup, dump, phone


def test_help_documents_the_exit_statuses(run_raw: Run) -> None:
    out = " ".join(run_raw("--help").out.split())
    for part in (
        "Exit status: 0 ok",
        "1 transient or unexpected",
        "2 bad input",
        "78 unusable setup",
    ):
        assert part in out


# --- was exit 1, is bad input ---------------------------------------------------


def test_text_that_is_not_utf8_is_bad_input(cli: Run, db: Path) -> None:
    # "a\udcffb" is how Python passes the bytes a \xff b of a non-UTF-8 argument.
    result = cli("mailing", "add", "--start", "now", "--end", "+1h", "--text", "a\udcffb")
    assert_bad_input(result, "--text")
    assert "valid UTF-8" in result.err
    assert_bad_input(cli("client", "list", "--search", "\udcff"), "--search")


def test_non_utf8_argument_in_a_real_process(db: Path, tmp_path: Path) -> None:
    argv = [sys.executable.encode(), b"-m", b"notifier_tui", b"--db", str(db).encode()]
    argv += [b"mailing", b"add", b"--start", b"now", b"--end", b"+1h", b"--text", b"caf\xe9"]
    result = subprocess.run(argv, capture_output=True, timeout=60, check=False, cwd=Path.cwd())
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(b"notifier-tui: error: --text: must be valid UTF-8")
    assert b"Traceback" not in result.stderr


def test_year_out_of_range_is_bad_input(cli: Run, local_tz: str) -> None:
    # Berlin is east of UTC: local 0001-01-01 00:00 is in year 0 in UTC.
    result = cli("mailing", "add", "--start", "0001-01-01T00:00", "--end", "+1h", "--text", "x")
    assert_bad_input(result, "start_at")
    assert "outside the supported dates" in result.err


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["client", "update", "99999999999999999999999", "--tag", "x"], "CLIENT_ID"),
        (["client", "delete", "9223372036854775808"], "CLIENT_ID"),
        (["mailing", "show", "99999999999999999999999"], "MAILING_ID"),
        (["stats", "1", "--limit", "99999999999999999999"], "--limit"),
        (["client", "list", "--limit", "99999999999999999999"], "--limit"),
    ],
)
def test_ids_and_counts_past_sqlite_integers_are_bad_input(
    cli: Run, argv: list[str], field: str
) -> None:
    assert_bad_input(cli(*argv), field)


def test_largest_id_is_just_not_found(cli: Run) -> None:
    assert_bad_input(cli("client", "update", "9223372036854775807", "--tag", "x"), "client")


# --- settings: a flag is input (2), env and config file are setup (78) ----------


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--timeout", "nan"), ("--timeout", "inf"), ("--rate-limit", "nan"), ("--rate-limit", "inf")],
)
def test_non_finite_numbers_are_refused(
    run_raw: Run, isolated_env: Path, monkeypatch: pytest.MonkeyPatch, flag: str, value: str
) -> None:
    result = run_raw(flag, value, "config", "show")
    assert_bad_input(result, flag)
    assert f"must be a finite number, got '{value}'" in result.err
    name = flag[2:].replace("-", "_")
    env = f"NOTIFIER_{name.upper()}"
    monkeypatch.setenv(env, value)
    assert_bad_setup(run_raw("config", "show"), env)
    monkeypatch.delenv(env)
    cfg = isolated_env / "config" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(f"{name} = {value}\n", encoding="utf-8")  # TOML has nan and inf
    assert_bad_setup(run_raw("config", "show"), f"{cfg}: {name}")


def test_config_error_names_file_and_key_in_user_words(run_raw: Run, isolated_env: Path) -> None:
    cfg = isolated_env / "config" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text("concurrency = 'lots'\n", encoding="utf-8")
    result = run_raw("client", "list")
    assert result.code == 78
    assert result.err_lines == [
        f"notifier-tui: error: {cfg}: concurrency: must be a whole number, got 'lots'"
    ]


def test_env_error_names_the_variable(run_raw: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFIER_CONCURRENCY", "lots")
    result = run_raw("client", "list")
    assert result.code == 78
    assert result.err_lines == [
        "notifier-tui: error: NOTIFIER_CONCURRENCY: must be a whole number, got 'lots'"
    ]


# --- the store ---------------------------------------------------------------------


def _not_sqlite(path: Path) -> None:
    path.write_bytes(b"definitely not sqlite\n" * 200)


def _newer_schema(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()


def _corrupt_schema_row(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = 'two' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()


BROKEN_STORES = {
    "not-sqlite": (_not_sqlite, "file is not a database"),
    "newer-schema": (_newer_schema, "newer than this program"),
    "corrupt-schema-row": (_corrupt_schema_row, "schema version is unreadable"),
}


def _break(kind: str, ok: Any, db: Path) -> str:
    ok("client", "add", "--phone", phone(1))
    breaker, words = BROKEN_STORES[kind]
    if kind == "not-sqlite":
        for leftover in db.parent.glob(db.name + "*"):
            leftover.unlink()
    breaker(db)
    return words


@pytest.mark.parametrize("kind", sorted(BROKEN_STORES))
def test_unusable_store_exits_78(cli: Run, ok: Any, db: Path, kind: str) -> None:
    words = _break(kind, ok, db)
    for argv in (
        ["client", "list"],
        ["mailing", "add", "--start", "now", "--end", "+1h", "--text", "x"],
    ):
        result = cli(*argv)
        assert_bad_setup(result, "db")
        assert words in result.err


@pytest.mark.parametrize("kind", sorted(BROKEN_STORES))
def test_daemon_exits_like_the_cli(run_raw: Run, ok: Any, db: Path, kind: str) -> None:
    _break(kind, ok, db)
    result = run_raw("--db", str(db), "--daemon")
    assert result.code == 78, result.err
    assert "Traceback" not in result.err


def test_daemon_refuses_nan_timeout_like_the_cli(run_raw: Run, db: Path) -> None:
    assert_bad_input(run_raw("--db", str(db), "--timeout", "nan", "--daemon"), "--timeout")
    assert not db.exists()


@pytest.fixture
def limited_pages(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Open every store with extra SQLite pragmas: a page cap is a real SQLITE_FULL."""
    extra: dict[str, int] = {}
    real = schema.make_database

    def make(path: Path | str) -> peewee.SqliteDatabase:
        db = real(path)
        db._pragmas = [*db._pragmas, *extra.items()]
        return db

    monkeypatch.setattr(schema, "make_database", make)
    return extra


def test_disk_full_says_disk_full(
    cli: Run, ok: Any, db: Path, tmp_path: Path, limited_pages: dict[str, int]
) -> None:
    ok("client", "add", "--phone", phone(1))
    conn = sqlite3.connect(db)
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    limited_pages["max_page_count"] = pages + 1
    src = tmp_path / "many.csv"
    rows = "".join(f"{phone(i)},{'t' * 60},UTC\n" for i in range(2, 3000))
    src.write_text("phone,tag,timezone\n" + rows, encoding="utf-8")
    before = dump(db)
    result = cli("client", "import", str(src))
    assert result.code == 1, result.err
    assert result.err_lines == [
        "notifier-tui: error: db: disk full: the store could not be written"
        " (nothing was changed); free some space"
    ]
    assert dump(db) == before


def test_read_only_store_exits_78(cli: Run, ok: Any, limited_pages: dict[str, int]) -> None:
    ok("client", "add", "--phone", phone(1))
    limited_pages["query_only"] = 1  # SQLite refuses every write: SQLITE_READONLY
    assert cli("client", "list").code == 0  # reading a read-only store is fine
    result = cli("client", "add", "--phone", phone(2))
    assert_bad_setup(result, "db")
    assert "read-only" in result.err
