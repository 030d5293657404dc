"""Gateway simulator fixtures and helpers to share between test modules.

Import the ones a module needs (pytest finds fixtures by name in the module)::

    from tests.simfixtures import simulator, threaded_simulator  # noqa: F401

- ``simulator``: a started :class:`GatewaySimulator` with the default config on
  a free 127.0.0.1 port, on the test's own event loop; stopped afterwards.
- ``threaded_simulator``: the same on its own loop in a daemon thread (a
  :class:`ThreadedSimulator`), for synchronous tests or to keep the simulator's
  work off the loop under test.
- ``make_simulator``: ``await make_simulator(config, **options)`` starts one with
  a config of the test's own (``options`` as :class:`GatewaySimulator` takes them,
  e.g. ``clock=FakeClock()``); every one is stopped afterwards.

All are function-scoped, so every test starts with zeroed counters and the
default config, which it may change freely (``simulator.config.fail_rate = 1``).

Helpers for talking raw HTTP to it: :func:`send_request`, :func:`read_response`,
:func:`exchange`, :func:`refused`, and :class:`FakeClock` for its time windows.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from notifier_tui.sim import GatewaySimulator, SimulatorConfig, ThreadedSimulator, start_in_thread

__all__ = [
    "PHONE",
    "FakeClock",
    "SimulatorFactory",
    "exchange",
    "make_simulator",
    "read_response",
    "refused",
    "send_request",
    "simulator",
    "threaded_simulator",
]

PHONE = 79001234567

SimulatorFactory = Callable[..., Awaitable[GatewaySimulator]]


@pytest.fixture
async def simulator() -> AsyncIterator[GatewaySimulator]:
    """A started simulator with the default config on a free loopback port."""
    sim = GatewaySimulator()
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


@pytest.fixture
def threaded_simulator() -> Iterator[ThreadedSimulator]:
    """A started simulator on its own event loop thread."""
    threaded = start_in_thread()
    try:
        yield threaded
    finally:
        threaded.stop()


@pytest.fixture
async def make_simulator() -> AsyncIterator[SimulatorFactory]:
    """``await make_simulator(config, **options)``: a started simulator, stopped afterwards."""
    started: list[GatewaySimulator] = []

    async def make(config: SimulatorConfig | None = None, **options: Any) -> GatewaySimulator:
        sim = GatewaySimulator(config, **options)
        await sim.start()
        started.append(sim)
        return sim

    try:
        yield make
    finally:
        for sim in started:
            await sim.stop()


class FakeClock:
    """A clock that moves only when told: ``clock()`` reads it, ``advance(s)`` moves it."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def send_request(
    msg_id: int,
    *,
    body: dict[str, object] | bytes | None = None,
    path: str | None = None,
    token: str | None = None,
    close: bool = False,
) -> bytes:
    """The raw bytes of one ``/send`` request."""
    if body is None:
        body = {"id": msg_id, "phone": PHONE, "text": "hi"}
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    head = [
        f"POST {path or f'/v1/send/{msg_id}'} HTTP/1.1",
        "Host: test",
        "Content-Type: application/json",
        f"Content-Length: {len(data)}",
    ]
    if token is not None:
        head.append(f"Authorization: Bearer {token}")
    if close:
        head.append("Connection: close")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + data


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """One answer: (status, headers with lower-case names, body)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.lower()] = value.strip()
    body = await reader.readexactly(int(headers["content-length"]))
    return status, headers, body


async def exchange(sim: GatewaySimulator, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``raw`` on a fresh connection and read one answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    try:
        writer.write(raw)
        return await asyncio.wait_for(read_response(reader), 5)
    finally:
        writer.close()


def refused(port: int) -> bool:
    """Whether a TCP connect to ``127.0.0.1:port`` fails (nothing listens)."""
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", port)) != 0
