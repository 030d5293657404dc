"""docs/gateway.md's table as pure functions: HTTP answers and failed requests.

No server here: :func:`classify_answer` gets status, body and headers, and
:func:`classify_failure` gets the very exception types aiohttp raises. The
client's behaviour against real servers is in test_gateway.py.
"""

from __future__ import annotations

import errno
import json
import socket
import ssl

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from notifier_tui.core.reasons import GATEWAY_CLASSES, ErrorClass
from notifier_tui.core.sending.classify import (
    OutcomeClass,
    Verdict,
    classify_answer,
    classify_failure,
    classify_response,
)

A = OutcomeClass.ACCEPTED
T = OutcomeClass.TRANSIENT
C = OutcomeClass.CREDENTIALS
P = OutcomeClass.PERMANENT
E = ErrorClass

# -- classify_response: moved from test_gateway.py ---------------------------


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected"),
    [
        (200, b'{"code": 0, "message": "OK"}', {}, (A, "OK", None)),
        (200, b'{"code": 0}', {}, (A, "OK", None)),
        (200, b'{"code": -0}', {}, (A, "OK", None)),
        (200, b'{"code": 1, "message": "rejected"}', {}, (T, "bad answer: code 1", None)),
        (200, b'{"code": 0.0}', {}, (T, "bad answer: code is not an integer", None)),
        (200, b'{"code": "0"}', {}, (T, "bad answer: code is not an integer", None)),
        (200, b'{"code": false}', {}, (T, "bad answer: code is not an integer", None)),
        (200, b'{"code": true}', {}, (T, "bad answer: code is not an integer", None)),
        (200, b'{"code": null}', {}, (T, "bad answer: code is not an integer", None)),
        (200, b"{}", {}, (T, "bad answer: no code", None)),
        (200, b"[]", {}, (T, "bad answer: not a JSON object", None)),
        (200, b"0", {}, (T, "bad answer: not a JSON object", None)),
        (200, b"", {}, (T, "bad answer: not JSON", None)),
        (200, b"<html>", {}, (T, "bad answer: not JSON", None)),
        (200, b"\xff\xfe\x00", {}, (T, "bad answer: not JSON", None)),
        (200, b"[" * 100_000, {}, (T, "bad answer: not JSON", None)),
        (500, b"", {}, (T, "HTTP 500", None)),
        (502, b"<html>", {"Retry-After": "3"}, (T, "HTTP 502", 3.0)),
        (503, b"", {"retry-after": " 1.5 "}, (T, "HTTP 503", 1.5)),
        (429, b"", {"RETRY-AFTER": "0"}, (T, "HTTP 429", 0.0)),
        (429, b"", {"Retry-After": "-5"}, (T, "HTTP 429", None)),
        (429, b"", {"Retry-After": "soon"}, (T, "HTTP 429", None)),
        (429, b"", {"Retry-After": "inf"}, (T, "HTTP 429", None)),
        (408, b"", {}, (T, "HTTP 408", None)),
        (425, b"", {}, (T, "HTTP 425", None)),
        (401, b"expired", {}, (C, "HTTP 401", None)),
        (403, b"", {}, (C, "HTTP 403", None)),
        (400, b'{"detail": "bad phone"}', {}, (P, 'HTTP 400: {"detail": "bad phone"}', None)),
        (400, b"", {"Retry-After": "3"}, (P, "HTTP 400", None)),
        (404, b"\x00\tnot\nfound\x1b ", {}, (P, "HTTP 404: not found", None)),
        (422, b"x" * 500, {}, (P, "HTTP 422: " + "x" * 200, None)),
        (499, b"", {}, (P, "HTTP 499", None)),
        (100, b"", {}, (T, "HTTP 100", None)),
        (201, b'{"code": 0}', {}, (T, "HTTP 201", None)),
        # A redirect is never followed: the token must not travel (docs/gateway.md).
        (301, b"", {}, (P, "HTTP 301: redirect not followed", None)),
        (600, b"", {}, (T, "HTTP 600", None)),
        (0, b"", {}, (T, "HTTP 0", None)),
    ],
)
def test_classify_response_table(
    status: int,
    body: bytes,
    headers: dict[str, str],
    expected: tuple[OutcomeClass, str, float | None],
) -> None:
    assert classify_response(status, body, headers) == expected


