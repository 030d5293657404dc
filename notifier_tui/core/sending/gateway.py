"""The sending gateway's HTTP client (docs/gateway.md).

:class:`GatewayClient` posts one message over one ``aiohttp.ClientSession`` and
turns whatever happens (an answer, a timeout, a refused connection, garbage, a
50 MB body) into a :class:`GatewayResult` without ever raising, so the sender
only has to act on the outcome class. The judging itself is
:mod:`notifier_tui.core.sending.classify`, pure functions.

Built for the dispatch loop: the URL prefix and the headers are made once, a
request is one string join and one aiohttp call, and aiohttp's per-request
extras the gateway never needs (cookies, netrc and proxy lookups, redirects,
decompression) are switched off. Proxy settings from the environment
(``HTTPS_PROXY``, ``NO_PROXY``...) are read once, when the session opens.

This module is part of the core: it must not import Textual or the command line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass

import aiohttp
from aiohttp.helpers import get_env_proxy_for_url
from yarl import URL

from notifier_tui.core.defaults import DEFAULT_BASE_URL
from notifier_tui.core.reasons import ErrorClass
from notifier_tui.core.sending.classify import (
    OutcomeClass,
    classify_answer,
    classify_failure,
    classify_response,
)
from notifier_tui.core.sending.retry_after import DEFAULT_MAX_RETRY_AFTER, parse_retry_after

__all__ = [
    "DEFAULT_BASE_URL",
    "GatewayClient",
    "GatewayResult",
    "OutcomeClass",
    "classify_response",
    "parse_retry_after",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_ANSWER_BYTES = 4096
"""The gateway answers ``{"code": 0, "message": "OK"}``; anything near this size is wrong."""


@dataclass(frozen=True, slots=True)
class GatewayResult:
    """The outcome of one request to the gateway.

    Attributes:
        outcome: What the sender should do next.
        status_code: The HTTP status, ``None`` when no answer came back.
        reason: Short human text for ``last_error``: ``"OK"``, ``"HTTP 500"``,
            ``"timeout"``, ``"connect error: connection refused"``,
            ``"bad answer: not JSON"``, ``"bad answer: code 1"``, ``"HTTP 400: <body>"``.
        retry_after: Seconds the gateway asked to wait (``Retry-After``, clamped),
            transient only.
        latency: Seconds from the start of the request to its outcome.
        error_class: What kept the message from being sent; ``None`` when accepted.
    """

    outcome: OutcomeClass
    status_code: int | None
    reason: str
    retry_after: float | None
    latency: float
    error_class: ErrorClass | None

    def __post_init__(self) -> None:
        if (self.outcome is OutcomeClass.ACCEPTED) != (self.error_class is None):
            raise ValueError(f"{self.outcome} with error class {self.error_class!r}")

    @property
    def error_kind(self) -> str:
        """A short stable label for metrics: ``ok`` or the error class's value.

        One of ``ok``, ``timeout``, ``connect``, ``http_5xx``, ``http_429``,
        ``bad_answer``, ``credentials``, ``http_4xx``, ``other``.
        """
        return "ok" if self.error_class is None else self.error_class.value


def _redacted(url: str) -> str:
    """``url`` with any user:password shown as ``***``, for reprs and logs."""
    try:
        parsed = URL(url)
    except ValueError:
        return "<invalid URL>"
    if parsed.raw_user is None and parsed.raw_password is None:
        return url
    return str(parsed.with_user(None)).replace("://", "://***@", 1)


def _endpoint_prefix(base_url: str) -> URL | None:
    """``{base_url}/send/`` without userinfo, or ``None`` if no http(s) request can go there."""
    try:
        url = URL(base_url)
    except ValueError:
        return None
    if url.scheme not in ("http", "https") or not url.raw_host:
        return None
    if url.raw_user is not None or url.raw_password is not None:
        # The bearer token is the credential; aiohttp would turn userinfo into a
        # second Authorization header and refuse the request.
        log.warning("user:password in the gateway URL %s is not sent", _redacted(base_url))
        url = url.with_user(None)
    return url.with_path(url.raw_path.rstrip("/") + "/send/", encoded=True)


class GatewayClient:
    """Posts messages to the gateway; one instance holds one connection pool.

    Args:
        base_url: The gateway base URL; requests go to ``{base_url}/send/{msg_id}``.
            A user:password in it is not sent (the bearer token authenticates).
        token: The bearer token. Never shown by ``repr`` or written to logs.
        timeout: Seconds allowed to get a connection (from the pool or a new
            one) and between two reads of the answer. A whole request is also
            cut at twice this, whatever the gateway does.
        max_connections: Connections the pool may open (and keep alive).
        max_answer_bytes: Bytes of an answer's body read at most; a longer
            answer is cut there, its connection closed, and a 200 judged a bad answer.
        max_retry_after: The longest ``Retry-After`` honoured, in seconds.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 5.0,
        max_connections: int = 32,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
        max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
    ) -> None:
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0, got {timeout!r}")
        if max_connections < 1:
            raise ValueError(f"max_connections must be >= 1, got {max_connections!r}")
        if max_answer_bytes < 64:
            raise ValueError(f"max_answer_bytes must be >= 64, got {max_answer_bytes!r}")
        if not max_retry_after >= 0:
            raise ValueError(f"max_retry_after must be >= 0, got {max_retry_after!r}")
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._max_connections = max_connections
        self._max_answer_bytes = max_answer_bytes
        self._max_retry_after = max_retry_after
        self._prefix = _endpoint_prefix(self._base_url)
        self._prefix_text = "" if self._prefix is None else str(self._prefix)
        self._token = ""
        self._token_unusable = False
        self._headers: dict[str, str] = {}
        self.set_token(token)
        self._session: aiohttp.ClientSession | None = None
        self._opening = asyncio.Lock()
        self._proxy: URL | None = None
        self._proxy_auth: aiohttp.BasicAuth | None = None
        self._closed = False
        self._logged_unexpected: set[type[BaseException]] = set()
        self._logged_retry_after = False

    def __repr__(self) -> str:
        token = "set" if self.token_configured else "unset"
        return (
            f"GatewayClient(base_url={_redacted(self._base_url)!r}, token=<{token}>, "
            f"timeout={self._timeout!r}, max_connections={self._max_connections!r})"
        )

    @property
    def base_url(self) -> str:
        """The gateway base URL as configured (requests go to ``{base_url}/send/{id}``)."""
        return self._base_url

    @property
    def token_configured(self) -> bool:
        """Whether a non-blank token is set."""
        return bool(self._token and self._token.strip())

    def set_token(self, token: str) -> None:
        """Use ``token`` from the next request on (requests in flight keep the old one).

        Surrounding whitespace is dropped (a token file ends with a newline). A
        token that still holds a space, a control or a non-ASCII character
        cannot be a bearer token: sends then answer "credentials" unsent.
        """
        self._token = token
        bare = token.strip()
        self._token_unusable = not all(" " < ch <= "~" for ch in bare)
        # Built once per token, not per message; aiohttp copies it into each request.
        headers = {"Content-Type": "application/json", "Accept-Encoding": "identity"}
        if bare and not self._token_unusable:
            headers["Authorization"] = f"Bearer {bare}"
        self._headers = headers

    async def _open(self) -> aiohttp.ClientSession | None:
        """The session, made on first use (aiohttp wants a running loop for it).

        ``None`` once :meth:`aclose` has run, even if it ran while this waited.
        """
        async with self._opening:
            if self._session is None and not self._closed:
                assert self._prefix is not None
                try:
                    # Read once, off the loop: it may read ~/.netrc for the proxy's login.
                    proxy = await asyncio.to_thread(get_env_proxy_for_url, self._prefix)
                except LookupError:
                    pass
                else:
                    self._proxy, self._proxy_auth = proxy
                    log.info("gateway requests go through proxy %s", _redacted(str(proxy[0])))
                if self._closed:  # closed during the lookup: open nothing to leak
                    return None
                self._session = aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(limit=self._max_connections),
                    timeout=aiohttp.ClientTimeout(
                        total=2 * self._timeout, connect=self._timeout, sock_read=self._timeout
                    ),
                    # Per-request work the gateway needs none of: trust_env would look
                    # the proxy and netrc up on a thread for every request.
                    cookie_jar=aiohttp.DummyCookieJar(),
                    auto_decompress=False,
                    trust_env=False,
                )
            return self._session

    async def send(self, msg_id: int, phone: str | int, text: str) -> GatewayResult:
        """Post one message: ``{"id": msg_id, "phone": int(phone), "text": text}``.

        Never raises for anything the network, the gateway or the HTTP stack does:
        every failure is a transient, credentials or permanent result with a
        reason. Only cancellation propagates.

        Args:
            msg_id: The message id (an int), also the idempotency key (path and body ``id``).
            phone: 11 digits ``7XXXXXXXXXX``; sent as a JSON integer.
            text: The message text.
        """
        started = time.perf_counter()
        try:
            number = int(phone)
        except (TypeError, ValueError):
            # Not the gateway's fault and no retry will fix it: fail the message.
            return GatewayResult(
                OutcomeClass.PERMANENT, None, "bad phone: not a number", None, 0.0, ErrorClass.OTHER
            )
        if self._prefix is None:
            return self._failed("bad gateway URL", ErrorClass.OTHER, started)
        if self._closed:
            return self._failed("gateway client closed", ErrorClass.OTHER, started)
        if self._token_unusable:
            # Not sendable (aiohttp refuses a header with a line break), and no
            # retry fixes it: the token must change, as after a 401.
            return GatewayResult(
                OutcomeClass.CREDENTIALS,
                None,
                "token is not a valid header value",
                None,
                0.0,
                ErrorClass.CREDENTIALS,
            )
        # ensure_ascii (the default): pure ASCII out, so a lone surrogate cannot fail to encode.
        body = b'{"id":%d,"phone":%d,"text":%s}' % (msg_id, number, json.dumps(text).encode())
        # The prefix is already encoded and an int adds only digits: nothing to requote.
        url = URL(self._prefix_text + str(msg_id), encoded=True)
        try:
            session = self._session if self._session is not None else await self._open()
            if session is None:
                return self._failed("gateway client closed", ErrorClass.OTHER, started)
            response = await session.post(
                url,
                data=body,
                headers=self._headers,
                allow_redirects=False,  # the token must not travel to another host
                proxy=self._proxy,
                proxy_auth=self._proxy_auth,
            )
            try:
                content, truncated = await self._read(response)
            except BaseException:
                response.close()
                raise
            if truncated:
                response.close()  # not drained: the rest of a huge body is never read
            else:
                response.release()
        except (aiohttp.ClientError, OSError) as exc:
            # OSError covers TimeoutError: aiohttp's total deadline and socket timeouts.
            reason, error_class = classify_failure(exc)
            return self._failed(reason, error_class, started)
        except ValueError as exc:  # a malformed answer or URL some layer refused
            return self._failed(f"bad answer: {type(exc).__name__}", ErrorClass.BAD_ANSWER, started)
        except Exception as exc:
            # Something unforeseen inside the HTTP stack must not kill the sender;
            # log it once per type, with its traceback, so it gets fixed.
            if type(exc) not in self._logged_unexpected:
                self._logged_unexpected.add(type(exc))
                log.warning("unexpected %s from the HTTP stack", type(exc).__name__, exc_info=True)
            return self._failed(f"other: {type(exc).__name__}", ErrorClass.OTHER, started)
        verdict = classify_answer(
            response.status,
            content,
            response.headers,
            truncated=truncated,
            max_retry_after=self._max_retry_after,
        )
        if verdict.retry_after_asked is not None and not self._logged_retry_after:
            # Once per client: a gateway that asks for hours asks on every answer.
            self._logged_retry_after = True
            log.warning(
                "gateway asked to wait %.0f s (Retry-After); waiting at most %.0f s",
                verdict.retry_after_asked,
                self._max_retry_after,
            )
        return GatewayResult(
            verdict.outcome,
            response.status,
            verdict.reason,
            verdict.retry_after,
            time.perf_counter() - started,
            verdict.error_class,
        )

    async def _read(self, response: aiohttp.ClientResponse) -> tuple[bytes, bool]:
        """At most ``max_answer_bytes`` of the body, and whether there was more."""
        cap = self._max_answer_bytes
        length = response.content_length
        if length is not None and length <= cap:
            return await response.read(), False
        if length is not None and response.status == 200:
            return b"", True  # an oversized 200 is a bad answer whatever it says
        # No length (chunked, or until close), or a long error page whose start
        # makes the reason: read up to the cap, one byte more tells "longer".
        data = bytearray()
        while len(data) <= cap:
            chunk = await response.content.read(cap + 1 - len(data))
            if not chunk:
                return bytes(data), False
            data += chunk
        return bytes(data[:cap]), True

    @staticmethod
    def _failed(reason: str, error_class: ErrorClass, started: float) -> GatewayResult:
        return GatewayResult(
            OutcomeClass.TRANSIENT, None, reason, None, time.perf_counter() - started, error_class
        )

    async def aclose(self) -> None:
        """Close the pool and its connections; later sends fail without a request."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def __aenter__(self) -> GatewayClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
