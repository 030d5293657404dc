"""How fast the store imports, answers statistics and turns over a dispatch batch.

    python bench/store.py [--clients 100000] [--messages 1000000] [--mailings 100] [--runs 5]

(a) Store.import_csv of N clients from a CSV (parse, validate, check duplicates,
    insert), and as a baseline in the same run a raw sqlite3 executemany of the
    same, already normalised rows into a fresh table with the same schema and
    indexes: rows/s each and the ratio.
(b) the same store grown to M messages across K mailings with raw bulk INSERTs
    in one transaction (70% finished mailings, mostly sent; 30% active with a
    pending backlog), then Store.overall_stats(), list_mailings(),
    mailing_stats(id, limit=100) and mailing_stats(id, status='failed',
    limit=100): the median of R runs each.
(c) claim_due(limit=500) and record_outcomes of those 500 as sent on that store:
    ms per batch (median over 20 batches).
(d) Store.import_csv of a --big-import row CSV (default 1,000,000) into a new
    store, in a child process of its own: seconds, peak RSS, and the longest
    stretch a probe connection could not take the write lock (BEGIN IMMEDIATE
    with no busy wait, every 20 ms), which is what the sender would wait.
    Baseline in the same run, also in a child: a raw csv.reader pass over the
    same file (seconds, peak RSS). --big-import 0 skips (d).

Figures vary ±20% between runs on shared machines; the ratio in (a) is measured
side by side and is what to compare.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from notifier_tui.core.records import Outcome
from notifier_tui.core.store import Store

ZONES = ("Europe/Moscow", "Asia/Yekaterinburg", "Asia/Novosibirsk", "Europe/Kaliningrad", "UTC")
TAGS = ("", "", "vip", "new", "b2b", "moscow", "spb")
OPERATORS = ("900", "901", "902", "912", "916", "926", "950", "951", "977", "999")

# Status mixes (status, weight) for finished and active mailings.
FINISHED_MIX = (("sent", 86), ("failed", 6), ("expired", 6), ("cancelled", 2))
ACTIVE_MIX = (("sent", 45), ("pending", 48), ("failed", 4), ("cancelled", 2), ("sending", 1))
ATTEMPTS = {"pending": 0, "sending": 0, "sent": 1, "failed": 2, "expired": 3, "cancelled": 0}
ERRORS = {"failed": "HTTP 400: invalid phone", "expired": "not sent before end"}


def client_rows(n: int, seed: int = 1) -> list[tuple[str, str, str]]:
    """(phone, tag, timezone) for n distinct clients, phones spelled several ways."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        op = OPERATORS[i % len(OPERATORS)]
        rest = f"{i:07d}"
        spelling = i % 3
        if spelling == 0:
            phone = f"7{op}{rest}"
        elif spelling == 1:
            phone = f"+7 ({op}) {rest[:3]}-{rest[3:5]}-{rest[5:]}"
        else:
            phone = f"8 {op} {rest[:3]} {rest[3:5]} {rest[5:]}"
        rows.append((phone, rng.choice(TAGS), rng.choice(ZONES)))
    return rows


def normalised(rows: list[tuple[str, str, str]], now: float) -> list[tuple]:
    out = []
    for phone, tag, tz in rows:
        digits = "".join(ch for ch in phone if ch.isdigit())
        digits = "7" + digits[1:]
        out.append((digits, digits[1:4], tag, tz, now))
    return out


def bench_import(workdir: Path, n: int) -> tuple[Store, float, float]:
    rows = client_rows(n)
    path = workdir / "clients.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["phone", "tag", "timezone"])
        writer.writerows(rows)

    store = Store(workdir / "store.db")
    t0 = time.perf_counter()
    result = store.import_csv(path)
    store_s = time.perf_counter() - t0
    assert result.imported == n, result.errors[:3]

    # Baseline: the same rows, already clean, straight into an identical table.
    schema = [
        sql
        for (sql,) in store.db.execute_sql(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'client' AND sql IS NOT NULL"
        )
    ]
    raw = sqlite3.connect(workdir / "raw.db", isolation_level=None)
    raw.execute("PRAGMA journal_mode = wal")
    raw.execute("PRAGMA synchronous = normal")
    for sql in schema:
        raw.execute(sql)
    clean = normalised(rows, time.time())
    t0 = time.perf_counter()
    raw.execute("BEGIN")
    raw.executemany(
        "INSERT INTO client (phone, operator_code, tag, timezone, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        clean,
    )
    raw.execute("COMMIT")
    raw_s = time.perf_counter() - t0
    raw.close()
    return store, n / store_s, n / raw_s


