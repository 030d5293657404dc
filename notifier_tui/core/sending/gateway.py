"""The sending gateway's HTTP client (shared/GATEWAY.md).

:func:`classify_response` is GATEWAY.md's table as a pure function;
:class:`GatewayClient` posts one message and turns whatever happens (an
answer, a timeout, a refused connection, garbage) into a :class:`GatewayResult`
without ever raising, so the sender only has to act on the outcome class.

The client keeps the httpx API but runs on aiohttp's connection pool through
``httpx-aiohttp``: one httpx pool with more than ~50 connections spends its
time rescanning itself (PERFORMANCE.md), aiohttp's does not.

This module is part of the core: it must not import Textual or the command line.
"""

from __future__ import annotations

import asyncio
import enum
import errno
import json
import logging
import math
import os
import re
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from notifier_tui.core.defaults import DEFAULT_BASE_URL

__all__ = [
    "DEFAULT_BASE_URL",
    "GatewayClient",
    "GatewayResult",
    "OutcomeClass",
    "classify_response",
]

log = logging.getLogger(__name__)

_SNIPPET = 200
_CONTROL = re.compile(r"\s+")
_TRANSIENT_4XX = frozenset({408, 425, 429})


class OutcomeClass(enum.StrEnum):
    """What the sender does with a message after one attempt (GATEWAY.md's table)."""

    ACCEPTED = "accepted"
    """The gateway took it: HTTP 200 with a JSON object whose integer ``code`` is 0."""
    TRANSIENT = "transient"
    """Retry with backoff: network trouble, 5xx/408/425/429, or a bad 200 answer."""
    CREDENTIALS = "credentials"
    """401/403: stop all dispatch until the token changes or the user resumes."""
    PERMANENT = "permanent"
    """Any other 4xx: this message fails for good."""


@dataclass(frozen=True, slots=True)
class GatewayResult:
    """The outcome of one request to the gateway.

    Attributes:
        outcome: What the sender should do next.
        status_code: The HTTP status, ``None`` when no answer came back.
        reason: Short human text for ``last_error``: ``"OK"``, ``"HTTP 500"``,
            ``"timeout"``, ``"connect error: connection refused"``,
            ``"bad answer: not JSON"``, ``"bad answer: code 1"``, ``"HTTP 400: <body>"``.
        retry_after: Seconds the gateway asked to wait (``Retry-After``), transient only.
        latency: Seconds from the start of the request to its outcome.
    """

    outcome: OutcomeClass
    status_code: int | None
    reason: str
    retry_after: float | None
    latency: float

    @property
    def error_kind(self) -> str:
        """A short stable label for metrics.

        One of ``ok``, ``timeout``, ``connect``, ``http_5xx``, ``http_429``,
        ``bad_answer``, ``credentials``, ``http_4xx``, ``other``.
        """
        if self.outcome is OutcomeClass.ACCEPTED:
            return "ok"
        if self.outcome is OutcomeClass.CREDENTIALS:
            return "credentials"
        code = self.status_code
        if code is None:
            if self.reason.startswith("timeout"):
                return "timeout"
            # "connect error: ..." and "connection closed/reset ..." alike.
            if self.reason.startswith("connect"):
                return "connect"
            return "bad_answer" if self.reason.startswith("bad answer") else "other"
        if code == 200:
            return "bad_answer"
        if code == 429:
            return "http_429"
        if 500 <= code <= 599:
            return "http_5xx"
        if 400 <= code <= 499:
            return "http_4xx"
        return "other"


def _one_line(body: bytes) -> str:
    """The start of a body as one clean line (it ends up in ``last_error`` and logs)."""
    text = body[: _SNIPPET * 4].decode("utf-8", "replace")
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return _CONTROL.sub(" ", text).strip()[:_SNIPPET]


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    # A plain dict is case-sensitive; httpx.Headers already answered above.
    wanted = name.lower()
    for key, item in headers.items():
        if key.lower() == wanted:
            return item
    return None


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP-date.

    Fractional seconds are accepted (the simulator sends them). A date in the
    past gives 0. Anything unparsable, negative or infinite gives ``None``.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive parse means "-0000"
        when = when.replace(tzinfo=UTC)
    now = now if now is not None else datetime.now(UTC)
    return max((when - now).total_seconds(), 0.0)


