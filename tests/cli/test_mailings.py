"""``notifier-tui mailing ...``: every action, WHEN parsing, and every bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.cli.conftest import Run, assert_bad_input, dump


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_add_prints_the_created_mailing(ok) -> None:
    doc = ok(
        "mailing", "add",
        "--start", "2030-01-01T09:00+03:00",
        "--end", "2030-01-02T09:00+03:00",
        "--text", "Hello",
        "--operator", "900", "--operator", "926",
        "--tag", "vip", "--tag", "new",
        "--window", "09:00-21:00",
    )  # fmt: skip
    assert doc["id"] == 1
    assert doc["text"] == "Hello"
    assert doc["start_at"] == "2030-01-01T06:00:00+00:00"
    assert doc["end_at"] == "2030-01-02T06:00:00+00:00"
    assert doc["operator_codes"] == ["900", "926"]
    assert doc["tags"] == ["new", "vip"]
    assert doc["window"] == "09:00-21:00"
    assert doc["state"] == "scheduled"
    assert (doc["paused"], doc["cancelled"], doc["total"]) == (False, False, 0)


def test_relative_when(ok) -> None:
    before = datetime.now(UTC)
    doc = ok("mailing", "add", "--start", "now", "--end", "+2h", "--text", "x")
    start, end = _at(doc["start_at"]), _at(doc["end_at"])
    assert before - timedelta(seconds=1) <= start <= datetime.now(UTC)
    assert end - start == timedelta(hours=2)
    assert doc["state"] == "active"


def test_when_without_offset_is_local_time_with_its_dst(ok, local_tz: str) -> None:
    # Berlin is UTC+2 in July and UTC+1 in January, whatever the date today.
    summer = ok(
        "mailing", "add", "--start", "2030-07-01T09:00", "--end", "2030-07-01T10:00", "--text", "x"
    )
    winter = ok(
        "mailing", "add", "--start", "2030-01-15T09:00", "--end", "2030-01-15T10:00", "--text", "x"
    )
    assert summer["start_at"] == "2030-07-01T07:00:00+00:00"
    assert winter["start_at"] == "2030-01-15T08:00:00+00:00"


def test_text_output_shows_local_times(cli: Run, local_tz: str) -> None:
    result = cli(
        "mailing",
        "add",
        "--start",
        "2030-07-01T07:00Z",
        "--end",
        "2030-07-01T08:00Z",
        "--text",
        "Summer sale",
    )
    assert result.code == 0
    header, row = result.out.splitlines()
    assert header.split()[:3] == ["ID", "STATE", "START"]
    assert "2030-07-01 09:00" in row and "2030-07-01 10:00" in row
    assert row.rstrip().endswith("Summer sale")


def test_update(ok) -> None:
    ok(
        "mailing",
        "add",
        "--start",
        "2030-01-01T09:00Z",
        "--end",
        "2030-01-02T09:00Z",
        "--text",
        "a",
        "--tag",
        "vip",
        "--operator",
        "900",
        "--window",
        "22:00-06:00",
    )
    doc = ok("mailing", "update", "1", "--text", "b")
    assert (doc["text"], doc["tags"], doc["window"]) == ("b", ["vip"], "22:00-06:00")
    doc = ok("mailing", "update", "1", "--end", "2030-01-03T09:00Z")
    assert doc["end_at"] == "2030-01-03T09:00:00+00:00"
    doc = ok("mailing", "update", "1", "--window", "")
    assert doc["window"] is None
    doc = ok("mailing", "update", "1", "--operator", "", "--tag", "")
    assert (doc["operator_codes"], doc["tags"]) == ([], [])
    doc = ok("mailing", "update", "1", "--tag", "a", "--tag", "b")
    assert doc["tags"] == ["a", "b"]


def test_pause_resume_cancel_show_list_delete(cli: Run, ok) -> None:
    ok("mailing", "add", "--start", "now", "--end", "+1h", "--text", "one")
    ok("mailing", "add", "--start", "+1d", "--end", "+2d", "--text", "two")
    assert ok("mailing", "pause", "1")["state"] == "paused"
    assert ok("mailing", "resume", "1")["state"] == "active"
    doc = ok("mailing", "cancel", "1")
    assert (doc["state"], doc["cancelled"]) == ("cancelled", True)
    shown = ok("mailing", "show", "1")
    assert shown == doc
    # Latest start first.
    assert [m["id"] for m in ok("mailing", "list")] == [2, 1]
    assert ok("mailing", "delete", "1") == {"deleted": 1}
    assert [m["id"] for m in ok("mailing", "list")] == [2]

    for action in ("pause", "resume", "cancel"):
        result = cli("mailing", action, "2")
        assert result.code == 0
        assert result.out.splitlines()[0].split()[:2] == ["ID", "STATE"]
    text = cli("mailing", "show", "2").out
    assert "state:" in text and "text:\n  two" in text
    assert cli("mailing", "delete", "2").out.strip() == "deleted mailing 2"
    assert cli("mailing", "list").out.strip() == "no mailings"


def test_multiline_text_stays_on_one_table_row(cli: Run, ok) -> None:
    ok("mailing", "add", "--start", "now", "--end", "+1h", "--text", "line one\nline two")
    lines = cli("mailing", "list").out.splitlines()
    assert len(lines) == 2
    # The line break is shown escaped (issue 9.11), not as a space.
    assert lines[1].endswith("line one\\nline two")


# --- bad input -------------------------------------------------------------------

_OK = ["--start", "2030-01-01T09:00Z", "--end", "2030-01-02T09:00Z"]

BAD = [
    pytest.param(
        [
            "mailing",
            "add",
            "--start",
            "2030-01-02T09:00Z",
            "--end",
            "2030-01-01T09:00Z",
            "--text",
            "x",
        ],
        "end_at",
        id="end-before-start",
    ),
    pytest.param(
        [
            "mailing",
            "add",
            "--start",
            "2030-01-01T09:00Z",
            "--end",
            "2030-01-01T09:00Z",
            "--text",
            "x",
        ],
        "end_at",
        id="end-equals-start",
    ),
    pytest.param(["mailing", "add", *_OK, "--text", ""], "text", id="empty-text"),
    pytest.param(["mailing", "add", *_OK, "--text", "   "], "text", id="blank-text"),
    pytest.param(["mailing", "add", *_OK, "--text", "x" * 2001], "text", id="text-too-long"),
    pytest.param(
        ["mailing", "add", *_OK, "--text", "x", "--window", "9-21"], "window", id="bad-window"
    ),
    pytest.param(
        ["mailing", "add", *_OK, "--text", "x", "--window", "25:00-06:00"],
        "window",
        id="window-hour-out-of-range",
    ),
    pytest.param(
        ["mailing", "add", *_OK, "--text", "x", "--window", "09:00-09:00"],
        "window",
        id="empty-window",
    ),
    pytest.param(
        ["mailing", "add", "--start", "tomorrow", "--end", "+1d", "--text", "x"],
        "start_at",
        id="bad-start-when",
    ),
    pytest.param(
        ["mailing", "add", "--start", "now", "--end", "2030-13-01", "--text", "x"],
        "end_at",
        id="bad-end-when",
    ),
    pytest.param(
        ["mailing", "add", *_OK, "--text", "x", "--operator", "90"],
        "operator_code",
        id="bad-operator",
    ),
    pytest.param(
        ["mailing", "add", *_OK, "--text", "x", "--tag", "t" * 65], "tag", id="tag-too-long"
    ),
    pytest.param(["mailing", "add", *_OK], "--text", id="missing-text"),
    pytest.param(
        ["mailing", "update", "1", "--end", "2029-01-01T00:00Z"],
        "end_at",
        id="update-end-before-start",
    ),
    pytest.param(["mailing", "update", "1", "--text", ""], "text", id="update-empty-text"),
    pytest.param(["mailing", "update", "1", "--window", "x"], "window", id="update-bad-window"),
    pytest.param(["mailing", "update", "1", "--start", "soon"], "start_at", id="update-bad-when"),
    pytest.param(["mailing", "update", "1"], "mailing update", id="update-nothing"),
    pytest.param(["mailing", "update", "9", "--text", "x"], "mailing", id="update-unknown"),
    pytest.param(["mailing", "delete", "9"], "mailing", id="delete-unknown"),
    pytest.param(["mailing", "pause", "9"], "mailing", id="pause-unknown"),
    pytest.param(["mailing", "resume", "9"], "mailing", id="resume-unknown"),
    pytest.param(["mailing", "cancel", "9"], "mailing", id="cancel-unknown"),
    pytest.param(["mailing", "show", "9"], "mailing", id="show-unknown"),
    pytest.param(["mailing", "pause", "0"], "MAILING_ID", id="zero-id"),
    pytest.param(["mailing", "pause", "x"], "MAILING_ID", id="non-integer-id"),
    pytest.param(["mailing", "pause", "2"], "mailing", id="pause-cancelled"),
    pytest.param(["mailing"], "mailing", id="no-action"),
]


@pytest.mark.parametrize(("argv", "field"), BAD)
def test_bad_input_exits_2_names_the_field_and_writes_nothing(
    cli: Run, ok, db: Path, argv: list[str], field: str
) -> None:
    ok("mailing", "add", *_OK, "--text", "first", "--window", "09:00-21:00")
    ok("mailing", "add", *_OK, "--text", "second")
    ok("mailing", "cancel", "2")
    before = dump(db)
    assert_bad_input(cli(*argv), field)
    assert_bad_input(cli(*argv, "--json"), field)
    assert dump(db) == before
