"""What a hostile or broken gateway answers, through the real client and real sockets.

A 50 MB body, ``Retry-After: 1e20``, redirects to another host, a proxy from the
environment: each comes from a raw asyncio server on 127.0.0.1 written for the
test (the simulator never answers these), and each must end in a bounded,
classified result (docs/gateway.md).
"""

from __future__ import annotations

import asyncio
import logging
import time
import tracemalloc
from collections.abc import Awaitable, Callable

import pytest

from notifier_tui.core.reasons import ErrorClass
from notifier_tui.core.sending.gateway import GatewayClient, OutcomeClass

pytestmark = pytest.mark.timeout(30)

PHONE = 79001234567
OK = b'{"code":0,"message":"OK"}'
HUGE = 50 * 1024 * 1024
CHUNK = 64 * 1024

Handler = Callable[[int, bytes, asyncio.StreamWriter], Awaitable[None]]
"""Answers one request: (connection number from 1, the request head, the writer)."""


def http(status: int, body: bytes, *headers: str) -> bytes:
    head = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class RawServer:
    """A loopback HTTP/1.1 server whose answers are whatever ``handler`` writes."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.server: asyncio.Server | None = None
        self.connections = 0
        self.heads: list[bytes] = []

    async def __aenter__(self) -> RawServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    @property
    def root(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        try:
            for _ in range(100):  # requests per connection, bounded
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                self.heads.append(head)
                await self.handler(number, head, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


class HugeAnswer:
    """Answers the first connection 200 with a 50 MB ``{"code":0,...}`` body, then OK.

    The body is written 64 KB at a time from one buffer, so the server itself
    holds no more than that; ``sent`` counts what it managed to write before
    the client hung up (``cut`` is then True).
    """

    def __init__(self, framing: str, status: int = 200) -> None:
        self.framing = framing
        self.status = status
        self.sent = 0
        self.cut = False

    async def __call__(self, number: int, head: bytes, writer: asyncio.StreamWriter) -> None:
        if number > 1:
            writer.write(http(200, OK))
            await writer.drain()
            return
        start = b'{"code":0,"message":"'
        filler = b"x" * CHUNK
        count = (HUGE - len(start) - 2) // CHUNK
        headers = {
            "length": f"Content-Length: {len(start) + count * CHUNK + 2}",
            "chunked": "Transfer-Encoding: chunked",
            "close": "Connection: close",
        }[self.framing]
        writer.write(f"HTTP/1.1 {self.status} X\r\n{headers}\r\n\r\n".encode())
        frame = (lambda b: b"%x\r\n%s\r\n" % (len(b), b)) if self.framing == "chunked" else bytes
        try:
            writer.write(frame(start))
            for _ in range(count):
                writer.write(frame(filler))
                await writer.drain()
                self.sent += CHUNK
            writer.write(frame(b'"}'))
            if self.framing == "chunked":
                writer.write(b"0\r\n\r\n")
            await writer.drain()
        except ConnectionError:
            self.cut = True
            raise
        if self.framing == "close":
            writer.close()


# -- huge answers (issue 9.7) ---------------------------------------------------------


@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
async def test_a_50_mb_200_is_a_bad_answer_read_only_a_few_kb(framing: str) -> None:
    answer = HugeAnswer(framing)
    async with (
        RawServer(answer) as server,
        GatewayClient(server.root + "/v1", "tok", timeout=5, max_answer_bytes=4096) as gateway,
    ):
        tracemalloc.start()
        try:
            started = time.monotonic()
            result = await asyncio.wait_for(gateway.send(7, PHONE, "hi"), 10)
            took = time.monotonic() - started
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        # An oversized 200 is never accepted, whatever its first bytes say.
        assert (result.outcome, result.status_code) == (OutcomeClass.TRANSIENT, 200)
        assert (result.reason, result.error_class) == (
            "bad answer: too large",
            ErrorClass.BAD_ANSWER,
        )
        assert result.error_kind == "bad_answer"
        assert took < 5
        assert peak < 4 * 1024 * 1024, f"peak {peak} bytes while a 50 MB answer came in"
        # The connection was closed, not drained: the server could not push the body.
        for _ in range(100):
            if answer.cut:
                break
            await asyncio.sleep(0.05)
        assert answer.cut
        assert answer.sent < HUGE // 2
        # The next message goes on a fresh connection and is accepted.
        again = await gateway.send(8, PHONE, "hi")
        assert again.outcome is OutcomeClass.ACCEPTED
        assert server.connections == 2


@pytest.mark.parametrize(
    ("status", "outcome", "reason", "error_class"),
    [
        (
            400,
            OutcomeClass.PERMANENT,
            'HTTP 400: {"code":0,"message":"' + "x" * 179,
            ErrorClass.HTTP_4XX,
        ),
        (503, OutcomeClass.TRANSIENT, "HTTP 503", ErrorClass.HTTP_5XX),
        (401, OutcomeClass.CREDENTIALS, "HTTP 401", ErrorClass.CREDENTIALS),
    ],
)
async def test_a_huge_error_answer_keeps_its_class(
    status: int, outcome: OutcomeClass, reason: str, error_class: ErrorClass
) -> None:
    answer = HugeAnswer("length", status)
    async with (
        RawServer(answer) as server,
        GatewayClient(server.root + "/v1", "tok", timeout=5) as gateway,
    ):
        result = await asyncio.wait_for(gateway.send(7, PHONE, "hi"), 10)
    assert (result.outcome, result.status_code) == (outcome, status)
    assert (result.reason, result.error_class) == (reason, error_class)


async def test_an_answer_at_the_cap_is_read_whole() -> None:
    body = b'{"code":0,"message":"' + b"x" * (256 - 23) + b'"}'
    assert len(body) == 256

    async def exact(number: int, head: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(http(200, body))
        await writer.drain()

    async with (
        RawServer(exact) as server,
        GatewayClient(server.root + "/v1", "tok", max_answer_bytes=256) as gateway,
    ):
        assert (await gateway.send(1, PHONE, "x")).outcome is OutcomeClass.ACCEPTED
        small = GatewayClient(server.root + "/v1", "tok", max_answer_bytes=255)
        try:
            assert (await small.send(2, PHONE, "x")).reason == "bad answer: too large"
        finally:
            await small.aclose()


# -- Retry-After (issue 9.8) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1e20", 7.0),
        ("Fri, 31 Dec 9999 23:59:59 GMT", 7.0),
        ("3", 3.0),
        ("-1", None),
        ("nan", None),
        ("inf", None),
        ("soon, maybe", None),
    ],
)
async def test_retry_after_from_a_real_answer_is_clamped_or_ignored(
    value: str, expected: float | None, caplog: pytest.LogCaptureFixture
) -> None:
    async def busy(number: int, head: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(http(503, b"", f"Retry-After: {value}"))
        await writer.drain()

    caplog.set_level(logging.WARNING, "notifier_tui.core.sending.gateway")
    async with (
        RawServer(busy) as server,
        GatewayClient(server.root + "/v1", "tok", max_retry_after=7) as gateway,
    ):
        results = [await gateway.send(i, PHONE, "x") for i in range(1, 4)]
    assert [(r.outcome, r.reason, r.retry_after) for r in results] == [
        (OutcomeClass.TRANSIENT, "HTTP 503", expected)
    ] * 3
    warned = [r for r in caplog.records if "Retry-After" in r.getMessage()]
    # A huge wait is logged once per client, not once per answer.
    assert len(warned) == (1 if expected == 7.0 else 0)


# -- redirects are never followed ---------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_is_permanent_and_the_token_stays_home(status: int) -> None:
    async def elsewhere(number: int, head: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(http(200, OK))
        await writer.drain()

    async with RawServer(elsewhere) as other:
        target = f"{other.root}/v1/send/7"

        async def redirect(number: int, head: bytes, writer: asyncio.StreamWriter) -> None:
            writer.write(http(status, b"", f"Location: {target}"))
            await writer.drain()

        async with (
            RawServer(redirect) as server,
            GatewayClient(server.root + "/v1", "s3cr3t") as gateway,
        ):
            result = await gateway.send(7, PHONE, "x")
    assert (result.outcome, result.status_code) == (OutcomeClass.PERMANENT, status)
    assert result.reason == f"HTTP {status}: redirect to {target} not followed"
    assert result.error_kind == "other"
    assert len(server.heads) == 1 and b"Bearer s3cr3t" in server.heads[0]
    assert other.heads == []  # nothing, least of all the token, went to the other host


# -- the proxy from the environment ------------------------------------------------------


async def test_the_proxy_from_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    async def proxy(number: int, head: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(http(200, OK))
        await writer.drain()

    async with RawServer(proxy) as server:
        for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", server.root)
        monkeypatch.setenv("http_proxy", server.root)
        async with GatewayClient("http://gateway.invalid/v1", "tok") as gateway:
            result = await gateway.send(5, PHONE, "x")
    assert result.outcome is OutcomeClass.ACCEPTED
    # A proxy gets the absolute URL in the request line.
    assert server.heads[0].startswith(b"POST http://gateway.invalid/v1/send/5 HTTP/1.1")


async def test_no_proxy_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    async def direct(number: int, head: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(http(200, OK))
        await writer.drain()

    async with RawServer(direct) as server:
        monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
        monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        monkeypatch.setenv("no_proxy", "127.0.0.1")
        async with GatewayClient(server.root + "/v1", "tok") as gateway:
            result = await gateway.send(5, PHONE, "x")
    assert result.outcome is OutcomeClass.ACCEPTED
    assert server.heads[0].startswith(b"POST /v1/send/5 HTTP/1.1")
