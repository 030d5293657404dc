"""Domain rules as pure functions: validation, normalisation, audience, send windows.

Nothing here touches the store, the clock or the network, so every rule can be
tested exhaustively (see ``tests/core/test_rules.py``). Character rules live in
:mod:`~notifier_tui.core.characters` and time input (``WHEN``) in
:mod:`~notifier_tui.core.when`; both are re-exported here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from notifier_tui.core.characters import PHONE_CONTROLS, TEXT_CONTROLS, check_characters
from notifier_tui.core.errors import ValidationError
from notifier_tui.core.when import LocalTime as LocalTime
from notifier_tui.core.when import local_time_kind as local_time_kind
from notifier_tui.core.when import parse_when as parse_when

MAX_TAG = 64
MAX_TEXT = 2000

# Characters people put between digits when they write a phone number.
_PHONE_NOISE = re.compile(r"[\s\-().]")
# ASCII digits only: in Python's re, \d also matches "９" and "٩", which int() accepts
# but which would be stored as operator codes no filter ever matches.
_OPERATOR = re.compile(r"[0-9]{3}")
_WINDOW = re.compile(r"\s*([0-9]{1,2}):([0-9]{2})\s*-\s*([0-9]{1,2}):([0-9]{2})\s*")

# Files in the zoneinfo directory that are not zones: "localtime" is a copy of
# this machine's zone, "posixrules" a compiler default; "posix/" and "right/"
# are duplicate trees ("right/" counts leap seconds, so its clocks are off).
_NOT_ZONES = frozenset({"localtime", "posixrules", "factory"})
_NOT_ZONE_TREES = ("posix/", "right/")


class MessageStatus(StrEnum):
    """Where a message is in its life."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


FINAL_STATUSES: frozenset[str] = frozenset(
    {MessageStatus.SENT, MessageStatus.FAILED, MessageStatus.EXPIRED, MessageStatus.CANCELLED}
)
ALL_STATUSES: tuple[str, ...] = tuple(s.value for s in MessageStatus)


class MailingState(StrEnum):
    """A mailing's state, always derived from its fields and the clock."""

    SCHEDULED = "scheduled"
    ACTIVE = "active"
    PAUSED = "paused"
    FINISHED = "finished"
    CANCELLED = "cancelled"


# --- clients -----------------------------------------------------------------


def normalize_phone(raw: str) -> str:
    """Return the phone as ``7XXXXXXXXXX`` or raise.

    Accepts ``+7 900 123-45-67``, ``8 (900) 1234567`` and ``79001234567``.
    ASCII whitespace (tab, line breaks) separates like a space; every other
    control character is refused before separators are dropped (``\\s``
    would otherwise swallow ``\\x1c``-``\\x1f`` silently).
    """
    check_characters("phone", str(raw), refused=PHONE_CONTROLS)
    text = _PHONE_NOISE.sub("", str(raw).strip())
    if text.startswith("+7"):
        text = text[1:]
    elif text.startswith("8") and len(text) == 11:
        text = "7" + text[1:]
    if len(text) != 11 or not text.isascii() or not text.isdigit() or text[0] != "7":
        raise ValidationError(
            "phone", f"must be 7XXXXXXXXXX (11 digits starting with 7), got {raw!r}"
        )
    return text


def operator_from_phone(phone: str) -> str:
    """The operator code implied by a normalised phone: digits 2-4."""
    return phone[1:4]


def validate_operator_code(code: str) -> str:
    """Return a valid 3-digit operator code or raise."""
    value = str(code).strip()
    if not _OPERATOR.fullmatch(value):
        raise ValidationError("operator_code", f"must be exactly 3 digits, got {code!r}")
    return value


def validate_tag(tag: str | None) -> str:
    """Return a valid tag (may be empty) or raise.

    One line of printable text: no line break, tab or other control character.
    """
    value = check_characters("tag", tag or "").strip()
    if len(value) > MAX_TAG:
        raise ValidationError("tag", f"must be at most {MAX_TAG} characters, got {len(value)}")
    return value


