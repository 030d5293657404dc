"""What each :class:`~notifier_tui.sim.faults.Answer` looks like on the wire."""

from __future__ import annotations

import functools

from notifier_tui.sim.faults import Answer, huge_body
from notifier_tui.sim.protocol import detail, response, with_close

OK = response(200, b'{"code":0,"message":"OK"}')
OK_CLOSE = with_close(OK)
FIXED = {
    Answer.FAIL: detail(500, "internal error"),
    Answer.GARBAGE: response(200, b"<html>502 bad gateway</html>"),
    Answer.NONZERO_CODE: response(200, b'{"code":1,"message":"rejected"}'),
    Answer.PERMANENT: detail(400, "bad phone"),
    Answer.UNAUTHORIZED: detail(401, "invalid token"),
    Answer.METHOD: detail(405, "method not allowed"),
    Answer.OUTAGE: detail(503, "service unavailable"),
    Answer.FLAP: detail(503, "service unavailable"),
}
"""The answers that never vary, built once."""


@functools.lru_cache(maxsize=2)
def huge(mb: float) -> bytes:
    """A 200 ``{"code": 0, ...}`` answer of ``mb`` MiB.

    Built once per size: every huge answer then writes the same bytes object.
    """
    return response(200, huge_body(mb))


def throttled(retry_after: str) -> bytes:
    """A 429 answer with ``Retry-After: retry_after`` (any text, odd ones included)."""
    return response(429, b'{"detail":"too many requests"}', extra=(f"Retry-After: {retry_after}",))