def classify_response(
    status_code: int, body: bytes, headers: Mapping[str, str]
) -> tuple[OutcomeClass, str, float | None]:
    """GATEWAY.md's table: (outcome, reason, retry_after) of one HTTP answer. Never raises.

    - 200 with a JSON object whose ``code`` is an integer (``bool`` is not) equal
      to 0: accepted; any other 200: transient "bad answer";
    - 5xx, 408, 425, 429: transient, with ``Retry-After`` in seconds if given;
    - 401, 403: credentials;
    - any other 4xx: permanent, the reason quoting the start of the body;
    - anything else (1xx, other 2xx, 3xx, nonsense): transient.
    """
    if status_code == 200:
        return _classify_200(body)
    if status_code in (401, 403):
        return OutcomeClass.CREDENTIALS, f"HTTP {status_code}", None
    if 500 <= status_code <= 599 or status_code in _TRANSIENT_4XX:
        retry_after = parse_retry_after(_header(headers, "retry-after"))
        return OutcomeClass.TRANSIENT, f"HTTP {status_code}", retry_after
    if 400 <= status_code <= 499:
        snippet = _one_line(body)
        reason = f"HTTP {status_code}: {snippet}" if snippet else f"HTTP {status_code}"
        return OutcomeClass.PERMANENT, reason, None
    return OutcomeClass.TRANSIENT, f"HTTP {status_code}", None


def _classify_200(body: bytes) -> tuple[OutcomeClass, str, float | None]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return OutcomeClass.TRANSIENT, "bad answer: not JSON", None
    if not isinstance(data, dict):
        return OutcomeClass.TRANSIENT, "bad answer: not a JSON object", None
    if "code" not in data:
        return OutcomeClass.TRANSIENT, "bad answer: no code", None
    code = data["code"]
    # type() not isinstance(): JSON true must not pass for code 1, nor false for 0.
    if type(code) is not int:
        return OutcomeClass.TRANSIENT, "bad answer: code is not an integer", None
    if code != 0:
        shown = str(code) if abs(code) < 10**18 else "out of range"
        return OutcomeClass.TRANSIENT, f"bad answer: code {shown}", None
    return OutcomeClass.ACCEPTED, "OK", None


def _strerror(err: OSError) -> str:
    if err.errno:
        return os.strerror(err.errno).lower()
    return type(err).__name__


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and its explicit causes, outermost first (each layer wraps with ``from``)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 8 and current not in chain:
        chain.append(current)
        current = current.__cause__
    return chain


def _transport_reason(exc: BaseException) -> str:
    """A short reason for a request that got no usable HTTP answer.

    httpx-aiohttp maps aiohttp's errors onto httpx's loosely: every
    ``ClientConnectionError``, a refused connect or a reset included, becomes
    ``httpx.ConnectTimeout``. So the innermost cause decides, and the httpx
    class is only a fallback for transports that are not aiohttp's.
    """
    chain = _causes(exc)
    connecting = any(
        isinstance(e, aiohttp.ClientConnectorError | httpx.ConnectError)
        or type(e).__name__ == "ConnectError"  # httpcore's, without importing httpcore
        for e in chain
    )
    for err in reversed(chain):
        if isinstance(err, TimeoutError):  # aiohttp's timeouts and socket.timeout too
            return "timeout"
        if isinstance(err, socket.gaierror | aiohttp.ClientConnectorDNSError):
            return "connect error: name not resolved"
        if isinstance(err, aiohttp.ClientConnectorError):
            return f"connect error: {_strerror(err.os_error)}"
        if isinstance(err, aiohttp.ServerDisconnectedError):
            return "connection closed by the gateway"
        if isinstance(err, aiohttp.ClientPayloadError):
            return "connection broken while reading the answer"
        if isinstance(err, aiohttp.InvalidURL | httpx.UnsupportedProtocol):
            return "bad gateway URL"
        if isinstance(err, aiohttp.ClientResponseError):
            return "bad answer: not HTTP"
        if isinstance(err, OSError) and err.errno:
            if err.errno in (errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED):
                return "connection reset"
            if connecting or err.errno == errno.ECONNREFUSED:
                return f"connect error: {_strerror(err)}"
            return f"connection error: {_strerror(err)}"
    if any(isinstance(e, aiohttp.ClientError) for e in chain):
        # An aiohttp error none of the above knows: its httpx mapping (often
        # ConnectTimeout) says nothing reliable.
        return "connection error"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if connecting:
        return "connect error"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "connection error: protocol error"
    if isinstance(exc, httpx.NetworkError):
        return "connection error"
    if isinstance(exc, httpx.DecodingError):
        return "bad answer: undecodable body"
    return f"other: {type(exc).__name__}"


