"""Scaling out: 1, 2 and 4 sender workers on SQLite and on PostgreSQL (issue 11).

    python bench/scale.py [--n 6000] [--workers 1,2,4] [--latency 0,200]
                          [--concurrency 100] [--pg-url URL] [--rate-limit R]

For each backend, gateway latency and worker count: a fresh store with N
clients and one running mailing, the simulator in its own process, and
``notifier-tui --daemon --workers W`` (W = 1: a plain ``--daemon``) sending
until all N are sent. The rate is taken from the store between 10% and 90%
sent, so the workers' start-up does not count; each row prints msg/s and the
ratio to one worker on the same backend and latency.

Targets (this 2-core machine): PostgreSQL at 0 ms, 2 workers >= 1.6x one;
200 ms latency with --concurrency in flight per worker, N workers >= 0.9*N
times one. SQLite is printed beside them: only the lease holder sends there
(one writer), so more workers add fail-over, not throughput.

With --rate-limit R every run shares one store-wide limit of R msg/s (the
leader hands each worker R / workers) and the rate is printed against it:
issue 11 asks it to hold within 10% with 1, 2 or 4 workers.

Without --pg-url a throwaway cluster is started in a temp dir (Debian's
binaries, as tests/pgfixtures.py does) with fsync off: that flatters
PostgreSQL's write cost against a real server's, and says nothing of network
round trips to a remote database.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from http_clients import start_simulator_process, stop_simulator_process

from notifier_tui.core.store import Store

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def throwaway_pg() -> Iterator[Callable[[str], str]]:
    """A PostgreSQL cluster in a temp dir; yields ``make(name) -> URL`` of a new database."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    if not bins:
        raise SystemExit(
            "PostgreSQL is not installed (apt-get install postgresql), or pass --pg-url"
        )
    bin_dir = bins[0]
    root = os.geteuid() == 0
    as_user = ["runuser", "-u", "postgres", "--"] if root else []
    user = "postgres" if root else os.environ.get("USER", "postgres")
    base = Path(tempfile.mkdtemp(prefix="notifier-bench-pg-"))
    if root:
        shutil.chown(base, "postgres")
    data, port = base / "data", _free_port()

    def run(tool: str, *args: str) -> str:
        done = subprocess.run(
            [*as_user, str(bin_dir / tool), *args], check=True, capture_output=True, text=True
        )
        return done.stdout

    run("initdb", "-D", str(data), "-A", "trust", "-U", user, "--no-sync", "-E", "UTF8")
    options = (
        f"-p {port} -c listen_addresses=127.0.0.1 -k {base} -c fsync=off"
        " -c synchronous_commit=off -c max_connections=200"
    )
    run("pg_ctl", "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "start")

    def make(name: str) -> str:
        run(
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            user,
            "-d",
            "postgres",
            "-c",
            f"CREATE DATABASE {name}",
        )
        return f"postgresql://{user}@127.0.0.1:{port}/{name}"

    try:
        yield make
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


def seed(db: str, n: int) -> None:
    store = Store(db)
    try:
        store.import_rows(
            (i + 2, {"phone": f"7901{i:07d}", "tag": "", "timezone": "Europe/Moscow"})
            for i in range(n)
        )
        start = datetime.now(UTC) - timedelta(seconds=1)
        store.create_mailing(start, start + timedelta(hours=1), "scale bench")
    finally:
        store.close()


def sent_counter(db: str) -> Callable[[], int]:
    """``sent()`` read on a connection of its own (the daemons write meanwhile)."""
    sql = "SELECT COUNT(*) FROM message WHERE status = 'sent'"
    if db.startswith("postgresql://"):
        import psycopg2

        conn = psycopg2.connect(db)
        conn.autocommit = True

        def pg() -> int:
            with conn.cursor() as cur:
                cur.execute(sql)
                row = cur.fetchone()
            return int(row[0]) if row else 0

        return pg
    lite = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    return lambda: int(lite.execute(sql).fetchone()[0])


def measure(
    db: str, base_url: str, workers: int, n: int, concurrency: int, tmp: Path, rate_limit: float
) -> float:
    """msg/s between 10% and 90% of ``n`` sent by ``workers`` daemons."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTIFIER_")}
    env.update(
        NOTIFIER_DB=db,
        NOTIFIER_BASE_URL=base_url,
        NOTIFIER_TOKEN="bench",
        NOTIFIER_CONCURRENCY=str(concurrency),
        NOTIFIER_LEASE_TTL="2",
        NOTIFIER_LOG_LEVEL="WARNING",
        NOTIFIER_LOG_DIR=str(tmp / f"log-{workers}"),
        NOTIFIER_CONFIG_DIR=str(tmp / "config"),
        NOTIFIER_RATE_LIMIT=str(rate_limit),
    )
    argv = [sys.executable, "-m", "notifier_tui", "--daemon"]
    if workers > 1:
        argv += ["--workers", str(workers)]
    proc = subprocess.Popen(argv, env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
    sent = sent_counter(db)
    low, high = n // 10, n * 9 // 10
    t_low = t_high = None
    deadline = time.monotonic() + 600
    try:
        while time.monotonic() < deadline:
            count = sent()
            now = time.monotonic()
            if t_low is None and count >= low:
                t_low, c_low = now, count
            if count >= high:
                t_high, c_high = now, count
                break
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if t_low is None or t_high is None or t_high <= t_low:
        return 0.0
    return (c_high - c_low) / (t_high - t_low)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=6000, help="messages per run")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--latency", default="0,200", help="gateway latencies in ms")
    parser.add_argument("--concurrency", type=int, default=100, help="in flight per worker")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-url", help="an empty PostgreSQL server's base URL (no database)")
    parser.add_argument("--rate-limit", type=float, default=0.0, help="store-wide msg/s limit")
    args = parser.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    latencies = [float(x) for x in args.latency.split(",")]
    backends = args.backends.split(",")
    results: dict[tuple[str, float, int], float] = {}
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        make_pg: Callable[[str], str] | None = None
        if "postgresql" in backends:
            if args.pg_url:
                base = args.pg_url.rstrip("/")
                make_pg = lambda name: f"{base}/{name}"  # noqa: E731 - the caller created it
            else:
                make_pg = stack.enter_context(throwaway_pg())
        run_id = 0
        print(f"{'backend':10} {'latency':>8} {'workers':>7} {'msg/s':>9} {'x one':>7}")
        for backend in backends:
            for latency in latencies:
                sim, base_url = start_simulator_process(latency_ms=latency, seed=1)
                try:
                    for workers in counts:
                        run_id += 1
                        if backend == "sqlite":
                            db = str(tmp / f"scale-{run_id}.db")
                        else:
                            assert make_pg is not None
                            db = make_pg(f"scale_{os.getpid()}_{run_id}")
                        seed(db, args.n)
                        rate = measure(
                            db, base_url, workers, args.n, args.concurrency, tmp, args.rate_limit
                        )
                        results[backend, latency, workers] = rate
                        one = results.get((backend, latency, counts[0])) or rate
                        ratio = rate / one if one else 0.0
                        cap = args.rate_limit
                        limit = f"  {rate / cap:.2f} of the limit" if cap else ""
                        print(
                            f"{backend:10} {latency:>6.0f}ms {workers:>7} {rate:>9.1f}"
                            f" {ratio:>6.2f}x{limit}",
                            flush=True,
                        )
                finally:
                    stop_simulator_process(sim)
    print()
    print("targets: postgresql 0 ms, 2 workers >= 1.6x; 200 ms, N workers >= 0.9*N x one")
    for latency in latencies:
        one = results.get(("postgresql", latency, 1))
        if not one:
            continue
        for workers in counts[1:]:
            got = results.get(("postgresql", latency, workers), 0.0) / one
            want = 1.6 if latency == 0 and workers == 2 else (0.9 * workers if latency else None)
            if want is None:
                continue
            verdict = "met" if got >= want else "NOT met"
            print(
                f"  postgresql {latency:.0f} ms x{workers}: {got:.2f}x"
                f" (target {want:.2f}x) {verdict}"
            )


if __name__ == "__main__":
    main()
