"""Per-mailing CSV export on a real store file: every message, streamed in fixed memory."""

from __future__ import annotations

import csv
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

import pytest

from notifier_tui.core.errors import NotFoundError
from notifier_tui.core.reasons import ErrorClass
from notifier_tui.core.records import Outcome
from notifier_tui.core.store import Store
from notifier_tui.core.store.campaign import EXPORT_HEADER
from tests.core.conftest import T0, FakeClock, phone


def test_every_message_with_phone_status_class_attempts_and_times(
    store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    for i in range(3):
        store.create_client(phone(i))
    m = store.create_mailing(T0, T0 + timedelta(hours=1), "hi")
    store.materialize_due(clock())
    first, second, _ = store.claim_due(clock(), limit=3)
    store.record_outcomes(
        [
            Outcome(first.id, "sent", sent_at=clock()),
            Outcome(
                second.id,
                "failed",
                last_error="HTTP 400: bad phone",
                error_class=ErrorClass.HTTP_4XX,
            ),
        ]
    )
    out = tmp_path / "m.csv"
    assert store.export_mailing_csv(m.id, out) == 3
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == EXPORT_HEADER
    by_phone = {r["phone"]: r for r in rows}
    assert by_phone[first.phone]["status"] == "sent"
    assert by_phone[first.phone]["sent_at"] == clock().isoformat()
    assert by_phone[first.phone]["attempts"] == "1"
    assert by_phone[second.phone]["status"] == "failed"
    assert by_phone[second.phone]["last_error"] == "HTTP 400: bad phone"
    assert by_phone[second.phone]["error_class"] == "http_4xx"
    assert not list(tmp_path.glob("*.part"))


def test_unknown_mailing_writes_no_file(store: Store, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        store.export_mailing_csv(7, tmp_path / "x.csv")
    assert not list(tmp_path.glob("x.csv*"))


def test_unwritable_path_leaves_nothing(store: Store, clock: FakeClock, tmp_path: Path) -> None:
    m = store.create_mailing(T0, T0 + timedelta(hours=1), "hi")
    with pytest.raises(OSError):
        store.export_mailing_csv(m.id, tmp_path / "missing-dir" / "x.csv")
    assert not (tmp_path / "missing-dir").exists()


@pytest.mark.timeout(120)
def test_streams_in_fixed_memory(store: Store, tmp_path: Path) -> None:
    """200k messages: Python's peak allocation stays far below what the rows would take."""
    n = 200_000
    m = store.create_mailing(T0, T0 + timedelta(hours=1), "hi")
    ts = T0.timestamp()
    with store.db.atomic():
        store.db.execute_sql(
            "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)"
            " INSERT INTO message (mailing_id, client_id, phone, status, created_at, attempts,"
            " next_attempt_at) SELECT ?, NULL, printf('79%09d', i), 'expired', ?, 1, ? FROM seq",
            (n, m.id, ts, ts),
        )
    out = tmp_path / "big.csv"
    tracemalloc.start()
    started = time.perf_counter()
    try:
        assert store.export_mailing_csv(m.id, out) == n
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - started
    # The rows as Python tuples would take well over 50 MB; a stream holds a few.
    assert peak < 2_000_000, f"peak {peak} bytes"
    assert out.stat().st_size > n * 30
    print(f"exported {n} messages in {elapsed:.2f} s, peak Python allocation {peak} bytes")
