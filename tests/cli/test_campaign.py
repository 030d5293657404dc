"""``stoplist``, ``audit``, ``mailing preview|clone|test`` and ``stats ID --csv`` end to end.

The real entry point on a real store file; the test send goes to the gateway
simulator on 127.0.0.1, on its own thread (the command runs its own loop).
"""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from notifier_tui.core.records import Outcome
from notifier_tui.core.store import Store
from notifier_tui.sim import ThreadedSimulator, start_in_thread
from tests.cli.conftest import Run, assert_bad_input, dump, phone

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def gateway() -> Iterator[ThreadedSimulator]:
    """The simulator on a free 127.0.0.1 port on its own thread, stopped afterwards."""
    sim = start_in_thread()
    try:
        yield sim
    finally:
        sim.stop()


def stop_rows(db: Path) -> list[tuple[str]]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT phone FROM stop_list ORDER BY phone").fetchall()


def sent_mailing(db: Path, n: int = 4) -> int:
    """A running mailing with n clients: first sent, second failed, third expired, rest pending."""
    store = Store(db, default_timezone="UTC")
    try:
        for i in range(n):
            store.create_client(phone(i))
        now = datetime.now(UTC)
        m = store.create_mailing(now - timedelta(minutes=1), now + timedelta(hours=1), "Привет")
        store.materialize_due(now)
        claims = store.claim_due(now, limit=3)
        store.record_outcomes(
            [
                Outcome(claims[0].id, "sent", sent_at=now),
                Outcome(claims[1].id, "failed", last_error="HTTP 400: bad phone"),
                Outcome(claims[2].id, "expired", last_error="not sent before end"),
            ]
        )
        return m.id
    finally:
        store.close()


# --- stop list -------------------------------------------------------------------


def test_stoplist_add_list_remove(ok, cli: Run, db: Path) -> None:
    m = sent_mailing(db)
    doc = ok("stoplist", "add", phone(3), "+7 900 000-00-09")
    assert doc == {"changed": [phone(3), phone(9)], "unchanged": [], "messages": 1}
    assert [e["phone"] for e in ok("stoplist", "list")] == [phone(3), phone(9)]
    assert ok("mailing", "show", str(m))["by_status"]["cancelled"] == 1
    text = cli("stoplist", "remove", phone(9), phone(8)).out
    assert text.strip() == "removed 1 phone(s); 1 were not listed"
    assert cli("stoplist", "list").out.split()[:3] == ["PHONE", "ADDED", phone(3)]


def test_stoplist_import(ok, tmp_path: Path) -> None:
    f = tmp_path / "optout.csv"
    f.write_text(f"phone\n{phone(1)}\n{phone(2)}\n", encoding="utf-8")
    assert ok("stoplist", "import", str(f))["changed"] == [phone(1), phone(2)]


def test_stoplist_bad_input_writes_nothing(cli: Run, db: Path, tmp_path: Path) -> None:
    ok_first = cli("stoplist", "add", phone(1))
    assert ok_first.code == 0
    before = (dump(db), stop_rows(db))
    assert_bad_input(cli("stoplist", "add", phone(2), "123"), "phone")
    bad = tmp_path / "bad.csv"
    bad.write_text(f"phone\n{phone(3)}\nnope\n", encoding="utf-8")
    result = cli("stoplist", "import", str(bad))
    assert result.code == 2 and result.err_lines[-1].startswith("notifier-tui: error: import:")
    assert_bad_input(cli("stoplist", "import", str(tmp_path / "none.csv")), "file")
    assert_bad_input(cli("stoplist", "add"), "PHONE")
    assert (dump(db), stop_rows(db)) == before


# --- audit -----------------------------------------------------------------------


