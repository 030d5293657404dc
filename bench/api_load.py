"""Does the HTTP API slow the sender? Its rate with the API idle and under 100 reads/s.

    python bench/api_load.py [--n 20000] [--concurrency 64] [--reads 100] [--repeat 3]

The sender and the API share one event loop, as in the daemon; the simulator
runs in its own process, and so does the load: a second process asking the
API for ``/stats``, ``/mailings`` and a page of ``/clients`` at ``--reads``
requests per second. Each case sends N messages; the rate is timed from the
first to the last accepted message.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from http_clients import start_simulator_process, stop_simulator_process

from notifier_tui.core.sending.sender import Sender, SenderConfig
from notifier_tui.core.store import Store
from notifier_tui.ops.api.app import create_api
from notifier_tui.ops.api.server import ApiServer

TOKEN = "bench-api-token"

LOAD = textwrap.dedent(
    """
    import sys, time, httpx
    url, rate, token = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    paths = ["/stats", "/mailings", "/clients?limit=50"]
    done = errors = 0
    with httpx.Client(base_url=url, headers={"Authorization": "Bearer " + token}) as c:
        start = time.perf_counter()
        while True:
            due = start + done / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            try:
                if c.get(paths[done % 3]).status_code != 200:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            done += 1
            if done % 100 == 0:
                print(done, errors, flush=True)
    """
)


async def one_case(base_url: str, n: int, concurrency: int, reads: float, tmp: Path) -> float:
    store = Store(tmp / f"api-{time.monotonic_ns()}.db")
    try:
        store.import_rows(
            (i + 2, {"phone": f"79{i:09d}", "tag": "", "timezone": "Europe/Moscow"})
            for i in range(n)
        )
        api = ApiServer(create_api(store, TOKEN), "127.0.0.1", 0)
        await api.start()
        load = None
        if reads:
            load = subprocess.Popen(
                [sys.executable, "-c", LOAD, api.url, str(reads), TOKEN],
                stdout=subprocess.DEVNULL,
            )
            await asyncio.sleep(1.0)  # the load is under way before sending starts
        now = datetime.now(UTC)
        store.create_mailing(now - timedelta(seconds=1), now + timedelta(hours=1), "bench")
        sender = Sender(
            store,
            SenderConfig(base_url=base_url, token="bench", concurrency=concurrency, timeout=10),
        )
        task = asyncio.create_task(sender.run())
        started = time.perf_counter()
        first = last = None
        while True:
            counts = (await store.run(store.overall_stats)).by_status
            sent = counts.get("sent", 0)
            if first is None and sent > 0:
                first = (time.perf_counter(), sent)
            if sent >= n:
                last = time.perf_counter()
                break
            if time.perf_counter() - started > 300:
                raise RuntimeError(f"stalled at {counts}")
            await asyncio.sleep(0.05)
        await sender.stop()
        await task
        if load is not None:
            load.terminate()
            load.wait()
        await api.stop()
        assert first is not None
        return (n - first[1]) / (last - first[0])
    finally:
        store.close()


async def main(args: argparse.Namespace) -> None:
    proc, base_url = start_simulator_process()
    idle: list[float] = []
    loaded: list[float] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for _ in range(args.repeat):
                idle.append(await one_case(base_url, args.n, args.concurrency, 0, Path(tmp)))
                loaded.append(
                    await one_case(base_url, args.n, args.concurrency, args.reads, Path(tmp))
                )
    finally:
        stop_simulator_process(proc)
    print(f"sender, {args.n} messages, {args.concurrency} in flight, API on the same loop")
    for i, (a, b) in enumerate(zip(idle, loaded, strict=True)):
        print(
            f"run {i + 1}: API idle {a:,.0f} msg/s, {args.reads:.0f} reads/s {b:,.0f} msg/s"
            f" ({b / a:.2f}x)"
        )
    a, b = statistics.median(idle), statistics.median(loaded)
    print(f"median: idle {a:,.0f} msg/s, under reads {b:,.0f} msg/s: {b / a:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--reads", type=float, default=100.0)
    parser.add_argument("--repeat", type=int, default=3)
    asyncio.run(main(parser.parse_args()))