def validate_timezone(name: str) -> str:
    """Return a valid IANA timezone name or raise.

    ``localtime``, ``posixrules``, ``Factory`` and the ``posix/`` and
    ``right/`` trees load with zoneinfo but are not zone names: refused.
    """
    value = str(name).strip()
    # zoneinfo accepts paths like "../x" on some platforms; reject them outright.
    if not value or value.startswith(("/", ".")) or ".." in value:
        raise ValidationError("timezone", f"must be an IANA name like Europe/Moscow, got {name!r}")
    if value.lower() in _NOT_ZONES or value.startswith(_NOT_ZONE_TREES):
        raise ValidationError(
            "timezone",
            f"{name!r} is a file of the zone database, not a zone:"
            " give an IANA name like Europe/Moscow",
        )
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValidationError(
            "timezone", f"must be an IANA name like Europe/Moscow, got {name!r}"
        ) from None
    return value


@dataclass(frozen=True, slots=True)
class ClientFields:
    """A client's validated, normalised fields."""

    phone: str
    operator_code: str
    tag: str
    timezone: str


def validate_client(
    phone: str, tag: str | None, timezone: str, operator_code: str | None = None
) -> ClientFields:
    """Validate and normalise every field of a client; the first bad field raises."""
    norm = normalize_phone(phone)
    op = validate_operator_code(operator_code) if operator_code else operator_from_phone(norm)
    return ClientFields(norm, op, validate_tag(tag), validate_timezone(timezone))


# --- mailings ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SendWindow:
    """A local time-of-day range ``[start, end)``; wraps midnight when start > end."""

    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    @property
    def wraps(self) -> bool:
        return self.start > self.end

    def contains(self, t: time) -> bool:
        """Whether a local time of day falls in the window."""
        if self.wraps:
            return t >= self.start or t < self.end
        return self.start <= t < self.end


def parse_window(text: str | None) -> SendWindow | None:
    """Parse ``HH:MM-HH:MM``; empty means no window."""
    if text is None or not str(text).strip():
        return None
    m = _WINDOW.fullmatch(str(text))
    if not m:
        raise ValidationError("window", f"must be HH:MM-HH:MM, got {text!r}")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValidationError("window", f"hours must be 00-23 and minutes 00-59, got {text!r}")
    start, end = time(h1, m1), time(h2, m2)
    if start == end:
        raise ValidationError(
            "window", "start and end must differ (omit the window to send any time)"
        )
    return SendWindow(start, end)


def window_is_open(window: SendWindow | None, zone: str | tzinfo, instant: datetime) -> bool:
    """Whether the window is open at ``instant`` in the client's timezone."""
    if window is None:
        return True
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    return window.contains(instant.astimezone(tz).time())


def next_window_open(window: SendWindow | None, zone: str | tzinfo, instant: datetime) -> datetime:
    """The first instant at or after ``instant`` when the window is open (UTC).

    Correct across midnight wraps and DST changes: an opening that falls in a
    spring-forward gap opens at the transition, an ambiguous one at its first
    occurrence, and a fall-back that puts local time back inside the window
    (``00:00-02:30`` in Berlin at 03:00 CEST -> 02:00 CET) opens it at once.
    """
    if window is None or window_is_open(window, zone, instant):
        return instant
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    local_day = instant.astimezone(tz).date()
    for offset in range(0, 3):
        day = local_day + timedelta(days=offset)
        candidates = sorted(
            datetime.combine(day, window.start, tzinfo=tz).replace(fold=fold).astimezone(UTC)
            for fold in (0, 1)
        )
        for cand in candidates:
            if cand > instant and window_is_open(window, tz, cand):
                return _opened_by_offset_change(
                    window, tz, instant, _earliest_open(window, tz, instant, cand)
                )
    raise AssertionError("a window with start != end opens within two days")  # pragma: no cover


