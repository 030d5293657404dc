"""Local times on the command line: DST gaps and repeats, the display zone, labels.

Issues 9.13 (gap times), 8.6 (a DST test) and 12 (one labelled display zone).
"""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Run, assert_bad_setup, phone


def test_a_time_the_clocks_skip_is_shifted_forward_and_said(cli: Run, new_york: str) -> None:
    # 2027-03-14: New York's clocks jump from 02:00 EST to 03:00 EDT.
    result = cli(
        "mailing", "add", "--start", "2027-03-14T02:30", "--end", "2027-03-14T05:00",
        "--text", "x", "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert result.json()["start_at"] == "2027-03-14T07:30:00+00:00"  # = 03:30 EDT
    assert result.err_lines == [
        "notifier-tui: note: --start 2027-03-14T02:30 does not exist in America/New_York"
        " (the clocks skip it); shifted forward by the gap: stored 2027-03-14 03:30 EDT"
        " (2027-03-14T07:30:00+00:00)"
    ]


def test_a_time_the_clocks_show_twice_is_the_first(cli: Run, new_york: str) -> None:
    # 2027-11-07: 01:00-02:00 happens in EDT, then again in EST.
    result = cli(
        "mailing", "add", "--start", "2027-11-07T00:00", "--end", "2027-11-07T01:30",
        "--text", "x", "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert result.json()["end_at"] == "2027-11-07T05:30:00+00:00"  # 01:30 EDT, the first
    assert result.err_lines == [
        "notifier-tui: note: --end 2027-11-07T01:30 happens twice in America/New_York"
        " (the clocks go back); taken as the first: stored 2027-11-07 01:30 EDT"
        " (2027-11-07T05:30:00+00:00)"
    ]


def test_ordinary_local_times_have_no_note(cli: Run, new_york: str) -> None:
    result = cli(
        "mailing",
        "add",
        "--start",
        "2027-03-14T04:00",
        "--end",
        "2027-03-15T04:00",
        "--text",
        "x",
        "--json",
    )
    assert (result.code, result.err) == (0, "")
    assert result.json()["start_at"] == "2027-03-14T08:00:00+00:00"


def test_a_period_across_a_dst_change(cli: Run, ok: Any, local_tz: str) -> None:
    # Berlin springs forward on 2030-03-31: noon to noon is 23 hours.
    doc = ok(
        "mailing", "add", "--start", "2030-03-30T12:00", "--end", "2030-03-31T12:00", "--text", "x"
    )
    start, end = (datetime.fromisoformat(doc[k]) for k in ("start_at", "end_at"))
    assert end - start == timedelta(hours=23)
    assert (doc["start_at"], doc["end_at"]) == (
        "2030-03-30T11:00:00+00:00",
        "2030-03-31T10:00:00+00:00",
    )
    row = cli("mailing", "list").out.splitlines()[1]
    # Each time carries the abbreviation in force then: the change is visible.
    assert "2030-03-30 12:00 CET" in row and "2030-03-31 12:00 CEST" in row
    shown = cli("mailing", "show", "1").out
    assert "start:     2030-03-30 12:00 CET (Europe/Berlin, UTC+01:00)" in shown
    assert "end:       2030-03-31 12:00 CEST (UTC+02:00)" in shown


def test_display_timezone_reads_and_shows_times(
    cli: Run, ok: Any, local_tz: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFIER_DISPLAY_TIMEZONE", "Asia/Tokyo")
    doc = ok(
        "mailing", "add", "--start", "2030-07-01T09:00", "--end", "2030-07-02T09:00Z", "--text", "x"
    )
    assert doc["start_at"] == "2030-07-01T00:00:00+00:00"  # 09:00 in Tokyo, not in Berlin
    shown = cli("mailing", "show", "1").out
    assert "2030-07-01 09:00 JST (Asia/Tokyo, UTC+09:00)" in shown
    assert cli("config", "show", "--json").json()["display_timezone"] == {
        "value": "Asia/Tokyo",
        "source": "env NOTIFIER_DISPLAY_TIMEZONE",
    }


def test_display_timezone_in_the_config_file(
    cli: Run, ok: Any, isolated_env: Path, local_tz: str
) -> None:
    cfg = isolated_env / "config" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text('display_timezone = "UTC"\n', encoding="utf-8")
    ok(
        "mailing",
        "add",
        "--start",
        "2030-07-01T09:00Z",
        "--end",
        "2030-07-02T09:00Z",
        "--text",
        "x",
    )
    assert "2030-07-01 09:00 UTC" in cli("mailing", "list").out


def test_default_display_zone_is_the_machines(cli: Run, ok: Any, local_tz: str) -> None:
    ok(
        "mailing",
        "add",
        "--start",
        "2030-07-01T07:00Z",
        "--end",
        "2030-07-02T09:00Z",
        "--text",
        "x",
    )
    assert "2030-07-01 09:00 CEST (Europe/Berlin, UTC+02:00)" in cli("mailing", "show", "1").out


@pytest.mark.parametrize("zone", ["localtime", "posixrules", "Mars/Base"])
def test_bad_display_timezone(run_raw: Run, monkeypatch: pytest.MonkeyPatch, zone: str) -> None:
    monkeypatch.setenv("NOTIFIER_DISPLAY_TIMEZONE", zone)
    assert_bad_setup(run_raw("mailing", "list"), "NOTIFIER_DISPLAY_TIMEZONE")


def test_list_piped_to_head_ends_quietly_with_0(db: Path, tmp_path: Path) -> None:
    src = tmp_path / "many.csv"
    with open(src, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["phone", "tag", "timezone"])
        writer.writerows([phone(i), f"tag-{i}", "Europe/Moscow"] for i in range(20_000))
    base = [sys.executable, "-m", "notifier_tui", "--db", str(db)]
    done = subprocess.run([*base, "client", "import", str(src)], capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    # `notifier-tui client list | head -1`: far more than a pipe buffer, and the reader
    # leaves after one line.
    proc = subprocess.Popen(
        [*base, "client", "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    try:
        code = proc.wait(timeout=60)
    finally:
        proc.kill()
    err = proc.stderr.read()
    proc.stderr.close()
    assert first.split()[:2] == [b"ID", b"PHONE"]
    assert (code, err) == (0, b"")
