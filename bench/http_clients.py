"""Requests/s of bare HTTP client loops against the gateway simulator.

    python bench/http_clients.py [--n 20000] [--concurrency 64] [--latency-ms 0] [--repeat 3]

Each loop posts N ``/send`` requests with a fixed set of C worker tasks pulling
ids from a queue (the sender's shape, docs/performance.md), using:

- ``httpx``: one plain ``httpx.AsyncClient`` with C connections;
- ``httpx-pools``: several plain httpx clients of <= 8 connections, round-robin;
- ``gateway-client``: :class:`notifier_tui.core.sending.gateway.GatewayClient` itself
  (aiohttp underneath, plus the body cap, the classification and the result);
- ``aiohttp``: a bare ``aiohttp.ClientSession`` (the reference).

``httpx-aiohttp`` (httpx on aiohttp's transport) was the gateway client's stack
until it moved to aiohttp directly; it is measured only when that package is
installed (``--kinds httpx-aiohttp``).

The simulator runs in its own process, so it never takes CPU from the loop
being measured. A loop stops early after ``--max-seconds`` (one plain httpx
pool above ~50 connections manages only a few hundred requests/s); its rate is
then what it did in that time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import selectors
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from notifier_tui.core.sending.gateway import GatewayClient, OutcomeClass  # noqa: E402

KINDS = ("httpx", "httpx-pools", "gateway-client", "aiohttp")
OPTIONAL_KINDS = ("httpx-aiohttp",)
REFERENCE = "aiohttp"
_LISTENING = "gateway-sim listening on "
_PHONE = 79_000_000_000
_SMALL_POOL = 8

Post = Callable[[int], Awaitable[bool]]


def start_simulator_process(
    timeout: float = 15.0, **knobs: float | int | str
) -> tuple[subprocess.Popen[str], str]:
    """Start ``python -m notifier_tui.sim --port 0`` and learn its base URL.

    Args:
        timeout: Seconds to wait for the listening line.
        **knobs: Simulator options by their ``SimulatorConfig`` or CLI name,
            e.g. ``latency_ms=200`` (``--latency-ms 200``), ``seed=1``.

    Returns:
        The process (terminate it when done) and the base URL it printed.

    Raises:
        RuntimeError: it exited or printed nothing in time.
    """
    argv = [sys.executable, "-m", "notifier_tui.sim", "--port", "0", "--stats-every", "0"]
    for name, value in knobs.items():
        flag = "retry-after" if name == "retry_after_s" else name.replace("_", "-")
        argv += [f"--{flag}", str(value)]
    # The repo root first, so the simulator runs from this checkout.
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    assert proc.stdout is not None
    line = ""
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if selector.select(timeout):
            line = proc.stdout.readline()
    if not line.startswith(_LISTENING):
        proc.kill()
        proc.wait(5)
        raise RuntimeError(f"simulator did not start (exit code {proc.returncode}): {line!r}")
    return proc, line.removeprefix(_LISTENING).strip()


def stop_simulator_process(proc: subprocess.Popen[str]) -> None:
    """SIGTERM the simulator and wait; kill it if it lingers."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _payload(msg_id: int) -> tuple[str, bytes]:
    body = b'{"id":%d,"phone":%d,"text":"bench"}' % (msg_id, _PHONE + msg_id % 10**9)
    return f"/send/{msg_id}", body


_HEADERS = {"Content-Type": "application/json", "Authorization": "Bearer bench"}


@contextlib.asynccontextmanager
async def _client(kind: str, base_url: str, concurrency: int) -> AsyncIterator[Post]:
    """A ``post(msg_id) -> accepted`` function for ``kind``, closed afterwards."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    timeout = httpx.Timeout(30.0)
    if kind == "httpx":
        async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
            yield _httpx_post(itertools.repeat(client), base_url)
    elif kind == "httpx-pools":
        count = -(-concurrency // _SMALL_POOL)
        size = -(-concurrency // count)
        small = httpx.Limits(max_connections=size, max_keepalive_connections=size)
        clients = [httpx.AsyncClient(limits=small, timeout=timeout) for _ in range(count)]
        try:
            yield _httpx_post(itertools.cycle(clients), base_url)
        finally:
            for client in clients:
                await client.aclose()
    elif kind == "httpx-aiohttp":
        from httpx_aiohttp import AiohttpTransport  # no longer a dependency

        transport = AiohttpTransport(limits=limits)
        async with httpx.AsyncClient(transport=transport, timeout=timeout) as client:
            yield _httpx_post(itertools.repeat(client), base_url)
    elif kind == "gateway-client":
        async with GatewayClient(
            base_url, "bench", timeout=30.0, max_connections=concurrency
        ) as gateway:

            async def post(msg_id: int) -> bool:
                result = await gateway.send(msg_id, _PHONE + msg_id % 10**9, "bench")
                return result.outcome is OutcomeClass.ACCEPTED

            yield post
    elif kind == "aiohttp":
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=30)
        ) as session:

            async def post(msg_id: int) -> bool:
                path, body = _payload(msg_id)
                async with session.post(base_url + path, data=body, headers=_HEADERS) as r:
                    await r.read()
                    return r.status == 200

            yield post
    else:
        known = ", ".join(KINDS + OPTIONAL_KINDS)
        raise ValueError(f"unknown kind {kind!r}; choose from {known}")


def _httpx_post(clients: Iterator[httpx.AsyncClient], base_url: str) -> Post:
    async def post(msg_id: int) -> bool:
        path, body = _payload(msg_id)
        response = await next(clients).post(base_url + path, content=body, headers=_HEADERS)
        return response.status_code == 200

    return post


async def _workers(post: Post, ids: range, concurrency: int, deadline: float | None) -> int:
    """Post every id with ``concurrency`` workers pulling from one queue; the count done."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for msg_id in ids:
        queue.put_nowait(msg_id)
    done = 0
    failed = 0

    async def worker() -> None:
        nonlocal done, failed
        while deadline is None or time.perf_counter() < deadline:
            try:
                msg_id = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            if await post(msg_id):
                done += 1
            else:
                failed += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    if failed:
        raise RuntimeError(f"{failed} requests were not accepted: the figures would be wrong")
    return done


