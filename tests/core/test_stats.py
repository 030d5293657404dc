"""Statistics: JSON shapes, counts, paging, and that the heavy queries use indexes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest

from notifier_tui.core.errors import NotFoundError, ValidationError
from notifier_tui.core.records import Outcome
from notifier_tui.core.rules import ALL_STATUSES
from notifier_tui.core.store import Store
from tests.core.conftest import FakeClock, phone


def _iso_aware(text: str) -> bool:
    return datetime.fromisoformat(text).utcoffset() is not None


@pytest.fixture
def populated(store: Store, clock: FakeClock) -> dict[str, int]:
    """Two mailings with a known status mix, one scheduled mailing with none."""
    for i in range(6):
        store.create_client(phone(i), tag="vip" if i < 4 else "")
    start = clock() - timedelta(minutes=1)
    a = store.create_mailing(start, start + timedelta(hours=2), "first").id
    b = store.create_mailing(start, start + timedelta(hours=2), "second", tags=["vip"]).id
    later = store.create_mailing(start + timedelta(days=1), start + timedelta(days=2), "later").id
    store.materialize_due()
    claims = store.claim_due(limit=100)
    a_claims = [c for c in claims if c.mailing_id == a]
    b_claims = [c for c in claims if c.mailing_id == b]
    # a: 3 sent, 1 failed, 1 back to pending, 1 still sending
    outcomes = [Outcome(c.id, "sent", sent_at=clock()) for c in a_claims[:3]]
    outcomes.append(Outcome(a_claims[3].id, "failed", last_error="HTTP 400"))
    outcomes.append(
        Outcome(a_claims[4].id, "pending", last_error="HTTP 503", next_attempt_at=clock())
    )
    # b: 2 sent, 2 failed
    outcomes += [Outcome(c.id, "sent", sent_at=clock()) for c in b_claims[:2]]
    outcomes += [Outcome(c.id, "failed", last_error="HTTP 400") for c in b_claims[2:]]
    store.record_outcomes(outcomes)
    return {"a": a, "b": b, "later": later}


def test_overall_json_shape_and_counts(store: Store, populated: dict[str, int]) -> None:
    data = store.overall_stats().to_json()
    json.dumps(data)  # serialisable as is
    assert set(data) == {"mailings", "totals"}
    by_id = {m["id"]: m for m in data["mailings"]}
    assert set(by_id) == set(populated.values())
    for m in data["mailings"]:
        assert set(m) == {
            "id", "text", "start_at", "end_at", "state", "total", "by_status",
            "encoding", "segments", "segments_sent",
        }  # fmt: skip
        assert m["segments_sent"] == m["segments"] * m["by_status"]["sent"]
        assert list(m["by_status"]) == list(ALL_STATUSES)  # every status, zeros included
        assert _iso_aware(m["start_at"]) and _iso_aware(m["end_at"])
        assert m["total"] == sum(m["by_status"].values())
    a = by_id[populated["a"]]
    assert a["by_status"] == {
        "pending": 1,
        "sending": 1,
        "sent": 3,
        "failed": 1,
        "expired": 0,
        "cancelled": 0,
    }
    assert (a["state"], a["total"], a["text"]) == ("active", 6, "first")
    b = by_id[populated["b"]]
    assert (b["by_status"]["sent"], b["by_status"]["failed"], b["total"]) == (2, 2, 4)
    assert b["state"] == "finished"  # every message final
    later = by_id[populated["later"]]
    assert (later["state"], later["total"]) == ("scheduled", 0)
    assert set(later["by_status"].values()) == {0}
    totals = data["totals"]
    assert totals["total"] == 10
    assert totals["segments_sent"] == sum(m["segments_sent"] for m in data["mailings"])
    assert totals["by_status"] == {
        "pending": 1,
        "sending": 1,
        "sent": 5,
        "failed": 3,
        "expired": 0,
        "cancelled": 0,
    }


def test_overall_empty_store(store: Store) -> None:
    data = store.overall_stats().to_json()
    assert data == {
        "mailings": [],
        "totals": {"total": 0, "by_status": dict.fromkeys(ALL_STATUSES, 0), "segments_sent": 0},
    }


def test_detail_json_shape(store: Store, populated: dict[str, int]) -> None:
    detail = store.mailing_stats(populated["a"])
    data = detail.to_json()
    json.dumps(data)
    assert set(data) == {"mailing", "by_status", "by_error", "segments_sent", "messages"}
    assert data["mailing"]["id"] == populated["a"]
    assert data["by_status"]["sent"] == 3
    assert list(data["by_status"]) == list(ALL_STATUSES)
    assert len(data["messages"]) == 6  # every message without a filter
    required = {"id", "client_id", "phone", "status", "created_at", "sent_at", "attempts"}
    for msg in data["messages"]:
        assert required | {"last_error"} <= set(msg)
        assert _iso_aware(msg["created_at"])
        assert msg["sent_at"] is None or _iso_aware(msg["sent_at"])
    sent = [m for m in data["messages"] if m["status"] == "sent"]
    assert all(m["attempts"] == 1 and m["sent_at"] for m in sent)
    failed = [m for m in data["messages"] if m["status"] == "failed"]
    assert [m["last_error"] for m in failed] == ["HTTP 400"]
    assert detail.matching == 6


def test_detail_filter_and_paging(store: Store, populated: dict[str, int]) -> None:
    mid = populated["a"]
    every = [m.id for m in store.mailing_stats(mid).messages]
    assert every == sorted(every)
    failed = store.mailing_stats(mid, status="failed")
    assert [m.status for m in failed.messages] == ["failed"]
    assert failed.matching == 1
    assert failed.by_status["sent"] == 3  # counts stay complete under a filter
    assert store.mailing_stats(mid, status="expired").messages == []
    assert [m.id for m in store.mailing_stats(mid, limit=2).messages] == every[:2]
    assert [m.id for m in store.mailing_stats(mid, offset=2, limit=3).messages] == every[2:5]
    assert [m.id for m in store.mailing_stats(mid, offset=4).messages] == every[4:]
    sent = store.mailing_stats(mid, status="sent", offset=1, limit=1)
    assert len(sent.messages) == 1 and sent.messages[0].status == "sent"
    assert sent.matching == 3
    with pytest.raises(NotFoundError):
        store.mailing_stats(12345)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"status": "sentt"}, "status"),
        ({"status": "SENT"}, "status"),
        ({"offset": -1}, "offset"),
        ({"limit": -5}, "limit"),
    ],
)
def test_detail_bad_input(
    store: Store, populated: dict[str, int], kwargs: dict, field: str
) -> None:
    # A typo in --status must not look like "no messages with that status".
    with pytest.raises(ValidationError) as err:
        store.mailing_stats(populated["a"], **kwargs)
    assert err.value.field == field


def test_get_message(store: Store, populated: dict[str, int]) -> None:
    first = store.mailing_stats(populated["a"]).messages[0]
    assert store.get_message(first.id) == first


# --- query plans ----------------------------------------------------------------------------

_SCAN = re.compile(r"^SCAN (\w+)(?P<indexed>.*USING (COVERING )?INDEX)?")
_ALIAS = re.compile(r'\b"?(message|client)"?\s+(?:AS\s+)?"?(\w+)"?', re.IGNORECASE)
_KEYWORDS = {"where", "on", "set", "join", "left", "group", "order", "limit", "inner"}


def unindexed_scans(sql: str, lines: list[str], *, full_scan_ok: bool = False) -> list[str]:
    """Plan lines that read all of message or client (or an alias of them).

    With ``full_scan_ok`` (a GROUP BY over every message) reading a whole
    covering index is fine; reading the table itself never is.
    """
    names = {"message", "client"}
    names |= {a for _, a in _ALIAS.findall(sql) if a.lower() not in _KEYWORDS}
    return [
        line
        for line in lines
        if (m := _SCAN.match(line))
        and m.group(1) in names
        and not (full_scan_ok and m.group("indexed"))
    ]


@contextmanager
def recorded_sql(store: Store) -> Iterator[list[tuple[str, Any]]]:
    """Every statement the store runs inside the block (peewee funnels all through here)."""
    seen: list[tuple[str, Any]] = []
    original: Callable[..., Any] = store.db.execute_sql

    def spy(sql: str, params: Any = None, *args: Any, **kwargs: Any) -> Any:
        seen.append((sql, params))
        return original(sql, params, *args, **kwargs)

    store.db.execute_sql = spy  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        del store.db.execute_sql


def plan(store: Store, sql: str, params: Any) -> list[str]:
    rows = store.db.execute_sql("EXPLAIN QUERY PLAN " + sql, params or ()).fetchall()
    return [row[-1] for row in rows]


def assert_indexed(
    store: Store, action: Callable[[], object], table: str, *, full_scan_ok: bool = False
) -> None:
    """Run ``action`` (which must query ``table``): no statement of it may scan
    message or client without an index, foreign-key actions included."""
    with recorded_sql(store) as seen:
        action()
    statements = [
        (sql, params)
        for sql, params in seen
        if sql.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE"))
    ]
    assert any(re.search(rf'\b"?{table}"?\b', sql) for sql, _ in statements), seen
    for sql, params in statements:
        lines = plan(store, sql, params)
        assert not unindexed_scans(sql, lines, full_scan_ok=full_scan_ok), f"{sql}\n{lines}"


def test_heavy_queries_use_indexes(store: Store, populated: dict[str, int]) -> None:
    # Enough rows that a scan would not look free.
    store.import_rows((i, {"phone": phone(1000 + i), "tag": f"t{i % 7}"}) for i in range(300))
    mid = populated["a"]
    # The per-mailing GROUP BY reads the (mailing_id, status, ...) index, never the table.
    assert_indexed(store, store.list_mailings, "message", full_scan_ok=True)
    assert_indexed(store, lambda: store.get_mailing(mid), "message")
    assert_indexed(store, lambda: store.claim_due(limit=50), "message")
    assert_indexed(store, lambda: store.mailing_stats(mid, status="failed", limit=10), "message")
    assert_indexed(store, lambda: store.mailing_stats(mid, limit=10), "message")
    assert_indexed(store, store.next_due_at, "message")
    assert_indexed(store, store.open_messages, "message")
    assert_indexed(store, lambda: store.audience_count(["900"]), "client")
    assert_indexed(store, lambda: store.audience_count([], ["t1"]), "client")
    assert_indexed(store, lambda: store.audience_count(["901"], ["t1"]), "client")
    assert_indexed(store, lambda: store.list_clients(tag="t3"), "client")
    assert_indexed(store, lambda: store.count_clients(operator="900"), "client")
    # A client's messages are found by client_id, not by reading every message.
    assert_indexed(store, lambda: store.update_client(1, tag="changed"), "message")
    assert_indexed(store, lambda: store.delete_client(2), "message")


def test_scan_detection() -> None:
    sql = 'SELECT 1 FROM "message" AS "t1" JOIN client c ON c.id = t1.client_id'
    assert unindexed_scans(sql, ["SCAN t1", "SCAN c"]) == ["SCAN t1", "SCAN c"]
    assert unindexed_scans("SELECT 1 FROM message", ["SCAN message"]) == ["SCAN message"]
    covering = "SCAN message USING COVERING INDEX x"
    assert unindexed_scans("SELECT 1 FROM message", [covering]) == [covering]
    assert unindexed_scans("SELECT 1 FROM message", [covering], full_scan_ok=True) == []
    ok = ["SEARCH m USING INDEX y (mailing_id=?)"]
    assert unindexed_scans("SELECT 1 FROM message m", ok) == []
    assert unindexed_scans("SELECT 1 FROM mailing", ["SCAN mailing"]) == []
