"""docs/gateway.md's table as pure functions: what one attempt's outcome means.

:func:`classify_answer` judges an HTTP answer (status, the first bytes of the
body, headers); :func:`classify_failure` judges a request that got no usable
answer (the exception aiohttp raised). Both give an :class:`OutcomeClass` (what
the sender does next), a short human reason for ``last_error`` and an
:class:`~notifier_tui.core.reasons.ErrorClass` (what the report and the metrics
group by). Nothing here raises, and nothing parses a reason text back.

This module is part of the core: no I/O, no Textual, no command line.
"""

from __future__ import annotations

import enum
import errno
import json
import os
import re
import socket
from collections.abc import Mapping
from datetime import datetime
from typing import NamedTuple

import aiohttp

from notifier_tui.core.reasons import ErrorClass
from notifier_tui.core.sending.retry_after import DEFAULT_MAX_RETRY_AFTER, read_retry_after

__all__ = [
    "OutcomeClass",
    "Verdict",
    "classify_answer",
    "classify_failure",
    "classify_response",
]

_SNIPPET = 200
_SPACES = re.compile(r"\s+")
_TRANSIENT_4XX = frozenset({408, 425, 429})
_RESET = frozenset({errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED})


class OutcomeClass(enum.StrEnum):
    """What the sender does with a message after one attempt (docs/gateway.md's table)."""

    ACCEPTED = "accepted"
    """The gateway took it: HTTP 200 with a JSON object whose integer ``code`` is 0."""
    TRANSIENT = "transient"
    """Retry with backoff: network trouble, 5xx/408/425/429, or a bad 200 answer."""
    CREDENTIALS = "credentials"
    """401/403: stop all dispatch until the token changes or the user resumes."""
    PERMANENT = "permanent"
    """Any other 4xx, or a 3xx (redirects are never followed): this message fails for good."""


class Verdict(NamedTuple):
    """The judgement of one HTTP answer.

    Attributes:
        outcome: What the sender does next.
        reason: Short one-line text for ``last_error``.
        retry_after: Seconds the gateway asked to wait, clamped; transient only.
        error_class: The class the report and metrics count; ``None`` when accepted.
        retry_after_asked: The wait asked for when it was over the maximum (clamped).
    """

    outcome: OutcomeClass
    reason: str
    retry_after: float | None
    error_class: ErrorClass | None
    retry_after_asked: float | None = None


_ACCEPTED = Verdict(OutcomeClass.ACCEPTED, "OK", None, None)


def _one_line(body: bytes | str) -> str:
    """The start of a body or header as one clean line (it ends up in ``last_error`` and logs)."""
    text = body[: _SNIPPET * 4]
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return _SPACES.sub(" ", text).strip()[:_SNIPPET]


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """``headers[name]`` case-insensitively (aiohttp's headers are; a plain dict is not)."""
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    for key, item in headers.items():
        if key.lower() == wanted:
            return item
    return None


def classify_answer(
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    *,
    truncated: bool = False,
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
    now: datetime | None = None,
) -> Verdict:
    """Judge one HTTP answer by docs/gateway.md's table. Never raises.

    - 200 with a JSON object whose ``code`` is an integer (``bool`` is not) equal
      to 0: accepted; any other 200, or one whose body was cut (``truncated``):
      transient "bad answer";
    - 5xx, 408, 425, 429: transient, with ``Retry-After`` (clamped) if given;
    - 401, 403: credentials;
    - 3xx: permanent (a redirect is never followed: the token must not travel);
    - any other 4xx: permanent, the reason quoting the start of the body;
    - anything else (1xx, other 2xx, nonsense): transient.

    Args:
        status: The HTTP status code.
        body: The answer's body, or its first bytes when ``truncated``.
        headers: The answer's headers.
        truncated: The body was longer than the client reads.
        max_retry_after: The longest ``Retry-After`` honoured, in seconds.
        now: The instant a ``Retry-After`` date is measured from.
    """
    if status == 200:
        if truncated:
            return Verdict(
                OutcomeClass.TRANSIENT, "bad answer: too large", None, ErrorClass.BAD_ANSWER
            )
        return _classify_200(body)
    if status in (401, 403):
        return Verdict(OutcomeClass.CREDENTIALS, f"HTTP {status}", None, ErrorClass.CREDENTIALS)
    if 500 <= status <= 599 or status in _TRANSIENT_4XX:
        wait = read_retry_after(_header(headers, "retry-after"), now, maximum=max_retry_after)
        if status == 429:
            error_class = ErrorClass.HTTP_429
        elif status >= 500:
            error_class = ErrorClass.HTTP_5XX
        else:
            error_class = ErrorClass.HTTP_4XX
        return Verdict(
            OutcomeClass.TRANSIENT, f"HTTP {status}", wait.seconds, error_class, wait.asked
        )
    if 300 <= status <= 399:
        location = _one_line(_header(headers, "location") or "")
        where = f" to {location}" if location else ""
        return Verdict(
            OutcomeClass.PERMANENT,
            f"HTTP {status}: redirect{where} not followed",
            None,
            ErrorClass.OTHER,
        )
    if 400 <= status <= 499:
        snippet = _one_line(body)
        reason = f"HTTP {status}: {snippet}" if snippet else f"HTTP {status}"
        return Verdict(OutcomeClass.PERMANENT, reason, None, ErrorClass.HTTP_4XX)
    return Verdict(OutcomeClass.TRANSIENT, f"HTTP {status}", None, ErrorClass.OTHER)


