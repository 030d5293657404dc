"""No raw control character reaches the terminal, and none gets into the store (issue 9.11)."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from tests.cli.conftest import Run, assert_bad_input, dump, phone

ESC_CLEAR = "\x1b[2J"
ESC_TITLE = "\x1b]0;pwned\x07"
# Anything a terminal acts on: C0 but the line feed, DEL, C1, bidi overrides.
RAW = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def assert_no_raw_controls(*texts: str) -> None:
    for text in texts:
        assert not RAW.search(text), repr(text)


@pytest.mark.parametrize(
    "tag", [ESC_CLEAR, ESC_TITLE, "vip\x00", "a\nb", "a\tb", "x\x9b2J", "del\x7f", "\x85"]
)
def test_control_characters_in_a_tag_are_refused(cli: Run, db: Path, tag: str) -> None:
    result = cli("client", "add", "--phone", phone(1), "--tag", tag)
    assert_bad_input(result, "tag")
    assert "must not contain control characters, found U+" in result.err
    assert_no_raw_controls(result.err)
    assert dump(db).get("client", []) == []


@pytest.mark.parametrize("raw", ["7900\x1f1234567", "79001234567\x00", "\x1b[2J79001234567"])
def test_control_characters_in_a_phone_are_refused(cli: Run, raw: str) -> None:
    # "\x1f" is whitespace to Python's \s: without the check it would be dropped silently.
    result = cli("client", "add", "--phone", raw)
    assert_bad_input(result, "phone")
    assert "control characters" in result.err
    assert_no_raw_controls(result.err)


@pytest.mark.parametrize("text", [f"sale{ESC_CLEAR}", ESC_TITLE, "a\x00b", "a\x9bb", "a\x7f"])
def test_control_characters_in_a_text_are_refused(cli: Run, text: str) -> None:
    result = cli("mailing", "add", "--start", "now", "--end", "+1h", "--text", text)
    assert_bad_input(result, "text")
    assert_no_raw_controls(result.err)


def test_text_with_line_breaks_and_tabs_is_kept_and_shown_escaped(cli: Run, ok) -> None:
    doc = ok("mailing", "add", "--start", "now", "--end", "+1h", "--text", "one\n\ttwo\r\nthree")
    assert doc["text"] == "one\n\ttwo\r\nthree"  # stored as given
    table = cli("mailing", "list").out
    assert table.splitlines()[1].endswith("one\\n\\ttwo\\r\\nthree")
    shown = cli("mailing", "show", "1").out
    # The whole text keeps its lines; the tab and the CR are shown, not obeyed.
    assert "text:\n  one\n  \\ttwo\\r\n  three" in shown
    assert_no_raw_controls(table, shown)


def test_a_nul_in_a_csv_tag_is_refused_by_line(cli: Run, db: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(
        f"phone,tag,timezone\n{phone(1)},ok,UTC\n{phone(2)},bad\x00tag,UTC\n"
        f"{phone(3)},{ESC_CLEAR},UTC\n",
        encoding="utf-8",
    )
    result = cli("client", "import", str(src))
    assert result.code == 2
    assert result.err_lines[0].startswith("line 3: tag: must not contain control characters")
    assert result.err_lines[1].startswith("line 4: tag: must not contain control characters")
    assert_no_raw_controls(result.err)
    assert dump(db)["client"] == []  # all or nothing
    skipped = cli("client", "import", str(src), "--skip-invalid", "--json")
    assert skipped.code == 0
    assert [c[1] for c in dump(db)["client"]] == [phone(1)]


def _poison(db: Path) -> None:
    """Control characters written straight into the file, as an older version let in."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("UPDATE client SET tag = ?", (f"t{ESC_CLEAR}\x9b31m",))
        conn.execute("UPDATE mailing SET text = ?", (f"x{ESC_TITLE}\u202eevil\nline2",))
        conn.execute("UPDATE message SET last_error = ?", (f"gw said {ESC_CLEAR}",))
        conn.commit()
    finally:
        conn.close()


def test_stored_control_characters_are_never_printed_raw(cli: Run, ok, db: Path) -> None:
    ok("client", "add", "--phone", phone(1), "--tag", "t")
    ok("mailing", "add", "--start", "-1m", "--end", "+1h", "--text", "x")
    ok("stats", "1")  # the mailing is active: its audience is built on first read
    _poison(db)
    outputs = []
    for argv in (
        ["client", "list"],
        ["mailing", "list"],
        ["mailing", "show", "1"],
        ["stats"],
        ["stats", "1"],
    ):
        for as_json in ([], ["--json"]):
            result = cli(*argv, *as_json)
            assert result.code == 0, (argv, result.err)
            outputs.append(result.out + result.err)
            if as_json:
                json.loads(result.out)  # escaped, and still one valid document
    assert_no_raw_controls(*outputs)
    listed = cli("client", "list").out
    assert "t\\x1b[2J\\x9b31m" in listed
    # JSON keeps the exact value, written as \\u escapes.
    doc = cli("client", "list", "--json")
    assert "\\u001b[2J\\u009b31m" in doc.out
    assert doc.json()[0]["tag"] == f"t{ESC_CLEAR}\x9b31m"


@pytest.mark.parametrize("zone", ["localtime", "posixrules", "posix/Europe/Moscow", "right/UTC"])
def test_zone_files_that_are_not_zones_are_refused(cli: Run, zone: str) -> None:
    result = cli("client", "add", "--phone", phone(1), "--tz", zone)
    assert_bad_input(result, "timezone")
    assert "not a zone" in result.err
