"""``notifier-tui store copy --to URL``: SQLite -> PostgreSQL -> SQLite, nothing lost or reused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from notifier_tui.core.reasons import ErrorClass
from notifier_tui.core.records import Outcome
from notifier_tui.core.rules import MessageStatus
from notifier_tui.core.store import Store
from notifier_tui.core.store.sqlutil import execute
from tests.cli.conftest import Run, assert_bad_input, phone

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECRET = "Copy-Pw-93f"
TABLES = (
    "client",
    "mailing",
    "message",
    "mailing_client",
    "stop_list",
    "audit_log",
    "report_log",
    "meta",
)


def _with_password(url: str) -> str:
    """The test server trusts every login; a password in the URL is carried, never asked."""
    parts = urlsplit(url)
    netloc = parts.netloc.replace("@", f":{SECRET}@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _source(path: Path) -> dict[str, int]:
    """A store with something in every table, and ids deleted at the top of each sequence."""
    store = Store(path, clock=lambda: T0)
    try:
        for n in range(12):
            store.create_client(phone(n), tag="a" if n % 2 else "b")
        first = store.create_mailing(T0, T0 + timedelta(hours=3), "hello", tags=["a"])
        store.create_mailing(T0, T0 + timedelta(hours=3), "both", tags=["a", "b"])
        store.materialize_due(T0)
        claims = store.claim_due(T0, 8)
        store.record_outcomes(
            [
                Outcome(c.id, MessageStatus.SENT, sent_at=T0)
                if i % 3
                else Outcome(
                    c.id,
                    MessageStatus.FAILED,
                    last_error="HTTP 400",
                    error_class=ErrorClass.HTTP_4XX,
                )
                for i, c in enumerate(claims)
            ]
        )
        store.pause_mailing(first.id)
        store.stoplist_add([phone(11)])
        execute(
            store.db,
            "INSERT INTO report_log (day, sent_at, recipients) VALUES (?, ?, ?)",
            ("2026-03-01", T0.timestamp(), "ops@example.com"),
        )
        # A clone for those who did not get it lists its clients (mailing_client).
        store.clone_mailing(
            first.id,
            start_at=T0 + timedelta(days=3),
            end_at=T0 + timedelta(days=4),
            only=frozenset({"failed", "cancelled"}),
        )
        # The largest ids go: the copy must still never hand them out again.
        later = store.create_mailing(T0 + timedelta(days=1), T0 + timedelta(days=2), "later")
        top = store.create_client(phone(40))
        store.materialize_due(T0)
        highs = {
            "client": top.id,
            "mailing": later.id,
            "message": int(execute(store.db, "SELECT MAX(id) FROM message").fetchone()[0]),
        }
        store.delete_client(top.id)
        store.delete_mailing(later.id)
        execute(store.db, "DELETE FROM message WHERE id = ?", (highs["message"],))
        return highs
    finally:
        store.close()


def _counts(url: str | Path) -> dict[str, int]:
    store = Store(url)
    try:
        return {
            t: int(execute(store.db, f"SELECT COUNT(*) FROM {t}").fetchone()[0]) for t in TABLES
        }
    finally:
        store.close()


def test_round_trip_keeps_counts_stats_and_ids(run_raw: Run, tmp_path: Path, pg_url: str) -> None:
    src, back = tmp_path / "src.db", tmp_path / "back.db"
    highs = _source(src)
    pg = _with_password(pg_url)

    there = run_raw("--db", str(src), "store", "copy", "--to", pg, "--json")
    assert there.code == 0, there.err
    assert SECRET not in there.out + there.err
    doc = there.json()
    assert doc["verified"] is True and "********" in doc["target"]
    assert doc["copied"]["message"] > 0 and doc["copied"]["report_log"] == 1

    home = run_raw("--db", pg, "store", "copy", "--to", f"sqlite:///{back}")
    assert home.code == 0, home.err
    assert "every count verified" in home.out
    assert SECRET not in home.out + home.err

    assert _counts(src) == _counts(pg) == _counts(back)
    stats = [run_raw("--db", where, "stats", "--json") for where in (str(src), pg, str(back))]
    assert all(s.code == 0 for s in stats), [s.err for s in stats]
    assert stats[0].json() == stats[1].json() == stats[2].json()
    one = [run_raw("--db", where, "stats", "1", "--json").json() for where in (str(src), pg)]
    assert one[0] == one[1]

    # Ids deleted on the source stay used on both copies.
    for where in (pg, str(back)):
        store = Store(where)
        try:
            assert store.create_client(phone(90)).id > highs["client"]
            m = store.create_mailing(T0, T0 + timedelta(hours=1), "new", tags=["b"])
            assert m.id > highs["mailing"]
            store.materialize_due(T0)
            newest = execute(store.db, "SELECT MIN(id) FROM message WHERE mailing_id = ?", (m.id,))
            assert newest.fetchone()[0] > highs["message"]
        finally:
            store.close()


def test_a_target_that_holds_anything_is_refused(run_raw: Run, tmp_path: Path, pg_url: str) -> None:
    src = tmp_path / "src.db"
    _source(src)
    pg = _with_password(pg_url)
    assert run_raw("--db", str(src), "store", "copy", "--to", pg).code == 0
    before = _counts(pg)
    again = run_raw("--db", str(src), "store", "copy", "--to", pg)
    assert_bad_input(again, "store copy")
    assert "not empty" in again.err and SECRET not in again.err
    assert _counts(pg) == before
    # Into a file that already holds a client, too.
    other = tmp_path / "other.db"
    store = Store(other)
    store.create_client(phone(1))
    store.close()
    refused = run_raw("--db", str(src), "store", "copy", "--to", str(other))
    assert_bad_input(refused, "store copy")


def test_an_unreachable_target_does_not_show_its_password(run_raw: Run, tmp_path: Path) -> None:
    src = tmp_path / "src.db"
    Store(src).close()
    url = f"postgresql://u:{SECRET}@127.0.0.1:1/nowhere?connect_timeout=2"
    result = run_raw("--db", str(src), "store", "copy", "--to", url)
    assert result.code != 0
    assert SECRET not in result.out + result.err
