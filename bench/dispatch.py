"""How fast the sender dispatches, against bare HTTP client loops measured in the same run.

    python bench/dispatch.py [--n 10000] [--concurrency 64] [--slow-n 6000]
                             [--slower-n 12000] [--rss-n 1000000]

(a) bare client loops posting N requests to the simulator at the same concurrency,
    no store: the best bare httpx configuration, GatewayClient alone, bare aiohttp;
(b) the sender (the daemon's core: store, claims, batched writes) sending N
    messages to the same simulator, timed from the simulator's side, and its
    ratio to each of (a);
(c) 200 ms gateway latency with 200 requests in flight: the rate against the
    ceiling concurrency / latency = 1,000 msg/s;
(c') 500 ms gateway latency with 1,000 requests in flight: against 2,000 msg/s;
(d) event-loop lag (p99 and max of a 10 ms timer) during (b);
(e) (b) again on uvloop's loop and on asyncio's, each on a fresh loop in a thread;
(f) the daemon's peak RSS with --rss-n pending messages in the store, beside the
    same daemon on an empty store (0 skips it: building 1M rows takes a minute).

Each target is printed beside its measured baseline: (b) >= 0.7x the bare aiohttp
loop, (c) >= 0.95, (c') >= 0.9, (f) < 200 MB.

The simulator runs in its own process so it never shares a core's time with the
client being measured. Figures vary ±20% between runs on shared machines; the
ratios, measured side by side, are what to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from http_clients import bare_rate, start_simulator_process, stop_simulator_process

from notifier_tui.core.sending.sender import Sender, SenderConfig
from notifier_tui.core.store import Store


def sim_root(base_url: str) -> str:
    return base_url.rsplit("/v1", 1)[0]


async def lag_probe(samples: list[float], stop: asyncio.Event, period: float = 0.01) -> None:
    """Sleep 10 ms again and again; the oversleep is the loop's lag."""
    while not stop.is_set():
        t0 = time.perf_counter()
        await asyncio.sleep(period)
        samples.append(time.perf_counter() - t0 - period)


async def sender_rate(
    base_url: str, n: int, concurrency: int, workdir: Path
) -> tuple[float, list[float]]:
    """Messages/s of the sender sending ``n`` messages, from the simulator's clock."""
    db = workdir / f"bench-{n}-{concurrency}-{time.monotonic_ns()}.db"
    store = Store(db)
    store.import_rows(
        (i + 2, {"phone": f"79{i:09d}", "tag": "", "timezone": "Europe/Moscow"}) for i in range(n)
    )
    start = datetime.now(UTC) - timedelta(seconds=1)
    # One client for the polling: each new httpx client loads the CA bundle
    # (~60 ms on the loop), which would show up as sender lag.
    control = httpx.AsyncClient(base_url=sim_root(base_url))
    await control.post("/reset")
    lags: list[float] = []
    stop = asyncio.Event()
    probe = asyncio.create_task(lag_probe(lags, stop))
    sender = Sender(
        store,
        SenderConfig(
            base_url=base_url,
            token="bench",
            concurrency=concurrency,
            timeout=10,
            breaker_threshold=1000,
        ),
    )
    task = asyncio.create_task(sender.run())
    # Created after the sender is up, so the measured window is pure dispatch.
    store.create_mailing(start, start + timedelta(hours=1), "benchmark")
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        stats = (await control.get("/stats")).json()
        if stats["accepted_total"] >= n:
            break
        await asyncio.sleep(0.2)
    stop.set()
    await probe
    await sender.stop()
    await task
    await control.aclose()
    store.close()
    return n / max(stats["window_s"], 1e-9), lags


