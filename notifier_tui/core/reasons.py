"""Why a message is not (yet) sent: one enum, stored beside the human text.

Every message row carries ``error_class`` (one of :class:`ErrorClass`, or NULL
while nothing went wrong) next to ``last_error``, the human text. The report,
the metrics, ``stats --json`` and the UI group by the column; nothing parses
the text. The sender's own reasons are written with the texts defined here and
nowhere else.
"""

from __future__ import annotations

import enum


class ErrorClass(enum.StrEnum):
    """The class of the last thing that kept a message from being sent."""

    # The gateway's answers (docs/gateway.md's table).
    HTTP_5XX = "http_5xx"
    HTTP_429 = "http_429"
    HTTP_4XX = "http_4xx"
    """Any 4xx that is not 401/403/408/425/429: the message fails for good."""
    TIMEOUT = "timeout"
    CONNECT = "connect"
    """Connection refused, reset or closed before an answer."""
    BAD_ANSWER = "bad_answer"
    """HTTP 200 without a JSON object whose integer ``code`` is 0, or an oversized body."""
    CREDENTIALS = "credentials"
    OTHER = "other"
    """A gateway failure none of the classes above names (an HTTP 3xx, say)."""

    # The sender's and the store's own.
    NOT_SENT_BEFORE_END = "not_sent_before_end"
    WINDOW_AFTER_END = "window_after_end"
    CLIENT_DELETED = "client_deleted"
    CLIENT_NO_LONGER_MATCHES = "client_no_longer_matches"
    MAILING_CANCELLED = "mailing_cancelled"
    STOP_LISTED = "stop_listed"

    @property
    def from_gateway(self) -> bool:
        """True for an answer (or a missing one) of the gateway's, False for our own."""
        return self in GATEWAY_CLASSES

    @property
    def label(self) -> str:
        """The short label shown in tables and the report."""
        return LABELS[self]


GATEWAY_CLASSES: frozenset[ErrorClass] = frozenset(
    {
        ErrorClass.HTTP_5XX,
        ErrorClass.HTTP_429,
        ErrorClass.HTTP_4XX,
        ErrorClass.TIMEOUT,
        ErrorClass.CONNECT,
        ErrorClass.BAD_ANSWER,
        ErrorClass.CREDENTIALS,
        ErrorClass.OTHER,
    }
)

LABELS: dict[ErrorClass, str] = {
    ErrorClass.HTTP_5XX: "HTTP 5xx",
    ErrorClass.HTTP_429: "HTTP 429",
    ErrorClass.HTTP_4XX: "HTTP 4xx",
    ErrorClass.TIMEOUT: "timeout",
    ErrorClass.CONNECT: "connect",
    ErrorClass.BAD_ANSWER: "bad answer",
    ErrorClass.CREDENTIALS: "credentials",
    ErrorClass.OTHER: "other",
    ErrorClass.NOT_SENT_BEFORE_END: "not sent before end",
    ErrorClass.WINDOW_AFTER_END: "window opens after end",
    ErrorClass.CLIENT_DELETED: "client deleted",
    ErrorClass.CLIENT_NO_LONGER_MATCHES: "client no longer matches",
    ErrorClass.MAILING_CANCELLED: "mailing cancelled",
    ErrorClass.STOP_LISTED: "stop-listed",
}

# The human texts the sender and the store write into ``last_error`` for their
# own reasons. Defined once: every writer uses these constants.
REASON_TEXT: dict[ErrorClass, str] = {
    ErrorClass.NOT_SENT_BEFORE_END: "not sent before end",
    ErrorClass.WINDOW_AFTER_END: "send window opens only after the mailing ends",
    ErrorClass.CLIENT_DELETED: "client deleted",
    ErrorClass.CLIENT_NO_LONGER_MATCHES: "client no longer matches",
    ErrorClass.MAILING_CANCELLED: "mailing cancelled",
    ErrorClass.STOP_LISTED: "phone is on the stop list",
}


def reason_text(cls: ErrorClass) -> str:
    """The ``last_error`` text for one of the sender's own classes."""
    return REASON_TEXT[cls]