def test_audit_shows_cli_actions(ok, cli: Run) -> None:
    client = ok("client", "add", "--phone", phone(1))
    ok("client", "update", str(client["id"]), "--tag", "vip")
    m = ok("mailing", "add", "--start", "+1h", "--end", "+2h", "--text", "hi")
    ok("mailing", "pause", str(m["id"]))
    entries = ok("audit")
    assert [e["action"] for e in entries] == [
        "client.create",
        "client.update",
        "mailing.create",
        "mailing.pause",
    ]
    assert {e["surface"] for e in entries} == {"cli"}
    assert entries[1]["change"] == {"tag": {"old": "", "new": "vip"}}
    assert entries[1]["object"] == {"kind": "client", "id": client["id"]}
    assert [e["action"] for e in ok("audit", "--mailing", str(m["id"]))] == [
        "mailing.create",
        "mailing.pause",
    ]
    assert ok("audit", "--since", "+1h") == []
    assert len(ok("audit", "--since", "-1h", "--limit", "1")) == 1
    table = cli("audit").out.splitlines()
    assert table[0].split() == ["WHEN", "USER", "HOST", "SURFACE", "ACTION", "OBJECT", "CHANGE"]
    assert 'tag: "" -> "vip"' in table[2]
    assert_bad_input(cli("audit", "--since", "yesterday"), "--since")


# --- preview ---------------------------------------------------------------------


def test_preview_of_a_stored_mailing_and_a_draft(ok, cli: Run, db: Path) -> None:
    for i in range(3):
        ok("client", "add", "--phone", phone(i), "--tz", "Asia/Tokyo" if i else "UTC")
    ok("stoplist", "add", phone(2))
    m = ok("mailing", "add", "--start", "+1h", "--end", "+1d", "--text", "hi")
    doc = ok("mailing", "preview", str(m["id"]))
    assert (doc["audience"], doc["excluded_stop_listed"], doc["will_miss"]) == (2, 1, 0)
    assert (doc["encoding"], doc["segments"]) == ("GSM-7", 1)
    assert sum(doc["window_opens_by_hour"]) == doc["in_window"] == 2
    draft = ok(
        "--rate-limit", "100", "mailing", "preview",
        "--start", "+1h", "--end", "+2h", "--window", "09:00-10:00", "--text", "Привет",
    )  # fmt: skip
    assert draft["audience"] == 2
    assert draft["rate"] == 100 and draft["rate_source"] == "rate_limit"
    assert draft["encoding"] == "UCS-2"
    assert draft["in_window"] + draft["will_miss"] >= draft["in_window"]
    text = cli("mailing", "preview", str(m["id"])).out
    assert "audience:" in text and "(stop list excludes 1)" in text and "will miss:" in text
    before = dump(db)
    assert_bad_input(cli("mailing", "preview"), "--start")
    assert_bad_input(cli("mailing", "preview", str(m["id"]), "--text", "x"), "--text")
    assert_bad_input(cli("mailing", "preview", "--start", "+2h", "--end", "+1h"), "end_at")
    assert_bad_input(cli("mailing", "preview", "99"), "mailing")
    assert dump(db) == before


def test_mailing_json_carries_encoding_and_segments(ok) -> None:
    cyrillic = ok("mailing", "add", "--start", "+1h", "--end", "+2h", "--text", "Ж" * 71)
    assert (cyrillic["encoding"], cyrillic["segments"]) == ("UCS-2", 2)
    gsm = ok("mailing", "add", "--start", "+1h", "--end", "+2h", "--text", "€" * 80)
    assert (gsm["encoding"], gsm["segments"]) == ("GSM-7", 1)
    listed = ok("mailing", "list")
    assert [(m["encoding"], m["segments"]) for m in listed] == [("GSM-7", 1), ("UCS-2", 2)]


# --- clone -----------------------------------------------------------------------


def test_clone_only_the_missed(ok, cli: Run, db: Path) -> None:
    m = sent_mailing(db)
    before = dump(db)["message"]
    doc = ok(
        "mailing", "clone", str(m), "--only", "failed,expired", "--start", "+1h", "--end", "+2h"
    )
    assert doc["audience"] == 2 and doc["cloned_from"] == m
    assert doc["text"] == "Привет"
    assert dump(db)["message"] == before
    everybody = ok("mailing", "clone", str(m), "--start", "+1h", "--end", "+2h", "--text", "x")
    assert everybody["audience"] == 4
    ok("stoplist", "add", phone(0))
    assert ok("mailing", "preview", str(everybody["id"]))["excluded_stop_listed"] == 1
    text = cli("mailing", "clone", str(m), "--only", "failed", "--start", "+1h", "--end", "+2h")
    assert "is for the 1 failed client(s) of mailing" in text.out
    state = dump(db)
    assert_bad_input(
        cli("mailing", "clone", str(m), "--only", "sent", "--start", "+1h", "--end", "+2h"),
        "--only",
    )
    assert_bad_input(
        cli("mailing", "clone", str(m), "--only", "cancelled", "--start", "+1h", "--end", "+2h"),
        "mailing",
    )
    assert_bad_input(cli("mailing", "clone", str(m), "--start", "+1h"), "--end")
    assert dump(db) == state