def rate_on_fresh_loop(
    factory: Callable[[], asyncio.AbstractEventLoop], base_url: str, n: int, c: int, tmp: Path
) -> float:
    """(b) on a new loop made by ``factory``, in this (worker) thread."""
    with asyncio.Runner(loop_factory=factory) as runner:
        rate, _ = runner.run(sender_rate(base_url, n, c, tmp))
    return rate


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def daemon_rss(db: Path, base_url: str, seconds: float = 15.0) -> float:
    """Peak RSS (MB) of ``notifier-tui --daemon`` on ``db`` after ``seconds`` of running."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTIFIER_")}
    env.update(NOTIFIER_CONFIG_DIR=str(db.parent), NOTIFIER_LOG_DIR=str(db.parent))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "notifier_tui",
            "--db",
            str(db),
            "--base-url",
            base_url,
            "--token",
            "bench",
            "--daemon",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(seconds)
        return peak_rss_mb(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def pending_store(db: Path, n: int) -> None:
    """``n`` pending messages: n clients and one running mailing, materialised in SQL."""
    store = Store(db)
    try:
        store.import_rows(
            (i + 2, {"phone": f"7{i:010d}", "tag": "", "timezone": "Europe/Moscow"})
            for i in range(n)
        )
        now = datetime.now(UTC)
        store.create_mailing(now - timedelta(seconds=1), now + timedelta(days=1), "rss")
    finally:
        store.close()


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 2 else max(values)


async def main(args: argparse.Namespace) -> None:
    proc, base_url = start_simulator_process(latency_ms=0)
    rows: list[tuple[str, float]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            bare = {}
            bare_lags: list[float] = []
            for kind in ("httpx-pools", "gateway-client", "aiohttp"):
                # The same lag probe beside the bare GatewayClient loop: the baseline for (d).
                stop = asyncio.Event()
                probe = asyncio.create_task(
                    lag_probe(bare_lags if kind == "gateway-client" else [], stop)
                )
                bare[kind] = await bare_rate(kind, base_url, args.n, args.concurrency)
                stop.set()
                await probe
                rows.append((f"(a) bare {kind} loop", bare[kind]))
            rate, lags = await sender_rate(base_url, args.n, args.concurrency, Path(tmp))
            rows.append(("(b) sender with store", rate))
    finally:
        stop_simulator_process(proc)
    proc, slow_url = start_simulator_process(latency_ms=200)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            bare_slow = await bare_rate("gateway-client", slow_url, args.slow_n, 200)
            slow, _ = await sender_rate(slow_url, args.slow_n, 200, Path(tmp))
    finally:
        stop_simulator_process(proc)
    proc, slower_url = start_simulator_process(latency_ms=500)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            bare_slower = await bare_rate("gateway-client", slower_url, args.slower_n, 1000)
            slower, _ = await sender_rate(slower_url, args.slower_n, 1000, Path(tmp))
    finally:
        stop_simulator_process(proc)
    loops: dict[str, float] = {}
    proc, base_url = start_simulator_process(latency_ms=0)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            factories: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
                "asyncio": asyncio.new_event_loop
            }
            try:
                import uvloop

                factories["uvloop"] = uvloop.new_event_loop
            except ImportError:
                pass
            for name, factory in factories.items():
                loops[name] = await asyncio.to_thread(
                    rate_on_fresh_loop, factory, base_url, args.n, args.concurrency, Path(tmp)
                )
    finally:
        stop_simulator_process(proc)
    rss: tuple[float, float] | None = None
    if args.rss_n:
        # A gateway that answers after 30 s: the daemon holds its pending messages
        # in the store, not in memory, whatever their number.
        proc, stalled_url = start_simulator_process(latency_ms=30_000)
        try:
            with tempfile.TemporaryDirectory() as tmp:
                empty, full = Path(tmp) / "empty.db", Path(tmp) / "full.db"
                pending_store(empty, 0)
                pending_store(full, args.rss_n)
                rss = (daemon_rss(empty, stalled_url), daemon_rss(full, stalled_url))
        finally:
            stop_simulator_process(proc)

    print(f"\nN={args.n} concurrency={args.concurrency}, simulator in its own process\n")
    print(f"{'what':34} {'msg/s':>9}")
    for name, value in rows:
        print(f"{name:34} {value:9.0f}")
    print()
    for kind, value in bare.items():
        print(f"(b) / bare {kind:18} {rate / value:6.2f}x")
    print(
        f"\n(c) 200 ms latency, 200 in flight, {args.slow_n} messages: sender {slow:.0f} msg/s"
        f" = {slow / 1000:.2f} of the 1,000 msg/s ceiling;"
        f" bare gateway-client loop {bare_slow:.0f} msg/s ({slow / bare_slow:.2f}x)"
    )
    print(
        f"(c') 500 ms latency, 1,000 in flight, {args.slower_n} messages: sender {slower:.0f}"
        f" msg/s = {slower / 2000:.2f} of the 2,000 msg/s ceiling (target >= 0.9);"
        f" bare gateway-client loop {bare_slower:.0f} msg/s ({slower / bare_slower:.2f}x)"
    )
    print(
        f"(d) loop lag during (b): p99 {pct(lags, 99) * 1000:.1f} ms,"
        f" max {max(lags) * 1000:.1f} ms ({len(lags)} samples); during the bare"
        f" gateway-client loop: p99 {pct(bare_lags, 99) * 1000:.1f} ms,"
        f" max {max(bare_lags) * 1000:.1f} ms"
    )

    for name, value in loops.items():
        print(f"(e) (b) on a fresh {name} loop: {value:.0f} msg/s")
    if "uvloop" in loops:
        print(f"(e) uvloop / asyncio: {loops['uvloop'] / loops['asyncio']:.2f}x")
    if rss is not None:
        print(
            f"(f) daemon peak RSS: {rss[1]:.0f} MB with {args.rss_n:,} pending messages,"
            f" {rss[0]:.0f} MB on an empty store (target < 200 MB)"
        )
    print("\ntargets:")
    print(f"  (b) sender / bare aiohttp = {rate / bare['aiohttp']:.2f}x (target >= 0.7)")
    print(f"  (c) {slow / 1000:.2f} of 1,000 msg/s (target >= 0.95)")
    print(f"  (c') {slower / 2000:.2f} of 2,000 msg/s (target >= 0.9)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--slow-n", type=int, default=6_000)
    parser.add_argument("--slower-n", type=int, default=12_000)
    parser.add_argument("--rss-n", type=int, default=1_000_000)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(parser.parse_args()))
