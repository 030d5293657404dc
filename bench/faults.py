"""How the sender rides out gateway faults: the real sender against the simulator.

    python bench/faults.py [--scenario outage storm huge flapping] [--scale 1.0]

Each scenario runs in a child process of its own (so its peak RSS is its own)
with a fresh simulator in another process (``python -m notifier_tui.sim``, so
it never takes CPU from the sender) and the real
:class:`~notifier_tui.core.sending.sender.Sender` over a real SQLite store in
a temporary directory, 32 requests in flight, the gateway at 20 ms latency:

- ``outage``: 25% random HTTP 500s throughout, and connections refused from
  4 s to 14 s (a 10 s outage);
- ``storm``: every answer a 429 ``Retry-After: 2`` from 4 s to 8 s;
- ``huge``: 5% of answers a valid 200 ``{"code": 0}`` padded to 8 MiB;
- ``flapping``: connections refused 2 s out of every 5 (up 0-3 s, down 3-5 s, ...).

Per scenario it prints:

- ``drain``: seconds from the first request to the last message accepted;
- ``worst attempts`` / ``worst wait``: the most attempts one message took, and
  the longest a message waited from its creation to its acceptance;
- ``wasted``: requests started while the gateway was down (outage, flapping)
  or while it throttled everything (storm);
- ``first ok``: seconds from the recovery (the end of the fault window) to the
  first accepted answer;
- ``half speed``: seconds from the recovery to the end of the first 0.5 s
  window with at least half the acceptances per second of the 2 s before the
  fault (for flapping: the worst and the median over the up periods);
- ``peak RSS`` of the sender's process.

The targets (docs/performance.md): first acceptance within 3 s of a recovery
and half speed within 3-7 s; in the 429 storm fewer than 80 requests during it
and half speed within 2-5 s after it.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from http_clients import start_simulator_process, stop_simulator_process

from notifier_tui.core.sending.breaker import BreakerConfig
from notifier_tui.core.sending.gateway import GatewayClient, GatewayResult, OutcomeClass
from notifier_tui.core.sending.sender import Sender, SenderConfig
from notifier_tui.core.store import Store

CONCURRENCY = 32
LATENCY_MS = 20


@dataclass(frozen=True)
class Scenario:
    """One fault to ride out.

    Attributes:
        n: Messages to send.
        knobs: Simulator options (``SimulatorConfig`` names).
        faults: (start, end) of the fault windows, in seconds of the simulator's clock.
        what: One line for the report.
    """

    n: int
    knobs: dict[str, float | int | str]
    faults: list[tuple[float, float]]
    what: str


def _flaps(up: float, down: float, until: float) -> list[tuple[float, float]]:
    period = up + down
    return [(k * period + up, (k + 1) * period) for k in range(int(until / period) + 1)]


SCENARIOS = {
    "outage": Scenario(
        20_000,
        {"fail_rate": 0.25, "outage_start_s": 4, "outage_s": 10},
        [(4.0, 14.0)],
        "10 s outage (refused) at 4 s, 25% HTTP 500 throughout",
    ),
    "storm": Scenario(
        15_000,
        {"storm_start_s": 4, "storm_s": 4, "storm_retry_after_s": 2},
        [(4.0, 8.0)],
        "4 s of 429 Retry-After: 2 at 4 s",
    ),
    "huge": Scenario(
        3_000, {"huge_rate": 0.05, "huge_mb": 8}, [], "5% of answers 200 padded to 8 MiB"
    ),
    "flapping": Scenario(
        15_000,
        {"flap_up_s": 3, "flap_down_s": 2},
        _flaps(3, 2, 60),
        "refused 2 s of every 5 (down 3-5 s, 8-10 s, ...)",
    ),
}


@dataclass
class Request:
    start: float
    end: float
    msg_id: int
    accepted: bool
    kind: str


class RecordingGateway(GatewayClient):
    """The real client, noting every request's start, end and outcome (monotonic)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.log: list[Request] = []
        self.accepted_ids: set[int] = set()

    async def send(self, msg_id: int, phone: str | int, text: str) -> GatewayResult:
        start = time.monotonic()
        result = await super().send(msg_id, phone, text)
        accepted = result.outcome is OutcomeClass.ACCEPTED
        self.log.append(Request(start, time.monotonic(), msg_id, accepted, result.error_kind))
        if accepted:
            self.accepted_ids.add(msg_id)
        return result


