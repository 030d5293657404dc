"""How the UI answers while its own process sends flat out: sender thread vs the UI's loop.

    python bench/ui_latency.py [--clients 20000] [--concurrency 64] [--repeat 3]

The app runs headless (``run_test``, 120x40) with the in-process sender sending
to the simulator, which runs in a process of its own. Two cases in one run:

- **thread**: the sender on its own loop and thread (``SenderThread``: the app);
- **loop**: the same ``Sender`` on the UI's loop (how it was before): the baseline.

For each it measures, while messages go out:

- the UI loop's lag: a 10 ms timer's oversleep, p50/p99/max (target p99 < 10 ms);
- keypress to screen switch (``1``..``4``, until the new screen is current),
  p50/p95 (target p95 < 50 ms);
- whether text typed key by key into the client form arrives intact;
- the send rate meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from http_clients import start_simulator_process, stop_simulator_process

from notifier_tui.core.secret import Secret
from notifier_tui.core.sending.sender import Sender
from notifier_tui.core.store import Store
from notifier_tui.settings.config import Settings, sender_config
from notifier_tui.ui.app import NotifierApp, create_app
from notifier_tui.ui.screens.clients import ClientsScreen
from notifier_tui.ui.screens.log import LogScreen
from notifier_tui.ui.screens.mailings import MailingsScreen
from notifier_tui.ui.screens.stats import StatsScreen

KEYS: list[tuple[str, type]] = [
    ("2", MailingsScreen),
    ("3", StatsScreen),
    ("4", LogScreen),
    ("1", ClientsScreen),
]
TYPED = "8 (916) 777-66-55"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def lag_probe(samples: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        t0 = time.perf_counter()
        await asyncio.sleep(0.01)
        samples.append(time.perf_counter() - t0 - 0.01)


async def sent(store: Store) -> int:
    return (await store.run(store.overall_stats)).by_status.get("sent", 0)


async def one_case(
    mode: str, base_url: str, clients: int, concurrency: int, workdir: Path
) -> dict[str, Any]:
    db = workdir / f"ui-{mode}-{time.monotonic_ns()}.db"
    store = Store(db, default_timezone="Europe/Moscow")
    store.import_rows(
        (i + 2, {"phone": f"79{i:09d}", "tag": "", "timezone": "Europe/Moscow"})
        for i in range(clients)
    )
    now = datetime.now(UTC)
    store.create_mailing(now - timedelta(seconds=1), now + timedelta(hours=1), "bench")
    settings = replace(
        Settings(),
        db=db,
        log_file=workdir / "ui.log",
        base_url=base_url,
        token=Secret("bench"),
        concurrency=concurrency,
        default_timezone="Europe/Moscow",
    )
    app: NotifierApp
    if mode == "thread":
        app = create_app(settings, store=store, sender=True)
    else:
        sender = Sender(store, sender_config(settings, role="ui", auto_takeover=False))
        app = NotifierApp(settings, store, sender, clock=store.clock)
    app.animation_level = "none"
    lags: list[float] = []
    switches: list[float] = []
    typed_ok = False
    try:
        async with app.run_test(size=(120, 40)):
            deadline = time.monotonic() + 30
            while await sent(store) < 500:
                if time.monotonic() > deadline:
                    raise RuntimeError("sending did not start")
                await asyncio.sleep(0.02)
            sent_before, t_before = await sent(store), time.perf_counter()
            stop = asyncio.Event()
            probe = asyncio.create_task(lag_probe(lags, stop))
            for _ in range(4):
                for key, screen in KEYS:
                    started = time.perf_counter()
                    app.simulate_key(key)  # as the driver's input thread posts it
                    while not isinstance(app.screen, screen):
                        if time.perf_counter() - started > 5:
                            raise RuntimeError(f"{key} did not switch")
                        await asyncio.sleep(0.001)
                    switches.append(time.perf_counter() - started)
                    await asyncio.sleep(0.15)  # a user reads the screen
            app.simulate_key("n")
            for _ in range(500):
                if app.screen.query("#phone"):
                    break
                await asyncio.sleep(0.01)
            field = app.screen.query_one("#phone")
            field.focus()
            await asyncio.sleep(0.05)
            for key in [*TYPED, "x", "backspace"]:
                app.simulate_key(key)
                await asyncio.sleep(0.02)  # a fast typist: 50 keys a second
            await asyncio.sleep(0.3)
            typed_ok = getattr(field, "value", None) == TYPED
            stop.set()
            await probe
            rate = (await sent(store) - sent_before) / (time.perf_counter() - t_before)
            app.simulate_key("escape")
            await asyncio.sleep(0.1)
            app.simulate_key("q")
            for _ in range(1500):
                if not app.is_running:
                    break
                await asyncio.sleep(0.01)
    finally:
        store.close()
    return {
        "mode": mode,
        "lag_p50": pct(lags, 0.5) * 1000,
        "lag_p99": pct(lags, 0.99) * 1000,
        "lag_max": max(lags) * 1000 if lags else float("nan"),
        "switch_p50": pct(switches, 0.5) * 1000,
        "switch_p95": pct(switches, 0.95) * 1000,
        "typed_ok": typed_ok,
        "rate": rate,
    }


async def main(args: argparse.Namespace) -> None:
    proc, base_url = start_simulator_process()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            results: list[dict[str, Any]] = []
            for _ in range(args.repeat):
                for mode in ("thread", "loop"):
                    results.append(
                        await one_case(mode, base_url, args.clients, args.concurrency, Path(tmp))
                    )
    finally:
        stop_simulator_process(proc)
    print(
        f"UI latency while sending flat out ({args.clients} clients, {args.concurrency} in flight)"
    )
    print(
        f"{'sender':<8} {'lag p50':>8} {'lag p99':>8} {'lag max':>8}"
        f" {'switch p50':>11} {'switch p95':>11} {'typed ok':>9} {'msg/s':>7}"
    )
    for r in results:
        print(
            f"{r['mode']:<8} {r['lag_p50']:>6.1f}ms {r['lag_p99']:>6.1f}ms {r['lag_max']:>6.1f}ms"
            f" {r['switch_p50']:>9.1f}ms {r['switch_p95']:>9.1f}ms {r['typed_ok']!s:>9}"
            f" {r['rate']:>7.0f}"
        )
    for mode in ("thread", "loop"):
        rows = [r for r in results if r["mode"] == mode]
        print(
            f"median {mode:<7} lag p99 {statistics.median(r['lag_p99'] for r in rows):.1f} ms"
            f" (target < 10), switch p95"
            f" {statistics.median(r['switch_p95'] for r in rows):.1f} ms (target < 50),"
            f" typed intact {sum(r['typed_ok'] for r in rows)}/{len(rows)}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    asyncio.run(main(parser.parse_args()))