def build_messages(store: Store, messages: int, mailings: int) -> tuple[list[int], list[int]]:
    """Raw bulk load: returns (finished mailing ids, active mailing ids)."""
    n_clients = store.count_clients()
    per = messages // mailings
    if per > n_clients:
        raise SystemExit(f"{per} messages per mailing need at least as many clients")
    phones = dict(store.db.execute_sql("SELECT id, phone FROM client").fetchall())
    client_ids = sorted(phones)
    now = time.time()
    rng = random.Random(7)
    finished, active = [], []
    conn = store.db.connection()
    with store.db.atomic():
        for i in range(mailings):
            is_active = i % 10 >= 7  # 30% active
            if is_active:
                start, end = now - 3600, now + 86400
            else:
                start = now - 86400 * (mailings - i) - 7200
                end = start + 6 * 3600
            cur = conn.execute(
                "INSERT INTO mailing (start_at, end_at, text, operator_codes, tags, window,"
                " paused, cancelled, materialized_at, created_at, updated_at)"
                " VALUES (?, ?, ?, '[]', '[]', NULL, 0, 0, ?, ?, ?)",
                (start, end, f"Mailing {i}: spring offer", start, start - 60, start - 60),
            )
            mailing_id = cur.lastrowid
            (active if is_active else finished).append(mailing_id)
            mix = ACTIVE_MIX if is_active else FINISHED_MIX
            names = [s for s, _ in mix]
            weights = [w for _, w in mix]
            offset = (i * 7919) % n_clients
            statuses = rng.choices(names, weights, k=per)
            batch = []
            for j, status in enumerate(statuses):
                cid = client_ids[(offset + j) % n_clients]
                batch.append(
                    (
                        mailing_id,
                        cid,
                        phones[cid],
                        status,
                        start,
                        start + 1 + j * 0.01 if status == "sent" else None,
                        ATTEMPTS[status],
                        ERRORS.get(status),
                        start if status == "pending" else start + 1,
                    )
                )
            conn.executemany(
                "INSERT INTO message (mailing_id, client_id, phone, status, created_at,"
                " sent_at, attempts, last_error, next_attempt_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                batch,
            )
    return finished, active


def median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def bench_dispatch(store: Store, batches: int = 20) -> tuple[float, float, int]:
    claim_ms, record_ms, claimed = [], [], 0
    for _ in range(batches):
        t0 = time.perf_counter()
        claims = store.claim_due(limit=500)
        t1 = time.perf_counter()
        now = datetime.now(UTC)
        store.record_outcomes([Outcome(c.id, "sent", sent_at=now) for c in claims])
        t2 = time.perf_counter()
        claim_ms.append((t1 - t0) * 1000)
        record_ms.append((t2 - t1) * 1000)
        claimed += len(claims)
    return statistics.median(claim_ms), statistics.median(record_ms), claimed // batches


def write_big_csv(path: Path, n: int) -> None:
    """n clients, written as generated (the list of rows is never built)."""
    rng = random.Random(3)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["phone", "tag", "timezone"])
        for i in range(n):
            op = OPERATORS[i % len(OPERATORS)]
            writer.writerow((f"7{op}{i:07d}", rng.choice(TAGS), rng.choice(ZONES)))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child_parse(csv_path: str) -> dict[str, float]:
    t0 = time.perf_counter()
    with open(csv_path, newline="", encoding="utf-8") as fh:
        rows = sum(1 for _ in csv.reader(fh)) - 1
    return {"seconds": time.perf_counter() - t0, "rss_mb": _peak_rss_mb(), "rows": rows}