def _oracle_accepts(status: int, body: bytes) -> bool:
    if status != 200:
        return False
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return isinstance(data, dict) and type(data.get("code")) is int and data["code"] == 0


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
_bodies = st.one_of(
    st.binary(max_size=64),
    _json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from(["code", "message", "x"]), _json_values).map(
        lambda v: json.dumps(v).encode()
    ),
    st.sampled_from([0, 1, -1, True, False, 0.0, "0", None, 2**70]).map(
        lambda c: json.dumps({"code": c, "message": "m"}).encode()
    ),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    status=st.one_of(st.sampled_from([200, 200, 200, 401, 403, 429, 500]), st.integers(-5, 1000)),
    body=_bodies,
    retry_after=st.one_of(st.none(), st.text(max_size=30)),
)
def test_classify_response_never_raises_and_accepts_exactly_code_0(
    status: int, body: bytes, retry_after: str | None
) -> None:
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    outcome, reason, delay = classify_response(status, body, headers)
    assert (outcome is A) == _oracle_accepts(status, body)
    assert isinstance(reason, str) and "\n" not in reason and len(reason) <= 220
    assert delay is None or (delay >= 0 and outcome is T)
    if status in (401, 403):
        assert outcome is C
    elif 400 <= status <= 499 and status not in (408, 425, 429):
        assert outcome is P


# -- the error class of each answer ----------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected"),
    [
        (200, b'{"code": 0}', {}, Verdict(A, "OK", None, None)),
        (200, b'{"code": 1}', {}, Verdict(T, "bad answer: code 1", None, E.BAD_ANSWER)),
        (200, b"<html>", {}, Verdict(T, "bad answer: not JSON", None, E.BAD_ANSWER)),
        (500, b"", {}, Verdict(T, "HTTP 500", None, E.HTTP_5XX)),
        (599, b"", {"Retry-After": "2"}, Verdict(T, "HTTP 599", 2.0, E.HTTP_5XX)),
        (429, b"", {"Retry-After": "1"}, Verdict(T, "HTTP 429", 1.0, E.HTTP_429)),
        (408, b"", {}, Verdict(T, "HTTP 408", None, E.HTTP_4XX)),
        (425, b"", {}, Verdict(T, "HTTP 425", None, E.HTTP_4XX)),
        (401, b"", {}, Verdict(C, "HTTP 401", None, E.CREDENTIALS)),
        (403, b"", {}, Verdict(C, "HTTP 403", None, E.CREDENTIALS)),
        (400, b"no", {}, Verdict(P, "HTTP 400: no", None, E.HTTP_4XX)),
        (422, b"", {}, Verdict(P, "HTTP 422", None, E.HTTP_4XX)),
        (
            302,
            b"",
            {"Location": "https://elsewhere.example/v1/send/7"},
            Verdict(
                P,
                "HTTP 302: redirect to https://elsewhere.example/v1/send/7 not followed",
                None,
                E.OTHER,
            ),
        ),
        (
            307,
            b"",
            {"location": "/x\r\ny"},
            Verdict(P, "HTTP 307: redirect to /x y not followed", None, E.OTHER),
        ),
        (304, b"", {}, Verdict(P, "HTTP 304: redirect not followed", None, E.OTHER)),
        (204, b"", {}, Verdict(T, "HTTP 204", None, E.OTHER)),
        (100, b"", {}, Verdict(T, "HTTP 100", None, E.OTHER)),
        (600, b"", {}, Verdict(T, "HTTP 600", None, E.OTHER)),
    ],
)
def test_classify_answer_gives_the_error_class(
    status: int, body: bytes, headers: dict[str, str], expected: Verdict
) -> None:
    assert classify_answer(status, body, headers) == expected


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        # A 200 cut short is never accepted, whatever its first bytes say.
        (
            200,
            b'{"code":0,"message":"' + b"x" * 100,
            Verdict(T, "bad answer: too large", None, E.BAD_ANSWER),
        ),
        (200, b'{"code": 0}', Verdict(T, "bad answer: too large", None, E.BAD_ANSWER)),
        # Other answers keep their class; the start of the body still makes the reason.
        (400, b"x" * 4096, Verdict(P, "HTTP 400: " + "x" * 200, None, E.HTTP_4XX)),
        (401, b"x" * 4096, Verdict(C, "HTTP 401", None, E.CREDENTIALS)),
        (503, b"x" * 4096, Verdict(T, "HTTP 503", None, E.HTTP_5XX)),
    ],
)
def test_truncated_answers(status: int, body: bytes, expected: Verdict) -> None:
    assert classify_answer(status, body, {}, truncated=True) == expected


def test_retry_after_is_clamped_and_what_was_asked_is_kept() -> None:
    huge = classify_answer(503, b"", {"Retry-After": "1e20"}, max_retry_after=30)
    assert (huge.retry_after, huge.retry_after_asked) == (30, 1e20)
    fine = classify_answer(503, b"", {"Retry-After": "12"}, max_retry_after=30)
    assert (fine.retry_after, fine.retry_after_asked) == (12, None)
    # Only transient answers carry a wait.
    assert classify_answer(400, b"", {"Retry-After": "1e20"}).retry_after_asked is None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    status=st.integers(-5, 1000),
    body=st.binary(max_size=64) | st.just(b'{"code": 0}'),
    truncated=st.booleans(),
    headers=st.dictionaries(
        st.sampled_from(["Retry-After", "Location", "X"]), st.text(max_size=40)
    ),
)
def test_error_class_is_none_exactly_when_accepted(
    status: int, body: bytes, truncated: bool, headers: dict[str, str]
) -> None:
    verdict = classify_answer(status, body, headers, truncated=truncated)
    assert (verdict.error_class is None) == (verdict.outcome is A)
    assert verdict.error_class is None or verdict.error_class in GATEWAY_CLASSES
    assert "\n" not in verdict.reason and len(verdict.reason) <= 260
    if 300 <= status <= 399:
        assert verdict.outcome is P


