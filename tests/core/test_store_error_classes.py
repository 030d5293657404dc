"""Every reason the store writes carries its ErrorClass; counts group by the column."""

from __future__ import annotations

import ast
import re
from datetime import timedelta
from pathlib import Path

from notifier_tui.core import report
from notifier_tui.core.reasons import REASON_TEXT, ErrorClass, reason_text
from notifier_tui.core.records import Outcome
from notifier_tui.core.store import Store
from tests.core.conftest import FakeClock, phone


def reasons(store: Store, mailing_id: int) -> dict[int | None, tuple[str, str | None, str | None]]:
    """``{client_id: (status, last_error, error_class)}`` of one mailing's messages."""
    cursor = store.db.execute_sql(
        "SELECT client_id, status, last_error, error_class FROM message WHERE mailing_id = ?",
        (mailing_id,),
    )
    return {cid: (status, text, cls) for cid, status, text, cls in cursor.fetchall()}


def live(store: Store, clock: FakeClock, hours: float = 24, **kwargs: object) -> int:
    m = store.create_mailing(
        clock() - timedelta(minutes=1), clock() + timedelta(hours=hours), "hi", **kwargs
    )
    store.materialize_due()
    return m.id


def both(cls: ErrorClass) -> tuple[str, str]:
    return reason_text(cls), cls.value


def test_client_deleted_and_no_longer_matches(store: Store, clock: FakeClock) -> None:
    a = store.create_client(phone(1), "vip")
    b = store.create_client(phone(2), "vip")
    mid = live(store, clock, tags=["vip"])
    store.delete_client(a.id)
    store.update_client(b.id, tag="other")
    rows = reasons(store, mid)
    assert rows[None] == ("cancelled", *both(ErrorClass.CLIENT_DELETED))
    assert rows[b.id] == ("cancelled", *both(ErrorClass.CLIENT_NO_LONGER_MATCHES))
    # Matching again brings the message back, and its class goes with the text.
    store.update_client(b.id, tag="vip")
    assert reasons(store, mid)[b.id] == ("pending", None, None)


def test_filter_change_writes_and_clears_the_class(store: Store, clock: FakeClock) -> None:
    c = store.create_client(phone(1), "vip")
    mid = live(store, clock)
    store.update_mailing(mid, tags=["other"])
    assert reasons(store, mid)[c.id] == ("cancelled", *both(ErrorClass.CLIENT_NO_LONGER_MATCHES))
    store.update_mailing(mid, tags=["vip"])
    assert reasons(store, mid)[c.id] == ("pending", None, None)


def test_a_text_alone_does_not_revive(store: Store, clock: FakeClock) -> None:
    """Revival follows the class: a message whose text merely reads the same stays put."""
    c = store.create_client(phone(1), "vip")
    mid = live(store, clock)
    store.db.execute_sql(
        "UPDATE message SET status = 'cancelled', last_error = ?, error_class = ?",
        (reason_text(ErrorClass.CLIENT_NO_LONGER_MATCHES), ErrorClass.MAILING_CANCELLED.value),
    )
    store.update_client(c.id, tag="vip")
    assert reasons(store, mid)[c.id][0] == "cancelled"


def test_cancel_and_finalize(store: Store, clock: FakeClock) -> None:
    for n in range(3):
        store.create_client(phone(n))
    cancelled = live(store, clock)
    ending = live(store, clock, hours=1)
    store.cancel_mailing(cancelled)
    assert {r[1:] for r in reasons(store, cancelled).values()} == {
        both(ErrorClass.MAILING_CANCELLED)
    }
    # One of the ending mailing's messages waits on a retry: its gateway class stays.
    claims = [c for c in store.claim_due(limit=10) if c.mailing_id == ending]
    retry = claims[0]
    store.record_outcomes(
        [
            Outcome(
                retry.id,
                "pending",
                last_error="HTTP 503",
                error_class=ErrorClass.HTTP_5XX,
                next_attempt_at=clock() + timedelta(minutes=5),
            ),
            *(Outcome(c.id, "pending", charge=False) for c in claims[1:]),
        ]
    )
    clock.advance(hours=2)
    store.finalize()
    rows = reasons(store, ending)
    assert rows[retry.client_id] == ("expired", "HTTP 503", "http_5xx")
    others = [r for cid, r in rows.items() if cid != retry.client_id]
    assert others == [("expired", *both(ErrorClass.NOT_SENT_BEFORE_END))] * 2


