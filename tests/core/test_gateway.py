"""The gateway client against real HTTP servers on 127.0.0.1 (no mocked transport).

Most answers come from the gateway simulator; the few it never gives (408,
403, a JSON array, ``code`` as a string...) come from ``CannedServer``, a
tiny server that answers every request with fixed bytes.
"""

from __future__ import annotations

import asyncio
import errno
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import aiohttp
import pytest
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from notifier_tui.core.reasons import ErrorClass
from notifier_tui.core.sending.classify import classify_answer, classify_failure
from notifier_tui.core.sending.gateway import (
    DEFAULT_BASE_URL,
    GatewayClient,
    GatewayResult,
    OutcomeClass,
)
from notifier_tui.sim import GatewaySimulator
from tests.simfixtures import simulator  # noqa: F401  (the fixture)

pytestmark = pytest.mark.timeout(15)

PHONE = 79001234567
A = OutcomeClass.ACCEPTED
T = OutcomeClass.TRANSIENT
C = OutcomeClass.CREDENTIALS
P = OutcomeClass.PERMANENT


class CannedServer:
    """Answers every request with ``answer`` (raw HTTP bytes), or runs ``handler``."""

    def __init__(
        self,
        answer: bytes = b"",
        handler: Callable[[asyncio.StreamWriter], Awaitable[None]] | None = None,
    ) -> None:
        self.answer = answer
        self.handler = handler
        self.server: asyncio.Server | None = None
        self.requests: list[bytes] = []

    async def __aenter__(self) -> CannedServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/v1"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                self.requests.append(head + await reader.readexactly(length))
                if self.handler is not None:
                    await self.handler(writer)
                    return
                writer.write(self.answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def http(status: int, body: bytes, *headers: str) -> bytes:
    head = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


@pytest.fixture
async def client(simulator: GatewaySimulator) -> AsyncIterator[GatewayClient]:  # noqa: F811
    gateway = GatewayClient(simulator.base_url, "tok", timeout=2.0, max_connections=8)
    yield gateway
    await gateway.aclose()


async def send_to(answer: bytes, *, timeout: float = 2.0) -> tuple[GatewayResult, list[bytes]]:
    async with CannedServer(answer) as server:
        async with GatewayClient(server.base_url, "tok", timeout=timeout) as gateway:
            result = await gateway.send(7, PHONE, "hi")
        return result, server.requests


# -- through the simulator -----------------------------------------------------


async def test_accepted_request_carries_body_and_token(
    simulator: GatewaySimulator,  # noqa: F811
    client: GatewayClient,
) -> None:
    simulator.config.token = "tok"
    result = await client.send(42, "79001234567", "Привет, мир")
    assert result.outcome is A
    assert (result.status_code, result.reason, result.retry_after) == (200, "OK", None)
    assert result.error_kind == "ok"
    assert 0 < result.latency < 2
    # The phone arrives as a JSON integer although it was given as a string.
    assert simulator.bodies[-1] == {"id": 42, "phone": PHONE, "text": "Привет, мир"}
    assert simulator.last_headers is not None
    assert simulator.last_headers["authorization"] == "Bearer tok"
    assert simulator.last_headers["content-type"] == "application/json"
    assert simulator.accepted == {42: 1}


async def test_http_500_is_transient(
    simulator: GatewaySimulator,  # noqa: F811
    client: GatewayClient,
) -> None:
    simulator.config.fail_rate = 1.0
    result = await client.send(1, PHONE, "x")
    assert (result.outcome, result.status_code, result.reason) == (T, 500, "HTTP 500")
    assert result.error_kind == "http_5xx"
    assert simulator.accepted_total == 0


async def test_429_is_transient_with_retry_after(
    simulator: GatewaySimulator,  # noqa: F811
    client: GatewayClient,
) -> None:
    simulator.config.throttle_rate = 1.0
    simulator.config.retry_after_s = 0.25
    result = await client.send(1, PHONE, "x")
    assert (result.outcome, result.status_code, result.retry_after) == (T, 429, 0.25)
    assert result.error_kind == "http_429"


async def test_garbage_200_is_a_transient_bad_answer(
    simulator: GatewaySimulator,  # noqa: F811
    client: GatewayClient,
) -> None:
    simulator.config.garbage_rate = 1.0
    result = await client.send(1, PHONE, "x")
    assert (result.outcome, result.status_code, result.reason) == (T, 200, "bad answer: not JSON")
    assert result.error_kind == "bad_answer"


async def test_nonzero_code_is_a_transient_bad_answer(
    simulator: GatewaySimulator,  # noqa: F811
    client: GatewayClient,
) -> None:
    simulator.config.nonzero_code_rate = 1.0
    result = await client.send(1, PHONE, "x")
    assert (result.outcome, result.reason) == (T, "bad answer: code 1")
    assert simulator.accepted_total == 0


async def test_400_is_permanent_with_the_body(
    simulator: GatewaySimulator,  # noqa: F811
    client: GatewayClient,
) -> None:
    simulator.config.permanent_rate = 1.0
    result = await client.send(1, PHONE, "x")
    assert (result.outcome, result.status_code) == (P, 400)
    assert result.reason == 'HTTP 400: {"detail": "bad phone"}'
    assert result.error_kind == "http_4xx"


async def test_bad_phone_is_422_permanent(
    simulator: GatewaySimulator,  # noqa: F811
    client: GatewayClient,
) -> None:
    result = await client.send(1, 12345, "x")
    assert (result.outcome, result.status_code) == (P, 422)
    assert result.reason.startswith("HTTP 422: ") and "11 digits" in result.reason


async def test_unknown_path_is_404_permanent(simulator: GatewaySimulator) -> None:  # noqa: F811
    async with GatewayClient(simulator.base_url + "/nope", "tok") as gateway:
        result = await gateway.send(1, PHONE, "x")
    assert (result.outcome, result.status_code) == (P, 404)


async def test_wrong_token_is_credentials(
    simulator: GatewaySimulator,  # noqa: F811
    client: GatewayClient,
) -> None:
    simulator.config.token = "right"
    result = await client.send(1, PHONE, "x")
    assert (result.outcome, result.status_code, result.reason) == (C, 401, "HTTP 401")
    assert result.error_kind == "credentials"
    client.set_token("right")
    assert (await client.send(1, PHONE, "x")).outcome is A


async def test_missing_token_sends_no_authorization(
    simulator: GatewaySimulator,  # noqa: F811
) -> None:
    simulator.config.token = "right"
    async with GatewayClient(simulator.base_url, "") as gateway:
        assert not gateway.token_configured
        result = await gateway.send(1, PHONE, "x")
    assert result.outcome is C
    assert simulator.last_headers is not None
    assert "authorization" not in simulator.last_headers


async def test_slow_answer_times_out_in_time(simulator: GatewaySimulator) -> None:  # noqa: F811
    simulator.config.slow_rate = 1.0
    async with GatewayClient(simulator.base_url, "tok", timeout=0.3) as gateway:
        started = time.monotonic()
        result = await asyncio.wait_for(gateway.send(1, PHONE, "x"), 5)
        took = time.monotonic() - started
    assert (result.outcome, result.status_code, result.reason) == (T, None, "timeout")
    assert result.error_kind == "timeout"
    assert 0.25 < took < 1.0
    assert simulator.accepted_total == 0  # the answer was never written


async def test_trickling_answer_is_cut_by_the_overall_deadline() -> None:
    # aiohttp's read timeout restarts with every byte; the client's own deadline
    # (2 x timeout) must still end the request.
    async def trickle(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        for _ in range(100):
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(0.05)

    async with (
        CannedServer(handler=trickle) as server,
        GatewayClient(server.base_url, "tok", timeout=0.2) as gateway,
    ):
        started = time.monotonic()
        result = await asyncio.wait_for(gateway.send(1, PHONE, "x"), 5)
        took = time.monotonic() - started
    assert (result.outcome, result.reason, result.error_kind) == (T, "timeout", "timeout")
    assert took < 1.0


async def test_refused_during_outage_then_recovers(
    simulator: GatewaySimulator,  # noqa: F811
    client: GatewayClient,
) -> None:
    assert (await client.send(1, PHONE, "x")).outcome is A  # a pooled connection exists
    await simulator.outage(None)
    for msg_id in (2, 3):  # the dropped pooled connection, then a fresh connect
        result = await asyncio.wait_for(client.send(msg_id, PHONE, "x"), 5)
        assert (result.outcome, result.status_code) == (T, None)
        assert result.error_kind == "connect", result.reason
    assert result.reason == "connect error: connection refused"
    await simulator.end_outage()
    assert (await client.send(4, PHONE, "x")).outcome is A
    assert simulator.accepted == {1: 1, 4: 1}


async def test_connection_dropped_mid_request_is_transient(
    simulator: GatewaySimulator,  # noqa: F811
    client: GatewayClient,
) -> None:
    simulator.config.latency_ms = 500
    task = asyncio.create_task(client.send(1, PHONE, "x"))
    await asyncio.sleep(0.1)
    await simulator.outage(0.1)
    result = await asyncio.wait_for(task, 5)
    assert (result.outcome, result.status_code, result.error_kind) == (T, None, "connect")
    assert simulator.accepted_total == 0  # the gateway never answered it


async def test_unresolvable_host_is_a_connect_error() -> None:
    async with GatewayClient("http://no-such-host.invalid/v1", "tok", timeout=2) as gateway:
        result = await asyncio.wait_for(gateway.send(1, PHONE, "x"), 10)
    # A sandbox whose resolver never answers makes it a timeout instead.
    assert result.outcome is T
    assert result.reason.startswith("connect error") or result.reason == "timeout"


async def test_bad_base_url_is_transient_not_raised() -> None:
    async with GatewayClient("ftp://example.invalid/v1", "tok") as gateway:
        result = await gateway.send(1, PHONE, "x")
    assert (result.outcome, result.reason, result.error_kind) == (T, "bad gateway URL", "other")


async def test_phone_that_is_no_number_fails_without_a_request(
    simulator: GatewaySimulator,  # noqa: F811
    client: GatewayClient,
) -> None:
    result = await client.send(1, "7900-CALL-ME", "x")
    assert (result.outcome, result.status_code) == (P, None)
    assert simulator.requests == 0


async def test_cancellation_propagates(
    simulator: GatewaySimulator,  # noqa: F811
    client: GatewayClient,
) -> None:
    simulator.config.latency_ms = 2000
    task = asyncio.create_task(client.send(1, PHONE, "x"))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)


async def test_pool_is_bounded_and_kept_alive(simulator: GatewaySimulator) -> None:  # noqa: F811
    simulator.config.latency_ms = 100
    async with GatewayClient(simulator.base_url, "tok", max_connections=2) as gateway:
        started = time.monotonic()
        results = await asyncio.gather(*(gateway.send(i, PHONE, "x") for i in range(1, 7)))
        took = time.monotonic() - started
        assert all(r.outcome is A for r in results)
        # Six 100 ms answers over two connections take three rounds.
        assert took >= 0.29
        simulator.config.latency_ms = 0
        for i in range(7, 57):
            assert (await gateway.send(i, PHONE, "x")).outcome is A
    assert simulator.connections_opened == 2


# -- answers only a canned server gives ------------------------------------------


@pytest.mark.parametrize(
    ("answer", "outcome", "reason", "kind"),
    [
        (http(408, b""), T, "HTTP 408", "http_4xx"),
        (http(425, b""), T, "HTTP 425", "http_4xx"),
        (http(503, b"busy"), T, "HTTP 503", "http_5xx"),
        (http(403, b"forbidden"), C, "HTTP 403", "credentials"),
        (http(404, b"no\r\nsuch  route"), P, "HTTP 404: no such route", "http_4xx"),
        (http(200, b'{"code": "0"}'), T, "bad answer: code is not an integer", "bad_answer"),
        (http(200, b'{"code": false}'), T, "bad answer: code is not an integer", "bad_answer"),
        (http(200, b'{"message": "OK"}'), T, "bad answer: no code", "bad_answer"),
        (http(200, b'[{"code": 0}]'), T, "bad answer: not a JSON object", "bad_answer"),
        (http(200, b'{"code": 0, "message": "OK"}'), A, "OK", "ok"),
        (http(204, b""), T, "HTTP 204", "other"),
        (
            http(302, b"", "Location: /elsewhere"),
            P,
            "HTTP 302: redirect to /elsewhere not followed",
            "other",
        ),
        (b"SMTP ready\r\n\r\n", T, "bad answer: not HTTP", "bad_answer"),
    ],
)
async def test_canned_answers_are_classified(
    answer: bytes, outcome: OutcomeClass, reason: str, kind: str
) -> None:
    result, requests = await send_to(answer)
    assert (result.outcome, result.reason, result.error_kind) == (outcome, reason, kind)
    assert len(requests) == 1  # a redirect is not followed


async def test_retry_after_http_date_from_a_real_answer() -> None:
    when = datetime.now(UTC) + timedelta(seconds=30)
    result, _ = await send_to(http(503, b"", f"Retry-After: {format_datetime(when, usegmt=True)}"))
    assert result.retry_after is not None and 25 < result.retry_after <= 30


async def test_connection_closed_without_answer() -> None:
    async def hang_up(writer: asyncio.StreamWriter) -> None:
        writer.close()

    async with (
        CannedServer(handler=hang_up) as server,
        GatewayClient(server.base_url, "tok") as gateway,
    ):
        result = await gateway.send(1, PHONE, "x")
    assert (result.outcome, result.reason, result.error_kind) == (
        T,
        "connection closed by the gateway",
        "connect",
    )


# -- GatewayResult and the client's own surface ---------------------------------


_REQUEST = aiohttp.RequestInfo(URL("http://gw/v1/send/1"), "POST", CIMultiDictProxy(CIMultiDict()))

Source = tuple[int, bytes] | BaseException | str
"""What makes a result: an answer (status, body), a failed request's exception, or a phone."""


async def _judged(source: Source) -> tuple[OutcomeClass, str, ErrorClass | None]:
    """(outcome, reason, error class) as the client's own classifiers make them."""
    if isinstance(source, tuple):
        verdict = classify_answer(source[0], source[1], {})
        return verdict.outcome, verdict.reason, verdict.error_class
    if isinstance(source, BaseException):
        return (T, *classify_failure(source))
    async with GatewayClient(DEFAULT_BASE_URL, "t") as gateway:  # sends nothing for a bad phone
        result = await gateway.send(1, source, "x")
    return result.outcome, result.reason, result.error_class


@pytest.mark.parametrize(
    ("outcome", "status", "reason", "kind", "source"),
    [
        (A, 200, "OK", "ok", (200, b'{"code": 0}')),
        (T, None, "timeout", "timeout", TimeoutError()),
        (
            T,
            None,
            "connect error: connection refused",
            "connect",
            ConnectionRefusedError(errno.ECONNREFUSED, "refused"),
        ),
        (T, None, "connection reset", "connect", ConnectionResetError(errno.ECONNRESET, "reset")),
        (
            T,
            None,
            "connection closed by the gateway",
            "connect",
            aiohttp.ServerDisconnectedError(),
        ),
        (
            T,
            None,
            "bad answer: not HTTP",
            "bad_answer",
            aiohttp.ClientResponseError(_REQUEST, (), status=400, message="bad status line"),
        ),
        (T, None, "other: KeyError", "other", KeyError("x")),
        (T, 500, "HTTP 500", "http_5xx", (500, b"")),
        (T, 503, "HTTP 503", "http_5xx", (503, b"")),
        (T, 429, "HTTP 429", "http_429", (429, b"")),
        (T, 408, "HTTP 408", "http_4xx", (408, b"")),
        (T, 200, "bad answer: code 1", "bad_answer", (200, b'{"code": 1}')),
        # A redirect is permanent now: never followed, the token must not travel.
        (P, 302, "HTTP 302: redirect not followed", "other", (302, b"")),
        (C, 401, "HTTP 401", "credentials", (401, b"")),
        (C, 403, "HTTP 403", "credentials", (403, b"")),
        (P, 400, "HTTP 400: x", "http_4xx", (400, b"x")),
        (P, None, "bad phone: not a number", "other", "not-a-phone"),
    ],
)
async def test_error_kind(
    outcome: OutcomeClass, status: int | None, reason: str, kind: str, source: Source
) -> None:
    # The label comes from the error class the classifier gave, not from the reason text.
    judged_outcome, judged_reason, error_class = await _judged(source)
    assert (judged_outcome, judged_reason) == (outcome, reason)
    assert GatewayResult(outcome, status, reason, None, 0.1, error_class).error_kind == kind


def test_result_class_agrees_with_outcome() -> None:
    with pytest.raises(ValueError):
        GatewayResult(A, 200, "OK", None, 0.1, ErrorClass.OTHER)
    with pytest.raises(ValueError):
        GatewayResult(T, 500, "HTTP 500", None, 0.1, None)


async def test_repr_never_shows_the_token() -> None:
    gateway = GatewayClient("http://user:pw@127.0.0.1:9/v1", "s3cr3t-token")
    try:
        text = repr(gateway)
        assert "s3cr3t" not in text and "pw" not in text
        assert "token=<set>" in text
        assert gateway.token_configured
        gateway.set_token("  ")
        assert not gateway.token_configured
        assert "token=<unset>" in repr(gateway)
    finally:
        await gateway.aclose()


async def test_token_never_in_results_or_logs(
    simulator: GatewaySimulator,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    simulator.config.token = "other"
    caplog.set_level("DEBUG")
    async with GatewayClient(simulator.base_url, "s3cr3t-token", timeout=0.5) as gateway:
        results = [await gateway.send(1, PHONE, "x")]
        await simulator.outage(None)
        results.append(await gateway.send(2, PHONE, "x"))
    assert all("s3cr3t" not in repr(r) for r in results)
    assert "s3cr3t" not in caplog.text


def test_constructor_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        GatewayClient(DEFAULT_BASE_URL, "t", timeout=0)
    with pytest.raises(ValueError):
        GatewayClient(DEFAULT_BASE_URL, "t", max_connections=0)


def test_module_imports_neither_textual_nor_the_cli() -> None:
    probe = (
        "import sys, notifier_tui.core.sending.gateway; "
        "print(any(m == 'textual' or m.startswith(('textual.', 'notifier_tui.cli.entry')) "
        "for m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=30, check=True
    )
    assert out.stdout.strip() == "False"


async def test_unparsable_base_url_is_transient_not_raised() -> None:
    async with GatewayClient("http://exa mple.invalid:99999/v1", "tok") as gateway:
        result = await gateway.send(1, PHONE, "x")
    assert (result.outcome, result.reason) == (T, "bad gateway URL")


def test_client_is_made_outside_a_loop_and_opens_its_session_on_first_send() -> None:
    gateway = GatewayClient(DEFAULT_BASE_URL, "t", max_connections=3)
    assert "max_connections=3" in repr(gateway)
    asyncio.run(gateway.aclose())  # closing a client that never sent is fine


async def test_a_closed_client_sends_nothing(
    simulator: GatewaySimulator,  # noqa: F811
) -> None:
    gateway = GatewayClient(simulator.base_url, "tok")
    assert (await gateway.send(1, PHONE, "x")).outcome is A
    await gateway.aclose()
    result = await gateway.send(2, PHONE, "x")
    assert (result.outcome, result.reason, result.error_kind) == (
        T,
        "gateway client closed",
        "other",
    )
    assert simulator.requests == 1


async def test_userinfo_in_the_url_is_masked_and_not_sent(
    simulator: GatewaySimulator,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    simulator.config.token = "tok"
    caplog.set_level("DEBUG")
    url = simulator.base_url.replace("http://", "http://admin:hunter2@")
    async with GatewayClient(url, "tok") as gateway:
        assert "hunter2" not in repr(gateway) and "***@" in repr(gateway)
        result = await gateway.send(3, PHONE, "x")
    # The bearer token is the one credential sent; the password goes nowhere.
    assert result.outcome is A
    assert simulator.last_headers is not None
    assert simulator.last_headers["authorization"] == "Bearer tok"
    assert "hunter2" not in caplog.text
    assert "is not sent" in caplog.text


async def test_token_whitespace_is_dropped_and_an_unusable_token_is_credentials(
    simulator: GatewaySimulator,  # noqa: F811
) -> None:
    simulator.config.token = "tok"
    async with GatewayClient(simulator.base_url, "tok\n") as gateway:  # as read from a file
        assert (await gateway.send(1, PHONE, "x")).outcome is A
        for bad in ("to\r\nX-Injected: 1", "to k", "tök"):
            gateway.set_token(bad)
            result = await gateway.send(2, PHONE, "x")
            assert (result.outcome, result.status_code, result.error_kind) == (
                C,
                None,
                "credentials",
            )
            assert result.reason == "token is not a valid header value"
        gateway.set_token("tok")
        assert (await gateway.send(3, PHONE, "x")).outcome is A
    assert simulator.requests == 2  # nothing went out with the bad tokens


async def test_closing_while_the_first_send_opens_leaks_no_session(
    simulator: GatewaySimulator,  # noqa: F811
) -> None:
    gateway = GatewayClient(simulator.base_url, "tok")
    task = asyncio.create_task(gateway.send(1, PHONE, "x"))
    await asyncio.sleep(0)  # the send now waits for the proxy lookup on a thread
    await gateway.aclose()
    result = await asyncio.wait_for(task, 5)
    assert (result.outcome, result.reason) == (T, "gateway client closed")
    assert simulator.requests == 0