# --- test send -------------------------------------------------------------------


def test_test_send_through_the_simulator(
    ok, cli: Run, db: Path, gateway: ThreadedSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = sent_mailing(db)
    before = dump(db)
    monkeypatch.setenv("NOTIFIER_TOKEN", "secret-token-value")
    doc = ok(
        "--base-url",
        gateway.base_url,
        "mailing",
        "test",
        str(m),
        "--phone",
        "89001112233",
    )
    assert (doc["outcome"], doc["accepted"], doc["status_code"]) == ("accepted", True, 200)
    assert doc["phone"] == "79001112233"
    # Its id is the message sequence's: above every message, and no message gets it later.
    assert doc["test_id"] > max(row[0] for row in before["message"])
    assert gateway.simulator.accepted[doc["test_id"]] == 1
    assert dump(db) == before  # no message, no count in the mailing's statistics
    entry = ok("audit", "--mailing", str(m))[-1]
    assert entry["action"] == "mailing.test_send"
    assert entry["change"]["outcome"] == "accepted"
    assert "secret-token-value" not in str(entry)
    # A client joining the live mailing gets a message id past the test send's.
    ok("client", "add", "--phone", phone(50))
    new_ids = {row[0] for row in dump(db)["message"]} - {row[0] for row in before["message"]}
    assert len(new_ids) == 1 and min(new_ids) > doc["test_id"]
    text = cli("--base-url", gateway.base_url, "mailing", "test", str(m), "--phone", phone(1))
    assert text.code == 0 and "outcome:   accepted" in text.out and "HTTP 200" in text.out


def test_test_send_errors_exit_1_with_one_line(
    cli: Run, db: Path, gateway: ThreadedSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = sent_mailing(db)
    url = gateway.base_url
    missing = cli("--base-url", url, "mailing", "test", str(m), "--phone", phone(1))
    assert missing.code == 1 and missing.out == ""
    assert len(missing.err_lines) == 1
    assert "no token set" in missing.err_lines[0]

    gateway.simulator.config.token = "the-right-one"
    monkeypatch.setenv("NOTIFIER_TOKEN", "a-wrong-one")
    refused = cli("--base-url", url, "mailing", "test", str(m), "--phone", phone(1))
    assert refused.code == 1 and len(refused.err_lines) == 1
    assert "token was refused" in refused.err and "HTTP 401" in refused.err
    assert "a-wrong-one" not in refused.err

    dead = cli(
        "--base-url", "http://127.0.0.1:9/v1", "mailing", "test", str(m), "--phone", phone(1)
    )
    assert dead.code == 1 and len(dead.err_lines) == 1
    assert "cannot reach http://127.0.0.1:9/v1" in dead.err

    before = dump(db)
    assert_bad_input(cli("--base-url", url, "mailing", "test", str(m), "--phone", "12"), "phone")
    assert_bad_input(
        cli("--base-url", url, "mailing", "test", "99", "--phone", phone(1)), "mailing"
    )
    assert dump(db) == before


# --- export ----------------------------------------------------------------------


def test_stats_csv(ok, cli: Run, db: Path, tmp_path: Path) -> None:
    m = sent_mailing(db)
    out = tmp_path / "m.csv"
    assert ok("stats", str(m), "--csv", str(out)) == {
        "exported": 4,
        "file": str(out),
        "mailing_id": m,
    }
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["status"] for r in rows] == ["sent", "failed", "expired", "pending"]
    assert rows[0]["phone"] == phone(0) and rows[0]["sent_at"]
    assert rows[1]["attempts"] == "1"
    assert_bad_input(cli("stats", "--csv", str(tmp_path / "a.csv")), "--csv")
    assert_bad_input(cli("stats", "99", "--csv", str(tmp_path / "b.csv")), "mailing")
    assert_bad_input(cli("stats", str(m), "--csv", str(tmp_path / "no" / "c.csv")), "--csv")
    assert_bad_input(
        cli("stats", str(m), "--csv", str(tmp_path / "d.csv"), "--limit", "1"), "--limit"
    )
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".csv", ".part")) == ["m.csv"]
