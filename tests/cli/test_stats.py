"""``notifier-tui stats``: the JSON shapes the README documents, filters, paging, text form."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from notifier_tui.core.rules import ALL_STATUSES
from notifier_tui.core.store import Store
from tests.cli.conftest import Run, assert_bad_input, dump, phone

MAILING_KEYS = {
    "id", "text", "start_at", "end_at", "state", "total", "by_status",
    "encoding", "segments", "segments_sent",
}  # fmt: skip
MESSAGE_KEYS = {
    "id", "client_id", "phone", "status", "created_at", "sent_at", "attempts", "last_error",
    "error_class",
}  # fmt: skip


@pytest.fixture
def sent_mailing(ok, db: Path) -> int:
    """Mailing 1 with five messages: 2 sent, 1 failed, 2 pending; mailing 2 scheduled."""
    for n in range(1, 6):
        ok("client", "add", "--phone", phone(n))
    ok("mailing", "add", "--start", "-1m", "--end", "+1h", "--text", "Hello")
    ok("mailing", "add", "--start", "+1d", "--end", "+2d", "--text", "Later")
    # What the sender does when a mailing starts: one pending message per client.
    store = Store(db)
    try:
        assert store.materialize_due() == [(1, 5)]
    finally:
        store.close()
    sent_at = datetime.now(UTC).timestamp()
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "UPDATE message SET status = 'sent', sent_at = ?, attempts = 1 WHERE id IN (1, 2)",
            (sent_at,),
        )
        conn.execute(
            "UPDATE message SET status = 'failed', attempts = 3, last_error = 'HTTP 400: bad"
            " phone' WHERE id = 3"
        )
    conn.close()
    return 1


def test_overall_json_shape(ok, sent_mailing: int) -> None:
    doc = ok("stats")
    assert set(doc) == {"mailings", "totals"}
    assert [m["id"] for m in doc["mailings"]] == [2, 1]
    for m in doc["mailings"]:
        assert set(m) == MAILING_KEYS
        assert set(m["by_status"]) == set(ALL_STATUSES)
        assert datetime.fromisoformat(m["start_at"]).utcoffset() is not None
    first = doc["mailings"][1]
    assert (first["text"], first["state"], first["total"]) == ("Hello", "active", 5)
    assert first["by_status"] == {
        "pending": 2, "sending": 0, "sent": 2, "failed": 1, "expired": 0, "cancelled": 0
    }  # fmt: skip
    assert doc["mailings"][0]["total"] == 0
    assert set(doc["totals"]) == {"total", "by_status", "segments_sent"}
    assert doc["totals"]["total"] == 5
    assert doc["totals"]["by_status"] == first["by_status"]


def test_empty_store(ok, cli: Run) -> None:
    doc = ok("stats")
    assert doc == {
        "mailings": [],
        "totals": {"total": 0, "by_status": dict.fromkeys(ALL_STATUSES, 0), "segments_sent": 0},
    }
    assert cli("stats").code == 0


def test_one_mailing_json_shape(ok, sent_mailing: int) -> None:
    doc = ok("stats", "1")
    assert set(doc) == {"mailing", "by_status", "by_error", "segments_sent", "messages"}
    assert doc["mailing"]["id"] == 1
    assert set(doc["mailing"]) >= MAILING_KEYS
    assert doc["by_status"]["sent"] == 2
    assert set(doc["by_status"]) == set(ALL_STATUSES)
    assert [m["id"] for m in doc["messages"]] == [1, 2, 3, 4, 5]
    for m in doc["messages"]:
        # DESIGN's fields, plus next_attempt_at, which the core adds for the retry view.
        assert set(m) == MESSAGE_KEYS | {"next_attempt_at"}
    sent = doc["messages"][0]
    assert (sent["client_id"], sent["phone"], sent["status"], sent["attempts"]) == (
        1, phone(1), "sent", 1
    )  # fmt: skip
    assert datetime.fromisoformat(sent["sent_at"]).utcoffset() is not None
    assert datetime.fromisoformat(sent["created_at"]).utcoffset() is not None
    failed = doc["messages"][2]
    assert (failed["status"], failed["last_error"], failed["sent_at"]) == (
        "failed", "HTTP 400: bad phone", None
    )  # fmt: skip


def test_status_limit_offset(ok, sent_mailing: int) -> None:
    assert [m["id"] for m in ok("stats", "1", "--status", "sent")["messages"]] == [1, 2]
    assert [m["id"] for m in ok("stats", "1", "--status", "pending")["messages"]] == [4, 5]
    assert [m["id"] for m in ok("stats", "1", "--limit", "2")["messages"]] == [1, 2]
    assert [m["id"] for m in ok("stats", "1", "--limit", "2", "--offset", "2")["messages"]] == [
        3, 4
    ]  # fmt: skip
    assert [m["id"] for m in ok("stats", "1", "--offset", "4")["messages"]] == [5]
    # --limit 0: the counts without the messages.
    doc = ok("stats", "1", "--limit", "0")
    assert (doc["messages"], doc["by_status"]["sent"]) == ([], 2)
    assert ok("stats", "1", "--status", "expired")["messages"] == []


def test_text_output(cli: Run, sent_mailing: int) -> None:
    overall = cli("stats").out.splitlines()
    assert overall[0].split() == [
        "ID", "STATE", "START", "END", "TOTAL",
        "PENDING", "SENDING", "SENT", "FAILED", "EXPIRED", "CANCELLED", "SEGMENTS", "TEXT",
    ]  # fmt: skip
    assert overall[-1].split() == ["total", "5", "2", "0", "2", "1", "0", "0", "2"]

    one = cli("stats", "1").out
    assert "mailing: 1 (active)" in one
    assert "HTTP 400: bad phone" in one
    assert phone(5) in one
    limited = cli("stats", "1", "--limit", "2").out
    assert "(2 of 5 messages shown; use --limit/--offset to page)" in limited
    assert "no expired messages" in cli("stats", "1", "--status", "expired").out


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["stats", "9"], "mailing"),
        (["stats", "x"], "MAILING_ID"),
        (["stats", "1", "--status", "sentt"], "--status"),
        (["stats", "1", "--limit", "-3"], "--limit"),
        (["stats", "1", "--offset", "x"], "--offset"),
        (["stats", "--status", "sent"], "--status"),
        (["stats", "--limit", "1"], "--limit"),
    ],
)
def test_bad_input(cli: Run, db: Path, sent_mailing: int, argv: list[str], field: str) -> None:
    before = dump(db)
    assert_bad_input(cli(*argv, "--json"), field)
    assert_bad_input(cli(*argv), field)
    assert dump(db) == before