def _redacted(url: str) -> str:
    """``url`` without user:password, for reprs and logs."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "<invalid URL>"
    return str(parsed.copy_with(userinfo=b"")) if parsed.userinfo else url


class GatewayClient:
    """Posts messages to the gateway; one instance holds one connection pool.

    Args:
        base_url: The gateway base URL; requests go to ``{base_url}/send/{msg_id}``.
        token: The bearer token. Never shown by ``repr`` or written to logs.
        timeout: Seconds allowed for each of connect, write, read and waiting for
            a pooled connection. A whole request is also cut at twice this (see
            :meth:`send`).
        max_connections: Connections the pool may open (and keep alive).
        transport: Another httpx transport (default: aiohttp's, sized to
            ``max_connections``).
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 5.0,
        max_connections: int = 32,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0, got {timeout!r}")
        if max_connections < 1:
            raise ValueError(f"max_connections must be >= 1, got {max_connections!r}")
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout
        # aiohttp enforces no write timeout and its read timeout is per socket
        # read, so an answer trickling in byte by byte would never end: this
        # deadline bounds the whole request (pool + connect, then the answer).
        self._deadline = 2 * timeout
        self._max_connections = max_connections
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        if transport is None:
            transport = AiohttpTransport(limits=limits)
        # Requests go straight to the transport: httpx.AsyncClient's per-request
        # work (URL merging, auth and redirect handling, cookies, default headers)
        # cost 40% of the client's CPU per message (bench/dispatch.py), and the
        # gateway needs none of it. Request, Response and the transport are httpx's.
        self._transport = transport
        try:
            self._base: httpx.URL | None = httpx.URL(self._base_url + "/")
        except httpx.InvalidURL:
            self._base = None  # every send answers "bad gateway URL"; nothing raises
        self._timeouts = {"timeout": httpx.Timeout(timeout).as_dict()}
        self._logged_unexpected: set[type[BaseException]] = set()

    def __repr__(self) -> str:
        token = "set" if self.token_configured else "unset"
        return (
            f"GatewayClient(base_url={_redacted(self._base_url)!r}, token=<{token}>, "
            f"timeout={self._timeout!r}, max_connections={self._max_connections!r})"
        )

    @property
    def base_url(self) -> str:
        """The gateway base URL requests go to."""
        return self._base_url

    @property
    def token_configured(self) -> bool:
        """Whether a non-blank token is set."""
        return bool(self._token and self._token.strip())

    def set_token(self, token: str) -> None:
        """Use ``token`` from the next request on (requests in flight keep the old one)."""
        self._token = token

    async def send(self, msg_id: int, phone: str | int, text: str) -> GatewayResult:
        """Post one message: ``{"id": msg_id, "phone": int(phone), "text": text}``.

        Never raises for anything the network, the gateway or the HTTP stack does:
        every failure is a transient, credentials or permanent result with a
        reason. Only cancellation propagates.

        Args:
            msg_id: The message id, also the idempotency key (path and body ``id``).
            phone: 11 digits ``7XXXXXXXXXX``; sent as a JSON integer.
            text: The message text.
        """
        started = time.perf_counter()
        try:
            number = int(phone)
        except (TypeError, ValueError):
            # Not the gateway's fault and no retry will fix it: fail the message.
            return GatewayResult(OutcomeClass.PERMANENT, None, "bad phone: not a number", None, 0.0)
        # ensure_ascii: pure ASCII out, so even a lone surrogate cannot fail to encode.
        body = json.dumps(
            {"id": msg_id, "phone": number, "text": text}, separators=(",", ":")
        ).encode()
        headers = {"Content-Type": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        if self._base is None:
            return self._failed("bad gateway URL", started)
        try:
            request = httpx.Request(
                "POST",
                # A string, parsed once by Request: URL.join parses twice more.
                f"{self._base_url}/send/{msg_id}",
                content=body,
                headers=headers,
                extensions=self._timeouts,
            )
            async with asyncio.timeout(self._deadline):
                response = await self._transport.handle_async_request(request)
                try:
                    await response.aread()
                finally:
                    await response.aclose()
        except (httpx.HTTPError, aiohttp.ClientError, OSError) as exc:
            # OSError covers TimeoutError, hence the deadline above.
            reason = _transport_reason(exc)
            return self._failed(reason, started)
        except httpx.InvalidURL:
            return self._failed("bad gateway URL", started)
        except ValueError as exc:  # a malformed answer some layer refused to decode
            return self._failed(f"bad answer: {type(exc).__name__}", started)
        except Exception as exc:
            # Something unforeseen inside the HTTP stack must not kill the sender;
            # log it once per type, with its traceback, so it gets fixed.
            if type(exc) not in self._logged_unexpected:
                self._logged_unexpected.add(type(exc))
                log.warning("unexpected %s from the HTTP stack", type(exc).__name__, exc_info=True)
            return self._failed(f"other: {type(exc).__name__}", started)
        outcome, reason, retry_after = classify_response(
            response.status_code, response.content, response.headers
        )
        return GatewayResult(
            outcome, response.status_code, reason, retry_after, time.perf_counter() - started
        )

    @staticmethod
    def _failed(reason: str, started: float) -> GatewayResult:
        return GatewayResult(
            OutcomeClass.TRANSIENT, None, reason, None, time.perf_counter() - started
        )

    async def aclose(self) -> None:
        """Close the pool and its connections."""
        await self._transport.aclose()

    async def __aenter__(self) -> GatewayClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
