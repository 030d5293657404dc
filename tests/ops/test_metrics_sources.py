"""Where the metrics' figures come from: the error classes and the statistics' own SQL.

The outcome labels are the gateway's error classes, not a list of reason
texts typed again here, and the store figures are the ones ``stats`` shows,
read through :func:`notifier_tui.core.stats.counts_by_mailing`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from notifier_tui.core import stats
from notifier_tui.core.reasons import GATEWAY_CLASSES, ErrorClass
from notifier_tui.core.records import Outcome
from notifier_tui.core.rules import ALL_STATUSES, MailingState
from notifier_tui.core.store import Store
from notifier_tui.ops import metrics as metrics_module
from notifier_tui.ops.metrics import OUTCOMES, Metrics


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "s.db")
    try:
        yield opened
    finally:
        opened.close()


def test_outcome_labels_are_ok_and_the_gateway_error_classes(tmp_path: Path) -> None:
    assert OUTCOMES[0] == "ok"
    assert set(OUTCOMES[1:]) == {c.value for c in GATEWAY_CLASSES}
    assert len(OUTCOMES) == len(set(OUTCOMES))
    metrics = Metrics(tmp_path / "none.db")
    try:
        for outcome in OUTCOMES:  # every class is served from the start, at 0
            value = metrics.registry.get_sample_value(
                "notifier_gateway_requests_total", {"outcome": outcome}
            )
            assert value == 0
    finally:
        metrics.close()


def test_store_figures_are_the_statistics_counts(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.import_rows(
        (i + 2, {"phone": f"7902{i:07d}", "tag": "", "timezone": "Europe/Moscow"}) for i in range(6)
    )
    now = datetime.now(UTC)
    store.create_mailing(now - timedelta(minutes=1), now + timedelta(hours=1), "live")
    store.materialize_due(now)
    claims = store.claim_due(now, limit=4)
    later = now + timedelta(hours=2)
    store.record_outcomes(
        [
            Outcome(claims[0].id, "sent", sent_at=now),
            Outcome(claims[1].id, "failed", last_error="HTTP 400", error_class=ErrorClass.HTTP_4XX),
            Outcome(
                claims[2].id,
                "pending",
                last_error="HTTP 503",
                next_attempt_at=later,
                error_class=ErrorClass.HTTP_5XX,
            ),
        ]
    )  # claims[3] stays sending
    calls: list[object] = []
    real = stats.counts_by_mailing

    def spy(db: object) -> dict[int, dict[str, int]]:
        calls.append(db)
        return real(db)  # type: ignore[arg-type]

    monkeypatch.setattr(metrics_module.stats, "counts_by_mailing", spy)
    metrics = Metrics(store.path)
    try:
        get = metrics.registry.get_sample_value
        assert get("notifier_store_up") == 1
        assert calls, "the scrape did not use the statistics' query"
        expected = stats.full_counts(real(store.db)[1])
        served = {
            status: get("notifier_messages", {"status": status, "mailing_state": "active"})
            for status in ALL_STATUSES
        }
        assert served == {s: float(n) for s, n in expected.items()}
        assert served["sending"] == 1 and served["pending"] == 3
        assert get("notifier_mailings", {"state": MailingState.ACTIVE.value}) == 1
        assert get("notifier_pending_due_messages") == 2  # the 5xx retry is due only later
    finally:
        metrics.close()


def test_store_figures_on_postgresql(pg_url: str) -> None:
    """The same figures from a PostgreSQL store, on a read-only connection of the scraper's own."""
    store = Store(pg_url)
    try:
        store.import_rows(
            (i + 2, {"phone": f"7903{i:07d}", "tag": "", "timezone": "Europe/Moscow"})
            for i in range(3)
        )
        now = datetime.now(UTC)
        store.create_mailing(now - timedelta(minutes=1), now + timedelta(hours=1), "live")
        store.materialize_due(now)
        claims = store.claim_due(now, limit=1)
        store.record_outcomes([Outcome(claims[0].id, "sent", sent_at=now)])
        metrics = Metrics(store.location)
        try:
            get = metrics.registry.get_sample_value
            assert get("notifier_store_up") == 1
            assert get("notifier_messages", {"status": "sent", "mailing_state": "active"}) == 1
            assert get("notifier_messages", {"status": "pending", "mailing_state": "active"}) == 2
            assert get("notifier_pending_due_messages") == 2
        finally:
            metrics.close()
    finally:
        store.close()