def sender_config(base_url: str) -> SenderConfig:
    """The settings' defaults but the URL, the token and the concurrency."""
    fields = {f.name for f in dataclasses.fields(SenderConfig)}
    extra: dict[str, Any] = {}
    if "breaker" not in fields:
        # Until the settings carry a BreakerConfig, the old threshold maps to
        # min_calls (BreakerConfig.from_legacy): give it the new default.
        extra["breaker_threshold"] = BreakerConfig().min_calls
    return SenderConfig(
        base_url=base_url, token="bench", concurrency=CONCURRENCY, role="daemon", **extra
    )


async def drive(scenario: Scenario, workdir: Path) -> dict[str, Any]:
    db = workdir / "faults.db"
    store = Store(db)
    store.import_rows(
        (i + 2, {"phone": f"79{i:09d}", "tag": "", "timezone": "Europe/Moscow"})
        for i in range(scenario.n)
    )
    knobs: dict[str, float | int | str] = {
        "latency_ms": LATENCY_MS,
        "seed": 1,
        "stats_every": 0,
        **scenario.knobs,
    }
    proc, base_url = start_simulator_process(15.0, **knobs)
    stats_url = base_url.rsplit("/v1", 1)[0] + "/stats"
    gateway = RecordingGateway(base_url, "bench", timeout=5.0, max_connections=CONCURRENCY)
    try:
        async with aiohttp.ClientSession() as control:
            async with control.get(stats_url) as answer:
                sim = await answer.json()
            t0 = time.monotonic() - sim["elapsed_s"]  # the simulator's start, on our clock
            sender = Sender(store, sender_config(base_url), gateway=gateway)
            task = asyncio.create_task(sender.run())
            now = datetime.now(UTC)
            store.create_mailing(now - timedelta(seconds=1), now + timedelta(hours=1), "faults")
            deadline = time.monotonic() + 180
            while len(gateway.accepted_ids) < scenario.n and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            await sender.stop()
            await task
            async with control.get(stats_url) as answer:
                by_fault = (await answer.json())["by_fault"]
    finally:
        await gateway.aclose()
        stop_simulator_process(proc)
        store.close()
    with sqlite3.connect(db) as conn:
        worst_attempts, worst_wait, unsent = conn.execute(
            "SELECT MAX(attempts), MAX(sent_at - created_at), SUM(status != 'sent') FROM message"
        ).fetchone()
    log = sorted(gateway.log, key=lambda r: r.start)
    return {
        "requests": [(r.start - t0, r.end - t0, r.accepted) for r in log],
        "worst_attempts": worst_attempts,
        "worst_wait": worst_wait,
        "unsent": unsent,
        "by_fault": {k: v for k, v in by_fault.items() if v},
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def measure(scenario: Scenario, raw: dict[str, Any]) -> dict[str, Any]:
    """The figures of one run (times in seconds of the simulator's clock)."""
    requests: list[tuple[float, float, bool]] = raw["requests"]
    accepted_at = sorted(end for _, end, ok in requests if ok)
    first = requests[0][0] if requests else 0.0
    out: dict[str, Any] = {
        "what": scenario.what,
        "n": scenario.n,
        "requests": len(requests),
        "drain": (accepted_at[-1] - first) if accepted_at else None,
        "worst_attempts": raw["worst_attempts"],
        "worst_wait": raw["worst_wait"],
        "unsent": raw["unsent"],
        "peak_rss_mb": raw["peak_rss_mb"],
        "by_fault": raw["by_fault"],
    }
    end_of_run = accepted_at[-1] if accepted_at else 0.0
    faults = [(a, b) for a, b in scenario.faults if a < end_of_run]
    last = int(end_of_run) + 1
    out["timeline"] = [
        (
            sum(1 for st, _, _ in requests if k <= st < k + 1),
            sum(1 for t in accepted_at if k <= t < k + 1),
        )
        for k in range(last)
    ]
    out["wasted"] = sum(1 for s, _, _ in requests if any(a <= s < b for a, b in faults))
    if not faults:
        return out
    before = faults[0][0]
    baseline = sum(1 for t in accepted_at if before - 2.5 <= t < before - 0.5) / 2.0
    out["baseline_rate"] = baseline
    firsts, halves = [], []
    for k, (_, up) in enumerate(faults):
        # Up to the next fault (flapping) or the end of the run.
        limit = faults[k + 1][0] if k + 1 < len(faults) else end_of_run
        if up >= limit or (k + 1 == len(faults) and limit - up < 3.0):
            continue  # the run ended (out of messages) before there was much to judge
        oks = [t for t in accepted_at if up <= t < limit]
        firsts.append(oks[0] - up if oks else None)
        halves.append(_half_speed(oks, up, limit, baseline))
    out["first_ok"] = firsts
    out["half_speed"] = halves
    return out


def _half_speed(oks: list[float], up: float, limit: float, baseline: float) -> float | None:
    """Seconds from ``up`` to the end of the first 0.5 s window at half the baseline rate."""
    need = 0.5 * baseline * 0.5
    j = 0
    for i, t in enumerate(oks):
        while j < len(oks) and oks[j] < t + 0.5:
            j += 1
        if j - i >= need and t + 0.5 <= limit:
            return t + 0.5 - up
    return None


def _fmt(value: float | None, unit: str = " s") -> str:
    return "-" if value is None else f"{value:.2f}{unit}"


def _summary(values: list[float | None]) -> str:
    if not values:
        return "n/a"
    if len(values) == 1:
        return _fmt(values[0])
    reached = [v for v in values if v is not None]
    missed = len(values) - len(reached)
    text = (
        f"median {_fmt(statistics.median(reached))}, worst {_fmt(max(reached))}"
        if reached
        else "never"
    )
    return text + (f", {missed} of {len(values)} up periods never" if missed else "")


def report(name: str, m: dict[str, Any], timeline: bool = False) -> None:
    print(f"\n{name}: {m['what']}; {m['n']} messages, {m['requests']} requests")
    print(f"  drain            {_fmt(m['drain'])}  ({m['unsent'] or 0} not sent)")
    wait = m["worst_wait"]
    print(f"  worst message    {m['worst_attempts']} attempts, waited {_fmt(wait)}")
    label = "during the storm" if name == "storm" else "on a dead gateway"
    print(f"  wasted           {m['wasted']} requests {label}")
    if "first_ok" in m:
        print(f"  baseline         {m['baseline_rate']:.0f} accepted/s before the fault")
        print(f"  first ok         {_summary(m['first_ok'])} after recovery")
        print(f"  half speed       {_summary(m['half_speed'])} after recovery")
    print(f"  peak RSS         {m['peak_rss_mb']:.0f} MiB")
    faults = ", ".join(f"{k} {v}" for k, v in m["by_fault"].items())
    print(f"  simulator saw    {faults}")
    if timeline:
        cells = " ".join(f"{k}:{r}/{a}" for k, (r, a) in enumerate(m["timeline"]))
        print(f"  per second (requests/accepted): {cells}")


def run_one(name: str, scale: float) -> None:
    scenario = SCENARIOS[name]
    scenario = dataclasses.replace(scenario, n=max(100, int(scenario.n * scale)))
    with tempfile.TemporaryDirectory() as tmp:
        raw = asyncio.run(drive(scenario, Path(tmp)))
    print(json.dumps(measure(scenario, raw)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", nargs="*", choices=list(SCENARIOS), default=list(SCENARIOS))
    parser.add_argument("--scale", type=float, default=1.0, help="multiply message counts")
    parser.add_argument(
        "--timeline", action="store_true", help="print requests/accepted second by second"
    )
    parser.add_argument("--one", choices=list(SCENARIOS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        run_one(args.one, args.scale)
        return
    print(f"sender: {CONCURRENCY} in flight; gateway: {LATENCY_MS} ms, own process")
    for name in args.scenario:
        child = subprocess.run(
            [sys.executable, __file__, "--one", name, "--scale", str(args.scale)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if child.returncode != 0:
            print(f"\n{name}: failed (exit {child.returncode})\n{child.stderr[-2000:]}")
            continue
        report(name, json.loads(child.stdout.strip().splitlines()[-1]), args.timeline)


if __name__ == "__main__":
    main()