class Measurement(NamedTuple):
    """One loop's run: requests done, wall seconds, and this process's CPU seconds."""

    done: int
    seconds: float
    cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.done / self.seconds

    @property
    def cpu_ms_per_request(self) -> float:
        """Client CPU per request: steadier than req/s on a shared machine."""
        return 1000 * self.cpu_seconds / max(self.done, 1)


async def measure(
    kind: str,
    base_url: str,
    n: int,
    concurrency: int,
    *,
    max_seconds: float | None = None,
) -> Measurement:
    """``kind`` posting up to ``n`` requests, timed after a warm-up.

    The warm-up (``2 x concurrency`` requests, not timed) opens the connections.
    """
    async with _client(kind, base_url, concurrency) as post:
        await _workers(post, range(10**9, 10**9 + 2 * concurrency), concurrency, None)
        started = time.perf_counter()
        cpu = time.process_time()
        deadline = None if max_seconds is None else started + max_seconds
        done = await _workers(post, range(1, n + 1), concurrency, deadline)
        return Measurement(done, time.perf_counter() - started, time.process_time() - cpu)


async def bare_rate(
    kind: str, base_url: str, n: int, concurrency: int, *, max_seconds: float | None = None
) -> float:
    """Requests/s of a bare ``kind`` loop (one of :data:`KINDS`) posting ``n`` requests."""
    return (await measure(kind, base_url, n, concurrency, max_seconds=max_seconds)).rate


async def main(args: argparse.Namespace) -> None:
    proc, base_url = start_simulator_process(latency_ms=args.latency_ms)
    runs: dict[str, list[Measurement]] = {kind: [] for kind in args.kinds}
    try:
        # Interleaved repeats, so a burst of load elsewhere hits every client alike.
        for round_no in range(1, args.repeat + 1):
            for kind in args.kinds:
                m = await measure(
                    kind, base_url, args.n, args.concurrency, max_seconds=args.max_seconds
                )
                runs[kind].append(m)
                print(
                    f"  round {round_no} {kind}: {m.done} requests in {m.seconds:.2f} s",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        stop_simulator_process(proc)
    median = {kind: sorted(ms, key=lambda m: m.rate)[len(ms) // 2] for kind, ms in runs.items()}
    print(
        f"\nN={args.n} concurrency={args.concurrency} latency={args.latency_ms:g} ms,"
        f" median of {args.repeat}, simulator in its own process\n"
    )
    ref = median.get(REFERENCE)
    print(f"{'client':16} {'req/s':>8} {'vs aiohttp':>11} {'CPU ms/req':>11}  note")
    for kind, m in median.items():
        ratio = f"{m.rate / ref.rate:10.2f}x" if ref else f"{'-':>11}"
        note = f"stopped at {m.done} of {args.n} after {m.seconds:.0f} s" if m.done < args.n else ""
        print(f"{kind:16} {m.rate:8.0f} {ratio} {m.cpu_ms_per_request:11.3f}  {note}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="requests per client (20000)")
    parser.add_argument("--concurrency", type=int, default=64, help="worker tasks (64)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="simulator latency (0)")
    parser.add_argument(
        "--max-seconds", type=float, default=20.0, help="time budget per client run (20)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="interleaved rounds (1)")
    parser.add_argument(
        "--kinds",
        nargs="+",
        choices=KINDS + OPTIONAL_KINDS,
        default=list(KINDS),
        help="clients to measure",
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(parser.parse_args()))