def test_claim_time_reasons(store: Store, clock: FakeClock) -> None:
    tokyo = store.create_client(phone(1), timezone="Asia/Tokyo")
    gone = store.create_client(phone(2), timezone="Europe/Moscow")
    # T0 is 18:00 in Tokyo; the window opens there only after the mailing ends.
    mid = live(store, clock, hours=3, window="09:00-17:00")
    # The client is deleted while its message is already due: the claim cancels it.
    store.db.execute_sql("UPDATE message SET client_id = NULL WHERE client_id = ?", (gone.id,))
    assert store.claim_due(limit=10) == []
    rows = reasons(store, mid)
    assert rows[tokyo.id] == ("expired", *both(ErrorClass.WINDOW_AFTER_END))
    assert rows[None] == ("cancelled", *both(ErrorClass.CLIENT_DELETED))


def test_record_outcomes_writes_the_class_with_the_text(store: Store, clock: FakeClock) -> None:
    for n in range(3):
        store.create_client(phone(n))
    mid = live(store, clock)
    a, b, c = store.claim_due(limit=3)
    store.record_outcomes(
        [
            Outcome(a.id, "pending", last_error="timeout", error_class=ErrorClass.TIMEOUT),
            Outcome(b.id, "failed", last_error="HTTP 400", error_class=ErrorClass.HTTP_4XX),
            Outcome(c.id, "pending", charge=False),
        ]
    )
    by_id = {r.id: r for r in store.mailing_stats(mid).messages}
    assert (by_id[a.id].error_class, by_id[b.id].error_class, by_id[c.id].error_class) == (
        "timeout",
        "http_4xx",
        None,
    )
    [again] = [x for x in store.claim_due(limit=3) if x.id == a.id]
    # A new text without a class (an older sender) clears the stale class; no text keeps it.
    store.record_outcomes([Outcome(again.id, "pending", last_error="something new")])
    assert store.get_message(a.id).error_class is None
    assert store.get_message(a.id).last_error == "something new"


def test_stats_json_counts_unsent_by_class(store: Store, clock: FakeClock) -> None:
    for n in range(5):
        store.create_client(phone(n))
    mid = live(store, clock)
    claims = store.claim_due(limit=5)
    store.record_outcomes(
        [
            Outcome(claims[0].id, "sent", sent_at=clock()),
            Outcome(claims[1].id, "failed", last_error="HTTP 400", error_class=ErrorClass.HTTP_4XX),
            Outcome(claims[2].id, "failed", last_error="HTTP 404", error_class=ErrorClass.HTTP_4XX),
            Outcome(
                claims[3].id,
                "pending",
                last_error="timeout",
                error_class=ErrorClass.TIMEOUT,
                next_attempt_at=clock() + timedelta(minutes=1),
            ),
            Outcome(claims[4].id, "pending", charge=False),
        ]
    )
    store.delete_client(claims[4].client_id)  # type: ignore[arg-type]
    # A message sent after a retry keeps its last failure's class but is no error.
    clock.advance(minutes=2)
    [retry] = store.claim_due(limit=5)
    assert retry.id == claims[3].id
    store.record_outcomes([Outcome(retry.id, "sent", sent_at=clock())])
    assert store.get_message(retry.id).error_class == "timeout"
    detail = store.mailing_stats(mid)
    assert detail.by_error == {"http_4xx": 2, "client_deleted": 1}
    assert detail.to_json()["by_error"] == {"http_4xx": 2, "client_deleted": 1}
    assert {str(c) for c in ErrorClass} >= set(detail.by_error)


def test_report_counts_the_column_not_the_text(store: Store, clock: FakeClock) -> None:
    for n in range(3):
        store.create_client(phone(n))
    live(store, clock, hours=1)
    a, b, c = store.claim_due(limit=3)
    store.record_outcomes(
        [
            # Reads like a 5xx but the sender said it was a timeout: the class wins.
            Outcome(a.id, "failed", last_error="HTTP 503", error_class=ErrorClass.TIMEOUT),
            # A text without a class is counted nowhere: nothing parses it.
            Outcome(b.id, "failed", last_error="HTTP 500"),
            Outcome(c.id, "failed", last_error="x", error_class=ErrorClass.STOP_LISTED),
        ]
    )
    clock.advance(hours=2)
    built = report.recent_report(store, "Europe/Moscow")
    assert built.error_classes == {"timeout": 1}


def test_no_reason_text_is_typed_in_the_store() -> None:
    """The store writes reasons through reasons.reason_text, never as literals; no LIKE."""
    core = Path(report.__file__).parent
    sources = [*sorted((core / "store").glob("*.py")), core / "report.py", core / "stats.py"]
    for path in sources:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
        literals = [
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ]
        for reason in REASON_TEXT.values():
            assert reason not in literals, (path, reason)
        assert not any(re.search(r"\bLIKE\b", s) for s in literals), path