def classify_response(
    status_code: int, body: bytes, headers: Mapping[str, str]
) -> tuple[OutcomeClass, str, float | None]:
    """(outcome, reason, retry_after) of one HTTP answer: :func:`classify_answer` in short."""
    verdict = classify_answer(status_code, body, headers)
    return verdict.outcome, verdict.reason, verdict.retry_after


def _bad_answer(reason: str) -> Verdict:
    return Verdict(OutcomeClass.TRANSIENT, f"bad answer: {reason}", None, ErrorClass.BAD_ANSWER)


def _classify_200(body: bytes) -> Verdict:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return _bad_answer("not JSON")
    if not isinstance(data, dict):
        return _bad_answer("not a JSON object")
    if "code" not in data:
        return _bad_answer("no code")
    code = data["code"]
    # type() not isinstance(): JSON true must not pass for code 1, nor false for 0.
    if type(code) is not int:
        return _bad_answer("code is not an integer")
    if code != 0:
        return _bad_answer(f"code {code if abs(code) < 10**18 else 'out of range'}")
    return _ACCEPTED


# -- requests that got no usable answer ------------------------------------------


def _strerror(err: OSError | None) -> str:
    if err is not None and err.errno:
        return os.strerror(err.errno).lower()
    return type(err).__name__ if err is not None else "unknown"


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and its causes, outermost first (aiohttp wraps OS errors with ``from``)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 8 and current not in chain:
        chain.append(current)
        current = current.__cause__
    return chain


def _one_failure(err: BaseException) -> tuple[str, ErrorClass] | None:
    """The reason and class ``err`` itself names, or ``None`` if it names none."""
    # Order matters: aiohttp's classes inherit from several of these at once
    # (ServerTimeoutError is a TimeoutError, ClientConnectorError an OSError...).
    if isinstance(err, TimeoutError):  # aiohttp's total, connect and read timeouts alike
        return "timeout", ErrorClass.TIMEOUT
    if isinstance(err, aiohttp.ClientConnectorDNSError | socket.gaierror):
        return "connect error: name not resolved", ErrorClass.CONNECT
    if isinstance(err, aiohttp.ClientConnectorCertificateError):
        return "connect error: TLS certificate not trusted", ErrorClass.CONNECT
    if isinstance(err, aiohttp.ClientSSLError):
        return "connect error: TLS handshake failed", ErrorClass.CONNECT
    if isinstance(err, aiohttp.ClientProxyConnectionError):
        return f"connect error: proxy: {_strerror(err.os_error)}", ErrorClass.CONNECT
    if isinstance(err, aiohttp.ClientConnectorError):
        return f"connect error: {_strerror(err.os_error)}", ErrorClass.CONNECT
    if isinstance(err, aiohttp.ServerDisconnectedError):
        return "connection closed by the gateway", ErrorClass.CONNECT
    if isinstance(err, aiohttp.ClientPayloadError):
        return "connection broken while reading the answer", ErrorClass.CONNECT
    if isinstance(err, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        return "bad gateway URL", ErrorClass.OTHER
    if isinstance(err, aiohttp.ClientHttpProxyError):
        return f"connect error: proxy answered HTTP {err.status}", ErrorClass.CONNECT
    if isinstance(err, aiohttp.ClientResponseError):
        # aiohttp's parser refused the answer (no status line, bad headers...).
        return "bad answer: not HTTP", ErrorClass.BAD_ANSWER
    if isinstance(err, aiohttp.ClientConnectionResetError | ConnectionResetError):
        return "connection reset", ErrorClass.CONNECT
    if isinstance(err, OSError) and err.errno:
        if err.errno in _RESET:
            return "connection reset", ErrorClass.CONNECT
        if err.errno == errno.ECONNREFUSED:
            return f"connect error: {_strerror(err)}", ErrorClass.CONNECT
        return f"connection error: {_strerror(err)}", ErrorClass.CONNECT
    return None


def classify_failure(exc: BaseException) -> tuple[str, ErrorClass]:
    """The reason and class of a request that got no usable HTTP answer. Never raises.

    The innermost cause that names a failure decides (a reset wrapped in an
    aiohttp error says "connection reset"); an aiohttp error none of the rules
    knows is a connection error, anything else is "other: <type>".
    """
    chain = _causes(exc)
    for err in reversed(chain):
        found = _one_failure(err)
        if found is not None:
            return found
    if any(isinstance(err, aiohttp.ClientError) for err in chain):
        return "connection error", ErrorClass.CONNECT
    return f"other: {type(exc).__name__}", ErrorClass.OTHER