# -- requests without a usable answer: the exceptions aiohttp raises ------------------

_KEY = aiohttp.client_reqrep.ConnectionKey("gw.example", 443, True, True, None, None, None)
_INFO = aiohttp.RequestInfo(
    URL("https://gw.example/v1/send/1"), "POST", CIMultiDictProxy(CIMultiDict())
)


def _chained(outer: BaseException, inner: BaseException) -> BaseException:
    """``outer`` raised ``from inner``, as aiohttp wraps OS errors."""
    try:
        try:
            raise inner
        except BaseException as exc:
            raise outer from exc
    except BaseException as exc:
        return exc


REFUSED = ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")


@pytest.mark.parametrize(
    ("exc", "reason", "error_class"),
    [
        (TimeoutError(), "timeout", E.TIMEOUT),
        (aiohttp.ServerTimeoutError("read"), "timeout", E.TIMEOUT),
        (aiohttp.ConnectionTimeoutError("connect"), "timeout", E.TIMEOUT),
        (aiohttp.SocketTimeoutError("sock_read"), "timeout", E.TIMEOUT),
        (
            aiohttp.ClientConnectorError(_KEY, REFUSED),
            "connect error: connection refused",
            E.CONNECT,
        ),
        (REFUSED, "connect error: connection refused", E.CONNECT),
        (
            aiohttp.ClientConnectorDNSError(_KEY, socket.gaierror(-2, "Name or service not known")),
            "connect error: name not resolved",
            E.CONNECT,
        ),
        (
            aiohttp.ClientProxyConnectionError(_KEY, REFUSED),
            "connect error: proxy: connection refused",
            E.CONNECT,
        ),
        (
            aiohttp.ClientConnectorCertificateError(_KEY, ssl.CertificateError("bad cert")),
            "connect error: TLS certificate not trusted",
            E.CONNECT,
        ),
        (
            aiohttp.ClientConnectorSSLError(_KEY, ssl.SSLError(1, "handshake")),
            "connect error: TLS handshake failed",
            E.CONNECT,
        ),
        (aiohttp.ServerDisconnectedError(), "connection closed by the gateway", E.CONNECT),
        (aiohttp.ClientConnectionResetError("reset"), "connection reset", E.CONNECT),
        (ConnectionResetError(errno.ECONNRESET, "reset"), "connection reset", E.CONNECT),
        (BrokenPipeError(errno.EPIPE, "pipe"), "connection reset", E.CONNECT),
        (
            _chained(aiohttp.ClientOSError(), ConnectionResetError(errno.ECONNRESET, "r")),
            "connection reset",
            E.CONNECT,
        ),
        (
            aiohttp.ClientOSError(errno.EHOSTUNREACH, "unreachable"),
            "connection error: no route to host",
            E.CONNECT,
        ),
        (
            aiohttp.ClientPayloadError("truncated"),
            "connection broken while reading the answer",
            E.CONNECT,
        ),
        (
            aiohttp.ClientResponseError(_INFO, (), status=400, message="Bad status line"),
            "bad answer: not HTTP",
            E.BAD_ANSWER,
        ),
        (
            aiohttp.ClientHttpProxyError(_INFO, (), status=407, message="auth"),
            "connect error: proxy answered HTTP 407",
            E.CONNECT,
        ),
        (aiohttp.InvalidURL("ftp://x"), "bad gateway URL", E.OTHER),
        (aiohttp.NonHttpUrlClientError("ftp://x"), "bad gateway URL", E.OTHER),
        (aiohttp.ClientConnectionError("?"), "connection error", E.CONNECT),
        (aiohttp.ServerFingerprintMismatch(b"a", b"b", "gw", 443), "connection error", E.CONNECT),
        (KeyError("x"), "other: KeyError", E.OTHER),
        (ValueError("x"), "other: ValueError", E.OTHER),
    ],
)
def test_classify_failure(exc: BaseException, reason: str, error_class: ErrorClass) -> None:
    assert classify_failure(exc) == (reason, error_class)


def test_classify_failure_survives_a_cause_loop() -> None:
    a, b = aiohttp.ClientOSError(), aiohttp.ClientOSError()
    a.__cause__, b.__cause__ = b, a
    assert classify_failure(a) == ("connection error", E.CONNECT)