def child_import(csv_path: str, db_path: str) -> dict[str, float]:
    store = Store(db_path)
    stop = threading.Event()
    longest = [0.0]

    def probe() -> None:
        conn = sqlite3.connect(db_path, timeout=0, isolation_level=None)
        blocked_since: float | None = None
        while not stop.is_set():
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("ROLLBACK")
                blocked_since = None
            except sqlite3.OperationalError:
                now = time.perf_counter()
                blocked_since = blocked_since or now
                longest[0] = max(longest[0], now - blocked_since)
            stop.wait(0.02)
        conn.close()

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    t0 = time.perf_counter()
    result = store.import_csv(csv_path)
    seconds = time.perf_counter() - t0
    stop.set()
    thread.join()
    store.close()
    return {
        "seconds": seconds,
        "rss_mb": _peak_rss_mb(),
        "rows": result.imported,
        "longest_lock_s": longest[0],
    }


def run_child(*args: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def bench_big_import(workdir: Path, n: int) -> list[tuple[str, str]]:
    path = workdir / "big.csv"
    write_big_csv(path, n)
    parse = run_child("parse", str(path))
    imp = run_child("import", str(path), str(workdir / "big.db"))
    assert imp["rows"] == n, imp
    return [
        (
            f"import_csv, {n:,} clients (own process)",
            f"{imp['seconds']:.1f} s, peak RSS {imp['rss_mb']:.0f} MB",
        ),
        ("  longest wait for the write lock meanwhile", f"{imp['longest_lock_s'] * 1000:.0f} ms"),
        (
            "raw csv.reader pass, same file (own process)",
            f"{parse['seconds']:.1f} s, peak RSS {parse['rss_mb']:.0f} MB",
        ),
        ("  ratio import / raw parse", f"{imp['seconds'] / parse['seconds']:.1f}x"),
    ]


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        what, *paths = sys.argv[2:]
        figures = child_parse(*paths) if what == "parse" else child_import(*paths)
        print(json.dumps(figures))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--mailings", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--big-import", type=int, default=1_000_000)
    parser.add_argument("--only-import", action="store_true", help="run (d) alone")
    args = parser.parse_args()

    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="notifier-bench-") as tmp:
        workdir = Path(tmp)
        if args.big_import:
            rows += bench_big_import(workdir, args.big_import)
        if args.only_import:
            print_rows(rows)
            return
        store, store_rate, raw_rate = bench_import(workdir, args.clients)
        rows.append((f"import_csv, {args.clients:,} clients", f"{store_rate:,.0f} rows/s"))
        rows.append(("raw sqlite3 executemany, same rows", f"{raw_rate:,.0f} rows/s"))
        rows.append(("  ratio store / raw", f"{store_rate / raw_rate:.2f}x"))

        t0 = time.perf_counter()
        finished, _active = build_messages(store, args.messages, args.mailings)
        build_s = time.perf_counter() - t0
        total = store.db.execute_sql("SELECT COUNT(*) FROM message").fetchone()[0]
        rows.append(
            (
                f"bulk load {total:,} messages / {args.mailings} mailings",
                f"{build_s:.1f} s ({total / build_s:,.0f} rows/s)",
            )
        )
        # A finished mailing (every status present) for the detail views.
        detail_id = finished[len(finished) // 2]
        runs = args.runs
        for label, fn in (
            ("overall_stats()", store.overall_stats),
            ("list_mailings()", store.list_mailings),
            ("mailing_stats(id, limit=100)", lambda: store.mailing_stats(detail_id, limit=100)),
            (
                "mailing_stats(id, status='failed', limit=100)",
                lambda: store.mailing_stats(detail_id, status="failed", limit=100),
            ),
        ):
            rows.append((label, f"{median_ms(fn, runs):.1f} ms (median of {runs})"))

        claim, record, per_batch = bench_dispatch(store)
        rows.append((f"claim_due(limit=500) [{per_batch} claimed]", f"{claim:.1f} ms"))
        rows.append(("record_outcomes(500 sent)", f"{record:.1f} ms"))
        per_message_us = (claim + record) / max(per_batch, 1) * 1000
        rows.append(("  claim + record per message", f"{per_message_us:.0f} µs"))
        store.close()
    print_rows(rows)


def print_rows(rows: list[tuple[str, str]]) -> None:
    width = max(len(label) for label, _ in rows)
    print(f"{'what':<{width}}  figure")
    print(f"{'-' * width}  {'-' * 28}")
    for label, value in rows:
        print(f"{label:<{width}}  {value}")


if __name__ == "__main__":
    main()