def _earliest_open(window: SendWindow, tz: tzinfo, lo: datetime, hi: datetime) -> datetime:
    """Narrow ``hi`` down to the first open second after ``lo``.

    Only a DST gap makes the naive candidate late; the bisection costs ~20
    conversions and runs only then.
    """
    if hi.astimezone(tz).time().replace(second=0, microsecond=0) == window.start:
        return hi
    lo_s, hi_s = lo.timestamp(), hi.timestamp()
    while hi_s - lo_s > 1:
        mid = (lo_s + hi_s) / 2
        if window_is_open(window, tz, datetime.fromtimestamp(mid, UTC)):
            hi_s = mid
        else:
            lo_s = mid
    # Transitions fall on whole seconds: the opening is the first whole second past lo.
    first = datetime.fromtimestamp(math.ceil(lo_s), UTC)
    return first if window_is_open(window, tz, first) else datetime.fromtimestamp(hi_s, UTC)


def _opened_by_offset_change(
    window: SendWindow, tz: tzinfo, lo: datetime, hi: datetime
) -> datetime:
    """The UTC-offset change in ``(lo, hi)`` if it opens the window, else ``hi``.

    With one offset, local time runs forward and the window opens only when it
    reaches ``window.start``: those are the candidates. An offset change makes
    local time jump, and a backward jump can land inside the window. Between
    ``lo`` and a candidate at most two days later there is at most one change.
    """
    before = lo.astimezone(tz).utcoffset()
    if hi.astimezone(tz).utcoffset() == before:
        return hi
    lo_s, hi_s = lo.timestamp(), hi.timestamp()
    while hi_s - lo_s > 1:
        mid = (lo_s + hi_s) / 2
        if datetime.fromtimestamp(mid, UTC).astimezone(tz).utcoffset() == before:
            lo_s = mid
        else:
            hi_s = mid
    # Offset changes fall on whole seconds.
    change = datetime.fromtimestamp(math.ceil(lo_s), UTC)
    if change.astimezone(tz).utcoffset() == before:
        change = datetime.fromtimestamp(hi_s, UTC)
    return change if change < hi and window_is_open(window, tz, change) else hi


def validate_text(text: str) -> str:
    """Return the message text or raise.

    Line breaks and tabs are allowed; other control characters are refused
    (see :func:`check_characters`).
    """
    value = check_characters("text", str(text), refused=TEXT_CONTROLS)
    if not value.strip():
        raise ValidationError("text", "must not be empty")
    if len(value) > MAX_TEXT:
        raise ValidationError("text", f"must be at most {MAX_TEXT} characters, got {len(value)}")
    return value


def validate_period(start_at: datetime, end_at: datetime) -> None:
    """Raise unless both instants are timezone-aware and ``end_at > start_at``."""
    for name, value in (("start_at", start_at), ("end_at", end_at)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValidationError(name, "must carry a timezone")
    if end_at <= start_at:
        raise ValidationError("end_at", "must be after start_at")


def normalize_codes(codes: Iterable[str]) -> frozenset[str]:
    """Validate a set of operator codes (empty = any)."""
    return frozenset(validate_operator_code(c) for c in codes if str(c).strip())


def normalize_tags(tags: Iterable[str]) -> frozenset[str]:
    """Validate a set of tags (empty = any)."""
    out = set()
    for tag in tags:
        value = validate_tag(tag)
        if value:
            out.add(value)
    return frozenset(out)


def audience_matches(
    operator_codes: frozenset[str], tags: frozenset[str], client_operator: str, client_tag: str
) -> bool:
    """A client matches when it matches both filters; an empty filter matches any."""
    return (not operator_codes or client_operator in operator_codes) and (
        not tags or client_tag in tags
    )


def mailing_state(
    *,
    start_at: datetime,
    end_at: datetime,
    paused: bool,
    cancelled: bool,
    now: datetime,
    total: int = 0,
    open_count: int = 0,
) -> MailingState:
    """Derive a mailing's state; ``open_count`` counts pending and sending messages."""
    if cancelled:
        return MailingState.CANCELLED
    if now >= end_at:
        return MailingState.FINISHED
    if now >= start_at and total > 0 and open_count == 0:
        return MailingState.FINISHED
    if paused:
        return MailingState.PAUSED
    if now < start_at:
        return MailingState.SCHEDULED
    return MailingState.ACTIVE
