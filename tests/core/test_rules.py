"""Domain rules: validation, normalisation, audiences, send windows, time input."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from notifier_tui.core import rules
from notifier_tui.core.errors import ValidationError
from notifier_tui.core.rules import MailingState, SendWindow

BERLIN = ZoneInfo("Europe/Berlin")
ZONES = (
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Lord_Howe",  # DST shifts by 30 minutes
    "Pacific/Chatham",  # +12:45 / +13:45
    "Europe/Moscow",
    "America/Sao_Paulo",
    "UTC",
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- phones ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "+7 (900) 123-45-67",
        "8 900 123 45 67",
        "79001234567",
        "+79001234567",
        "89001234567",
        "8 (900) 1234567",
        "+7 900 123-45-67",
        "  7.900.123.45.67  ",
    ],
)
def test_phone_spellings_normalise(raw: str) -> None:
    assert rules.normalize_phone(raw) == "79001234567"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "9001234567",  # no country code
        "+8 900 123 45 67",
        "+7 900 123 45 6",  # 10 digits
        "+7 900 123 45 678",  # 12 digits
        "69001234567",
        "7900123456a",
        "+7 900 123 45 67 ext 1",
        "７９００１２３４５６７",  # full-width digits
        "+7+9001234567",
        "79001234567#",
    ],
)
def test_phone_junk_refused(raw: str) -> None:
    with pytest.raises(ValidationError) as err:
        rules.normalize_phone(raw)
    assert err.value.field == "phone"


_SEPARATORS = st.sampled_from([" ", "-", "(", ")", ".", "  ", " - ", "\t"])


@st.composite
def spelled_phones(draw: st.DrawFn) -> tuple[str, str]:
    """A phone in some human spelling, and the 10 digits after the country code."""
    digits = draw(st.text("0123456789", min_size=10, max_size=10))
    prefix = draw(st.sampled_from(["+7", "8", "7"]))
    out = []
    for ch in prefix + digits:
        out.append(ch)
        if draw(st.booleans()) and draw(st.booleans()):
            out.append(draw(_SEPARATORS))
    lead = draw(st.sampled_from(["", " ", "  "]))
    return lead + "".join(out) + draw(st.sampled_from(["", " "])), digits


@given(spelled_phones())
def test_phone_property_spellings(case: tuple[str, str]) -> None:
    raw, digits = case
    assert rules.normalize_phone(raw) == "7" + digits


def _phone_oracle(raw: str) -> str | None:
    """An independent statement of the rule: +7/7/8 then exactly ten ASCII digits."""
    bare = re.sub(r"[\s\-().]", "", raw.strip())
    m = re.fullmatch(r"(?:\+7|7|8)([0-9]{10})", bare)
    return "7" + m.group(1) if m else None


@given(st.text(alphabet=st.sampled_from("0123456789+78 -().x٣\n"), max_size=18) | st.text())
@example("+7 900 123 45 67")
def test_phone_property_matches_oracle(raw: str) -> None:
    expected = _phone_oracle(raw)
    if expected is None:
        with pytest.raises(ValidationError) as err:
            rules.normalize_phone(raw)
        assert err.value.field == "phone"
    else:
        assert rules.normalize_phone(raw) == expected


# --- operator codes, tags, time zones, text ----------------------------------------------


def test_operator_derived_from_digits_2_to_4() -> None:
    assert rules.operator_from_phone("79001234567") == "900"
    assert rules.validate_client("8 (912) 000-00-00", "", "UTC").operator_code == "912"


def test_operator_explicit() -> None:
    fields = rules.validate_client("79001234567", "vip", "UTC", operator_code=" 123 ")
    assert fields.operator_code == "123"
    assert fields.phone == "79001234567"


@pytest.mark.parametrize("code", ["12", "1234", "abc", "9 0", "９００", "٩٠٠", "12a"])
def test_operator_junk_refused(code: str) -> None:
    with pytest.raises(ValidationError) as err:
        rules.validate_operator_code(code)
    assert err.value.field == "operator_code"


@given(st.text(max_size=5))
def test_operator_property(code: str) -> None:
    if re.fullmatch(r"[0-9]{3}", code.strip()):
        assert rules.validate_operator_code(code) == code.strip()
    else:
        with pytest.raises(ValidationError):
            rules.validate_operator_code(code)


def test_tag_rules() -> None:
    assert rules.validate_tag(None) == ""
    assert rules.validate_tag("  vip ") == "vip"
    assert rules.validate_tag("x" * 64) == "x" * 64
    for bad in ("x" * 65, "a\nb", "a\tb"):
        with pytest.raises(ValidationError) as err:
            rules.validate_tag(bad)
        assert err.value.field == "tag"


@pytest.mark.parametrize("name", ["Europe/Moscow", "America/New_York", "UTC", "Asia/Kolkata"])
def test_timezone_ok(name: str) -> None:
    assert rules.validate_timezone(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        "../etc",
        "../../etc/passwd",
        "/etc/localtime",
        "Europe/../Europe/Moscow",
        "Mars/Olympus_Mons",
        "Europe",
        "zone.tab",
        "Europe/Moscow\x00",
        "+03:00",
    ],
)
def test_timezone_junk_refused(name: str) -> None:
    with pytest.raises(ValidationError) as err:
        rules.validate_timezone(name)
    assert err.value.field == "timezone"


@given(st.text(max_size=30))
def test_timezone_never_crashes(name: str) -> None:
    try:
        assert rules.validate_timezone(name) == name.strip()
    except ValidationError as err:
        assert err.field == "timezone"


def test_text_bounds() -> None:
    assert rules.validate_text("x") == "x"
    assert rules.validate_text("я" * 2000) == "я" * 2000
    for bad in ("", "   ", "\n", "x" * 2001):
        with pytest.raises(ValidationError) as err:
            rules.validate_text(bad)
        assert err.value.field == "text"


def test_validate_period() -> None:
    start = utc(2026, 1, 1, 9)
    rules.validate_period(start, start + timedelta(seconds=1))
    rules.validate_period(start, (start + timedelta(hours=1)).astimezone(BERLIN))
    with pytest.raises(ValidationError) as err:
        rules.validate_period(start, start)
    assert err.value.field == "end_at"
    with pytest.raises(ValidationError) as err:
        rules.validate_period(start, start - timedelta(hours=1))
    assert err.value.field == "end_at"
    with pytest.raises(ValidationError) as err:
        rules.validate_period(start.replace(tzinfo=None), start + timedelta(hours=1))
    assert err.value.field == "start_at"
    with pytest.raises(ValidationError) as err:
        rules.validate_period(start, datetime(2026, 1, 2))
    assert err.value.field == "end_at"


def test_code_and_tag_sets() -> None:
    assert rules.normalize_codes(["900", " 901", ""]) == {"900", "901"}
    assert rules.normalize_tags(["a", "", " a "]) == {"a"}
    with pytest.raises(ValidationError):
        rules.normalize_codes(["90"])


# --- windows -------------------------------------------------------------------------------


def test_parse_window_plain_and_wrapping() -> None:
    w = rules.parse_window("09:00-21:00")
    assert w == SendWindow(time(9), time(21))
    assert not w.wraps
    assert str(w) == "09:00-21:00"
    assert w.contains(time(9)) and w.contains(time(20, 59)) and not w.contains(time(21))

    night = rules.parse_window(" 22:00 - 6:00 ")
    assert night == SendWindow(time(22), time(6))
    assert night.wraps
    assert str(night) == "22:00-06:00"
    for t, inside in [(time(22), True), (time(23, 59), True), (time(0), True), (time(5, 59), True)]:
        assert night.contains(t) is inside
    for t in (time(6), time(12), time(21, 59)):
        assert not night.contains(t)


@pytest.mark.parametrize("text", [None, "", "   "])
def test_parse_window_empty_means_none(text: str | None) -> None:
    assert rules.parse_window(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "25:00-06:00",
        "09:00-24:00",
        "09:60-10:00",
        "09:00-09:00",
        "junk",
        "9-21",
        "09:00–21:00",  # en dash
        "09:00-21:00-22:00",
        "０９:００-21:00",  # full-width digits
        "09:00",
    ],
)
def test_parse_window_refused(text: str) -> None:
    with pytest.raises(ValidationError) as err:
        rules.parse_window(text)
    assert err.value.field == "window"


def test_no_window_always_open() -> None:
    now = utc(2026, 1, 1, 3)
    assert rules.window_is_open(None, "UTC", now)
    assert rules.next_window_open(None, "UTC", now) == now


def test_window_in_client_zone() -> None:
    w = rules.parse_window("09:00-21:00")
    now = utc(2026, 3, 2, 7)  # 10:00 in Moscow, 02:00 in New York
    assert rules.window_is_open(w, "Europe/Moscow", now)
    assert not rules.window_is_open(w, "America/New_York", now)
    assert rules.next_window_open(w, "America/New_York", now) == utc(2026, 3, 2, 14)
    assert rules.next_window_open(w, ZoneInfo("Europe/Moscow"), now) == now


def test_wrapping_window_opens_in_the_evening() -> None:
    w = rules.parse_window("22:00-06:00")
    # 12:00 in Moscow (UTC+3, no DST): opens at 22:00 local.
    assert rules.next_window_open(w, "Europe/Moscow", utc(2026, 6, 1, 9)) == utc(2026, 6, 1, 19)
    assert rules.window_is_open(w, "Europe/Moscow", utc(2026, 6, 1, 2, 59))
    assert not rules.window_is_open(w, "Europe/Moscow", utc(2026, 6, 1, 3))


def test_berlin_spring_forward_gap_opens_at_transition() -> None:
    # 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00 UTC). 02:30 never happens.
    w = rules.parse_window("02:30-05:00")
    got = rules.next_window_open(w, BERLIN, utc(2026, 3, 29, 0, 0))
    assert got == utc(2026, 3, 29, 1, 0)
    assert got.astimezone(BERLIN).strftime("%H:%M %Z") == "03:00 CEST"
    assert not rules.window_is_open(w, BERLIN, got - timedelta(microseconds=1))


def test_berlin_spring_forward_window_inside_the_gap_waits_a_day() -> None:
    w = rules.parse_window("02:15-02:45")  # entirely inside the missing hour
    got = rules.next_window_open(w, BERLIN, utc(2026, 3, 28, 23, 0))
    assert got == utc(2026, 3, 30, 0, 15)  # 02:15 CEST the next day


def test_berlin_fall_back_first_occurrence_then_second() -> None:
    # 2026-10-25: 03:00 CEST falls back to 02:00 CET (01:00 UTC); 02:30 happens twice.
    w = rules.parse_window("02:30-02:45")
    assert rules.next_window_open(w, BERLIN, utc(2026, 10, 24, 23, 0)) == utc(2026, 10, 25, 0, 30)
    # After the first pass closed (02:50 CEST), it opens again at 02:30 CET.
    assert rules.next_window_open(w, BERLIN, utc(2026, 10, 25, 0, 50)) == utc(2026, 10, 25, 1, 30)
    assert rules.window_is_open(w, BERLIN, utc(2026, 10, 25, 1, 40))


def test_fall_back_into_the_window_opens_it_at_once() -> None:
    # 2026-10-25 01:00 UTC: 02:59 CEST becomes 02:00 CET, back inside 00:00-02:30.
    w = rules.parse_window("00:00-02:30")
    got = rules.next_window_open(w, BERLIN, utc(2026, 10, 25, 0, 40))  # 02:40 CEST
    assert got == utc(2026, 10, 25, 1, 0)
    # Chatham falls back 03:45 -> 02:45 (+13:45 -> +12:45) at 2025-04-05 14:00 UTC.
    chatham = ZoneInfo("Pacific/Chatham")
    w = rules.parse_window("04:00-03:00")
    assert rules.next_window_open(w, chatham, utc(2025, 4, 5, 13, 59, 59)) == utc(2025, 4, 5, 14)


def test_lord_howe_half_hour_gap() -> None:
    # 2026-10-04 02:00 +10:30 jumps to 02:30 +11:00, at 15:30 UTC the day before.
    zone = ZoneInfo("Australia/Lord_Howe")
    w = rules.parse_window("02:10-03:00")
    got = rules.next_window_open(w, zone, utc(2026, 10, 3, 15, 0))
    assert got == utc(2026, 10, 3, 15, 30)
    assert got.astimezone(zone).strftime("%H:%M") == "02:30"


@cache
def _transitions(zone: str) -> tuple[datetime, ...]:
    """UTC instants in 2025-2027 where the zone's offset changes (to the second)."""
    tz = ZoneInfo(zone)
    out = []
    t = utc(2025, 1, 1)
    step = timedelta(hours=6)
    while t < utc(2028, 1, 1):
        if t.astimezone(tz).utcoffset() != (t + step).astimezone(tz).utcoffset():
            lo, hi = t, t + step
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if mid.astimezone(tz).utcoffset() == lo.astimezone(tz).utcoffset():
                    lo = mid
                else:
                    hi = mid
            out.append(hi.replace(microsecond=0))
        t += step
    return tuple(out) or (utc(2026, 1, 1),)


windows = st.tuples(
    st.integers(0, 23), st.integers(0, 59), st.integers(0, 23), st.integers(0, 59)
).filter(lambda t: t[:2] != t[2:])


@st.composite
def instants(draw: st.DrawFn, zone: str) -> datetime:
    """Anywhere in 2025-2027, or within two days of one of the zone's DST changes."""
    if draw(st.booleans()):
        return draw(
            st.datetimes(datetime(2025, 1, 1), datetime(2027, 12, 31), timezones=st.just(UTC))
        )
    base = draw(st.sampled_from(_transitions(zone)))
    return base + timedelta(seconds=draw(st.integers(-2 * 86400, 2 * 86400)))


@st.composite
def window_cases(draw: st.DrawFn) -> tuple[SendWindow, str, datetime]:
    h1, m1, h2, m2 = draw(windows)
    window = rules.parse_window(f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}")
    assert window is not None
    zone = draw(st.sampled_from(ZONES))
    return window, zone, draw(instants(zone))


@settings(max_examples=300, deadline=None)
@given(window_cases())
def test_next_window_open_property(case: tuple[SendWindow, str, datetime]) -> None:
    window, zone, instant = case
    got = rules.next_window_open(window, zone, instant)
    assert got >= instant
    assert got - instant <= timedelta(days=2)
    assert rules.window_is_open(window, zone, got)
    if rules.window_is_open(window, zone, instant):
        assert got == instant
        return
    # Nothing earlier is open: just before the answer, and at samples in between.
    just_before = got - timedelta(microseconds=1)
    if just_before >= instant:
        assert not rules.window_is_open(window, zone, just_before)
    if got - timedelta(seconds=1) >= instant:
        assert not rules.window_is_open(window, zone, got - timedelta(seconds=1))
    span = got - instant
    for i in range(24):
        point = instant + span * i / 24
        assert not rules.window_is_open(window, zone, point), (point, got)


@given(window_cases())
def test_window_is_open_agrees_with_local_time(case: tuple[SendWindow, str, datetime]) -> None:
    window, zone, instant = case
    local = instant.astimezone(ZoneInfo(zone)).time()
    if window.wraps:
        expected = local >= window.start or local < window.end
    else:
        expected = window.start <= local < window.end
    assert rules.window_is_open(window, zone, instant) is expected


# --- audience ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("codes", "tags", "op", "tag", "expected"),
    [
        ((), (), "900", "", True),
        ((), (), "900", "vip", True),
        (("900",), (), "900", "", True),
        (("900",), (), "901", "", False),
        ((), ("vip",), "900", "vip", True),
        ((), ("vip",), "900", "", False),
        (("900", "901"), ("vip", "new"), "901", "new", True),
        (("900",), ("vip",), "900", "new", False),
        (("900",), ("vip",), "901", "vip", False),
        (("900",), ("vip",), "901", "new", False),
    ],
)
def test_audience_truth_table(
    codes: tuple[str, ...], tags: tuple[str, ...], op: str, tag: str, expected: bool
) -> None:
    assert rules.audience_matches(frozenset(codes), frozenset(tags), op, tag) is expected


codes_st = st.frozensets(st.sampled_from(["900", "901", "902", "950"]), max_size=3)
tags_st = st.frozensets(st.sampled_from(["a", "b", "vip", "x y"]), max_size=3)


@given(codes_st, tags_st, st.sampled_from(["900", "901", "999"]), st.sampled_from(["", "a", "z"]))
def test_audience_property(codes: frozenset[str], tags: frozenset[str], op: str, tag: str) -> None:
    result = rules.audience_matches(codes, tags, op, tag)
    # Empty filters match everyone; the client's own values always match.
    assert rules.audience_matches(frozenset(), frozenset(), op, tag)
    assert rules.audience_matches(codes | {op}, tags | {tag}, op, tag)
    # Widening a filter never loses a client; each filter alone is necessary.
    if result:
        wider_codes = codes | {"777"} if codes else codes
        wider_tags = tags | {"w"} if tags else tags
        assert rules.audience_matches(wider_codes, wider_tags, op, tag)
        assert rules.audience_matches(codes, frozenset(), op, tag)
        assert rules.audience_matches(frozenset(), tags, op, tag)
    if codes and op not in codes:
        assert not result
    if tags and tag not in tags:
        assert not result


# --- mailing state -------------------------------------------------------------------------

START, END = utc(2026, 1, 1, 9), utc(2026, 1, 1, 18)
BEFORE, DURING, AFTER = utc(2026, 1, 1, 8), utc(2026, 1, 1, 12), utc(2026, 1, 1, 18)


@pytest.mark.parametrize(
    ("now", "paused", "cancelled", "total", "open_count", "expected"),
    [
        (BEFORE, False, False, 0, 0, MailingState.SCHEDULED),
        (BEFORE, True, False, 0, 0, MailingState.PAUSED),
        (BEFORE, False, True, 0, 0, MailingState.CANCELLED),
        (DURING, False, False, 0, 0, MailingState.ACTIVE),
        (DURING, False, False, 10, 3, MailingState.ACTIVE),
        (DURING, True, False, 10, 3, MailingState.PAUSED),
        (DURING, False, False, 10, 0, MailingState.FINISHED),  # every message final
        (DURING, True, False, 10, 0, MailingState.FINISHED),
        (DURING, False, True, 10, 3, MailingState.CANCELLED),
        (AFTER, False, False, 10, 3, MailingState.FINISHED),  # now >= end
        (AFTER, True, False, 0, 0, MailingState.FINISHED),
        (AFTER, False, True, 10, 0, MailingState.CANCELLED),
    ],
)
def test_mailing_state_table(
    now: datetime,
    paused: bool,
    cancelled: bool,
    total: int,
    open_count: int,
    expected: MailingState,
) -> None:
    state = rules.mailing_state(
        start_at=START,
        end_at=END,
        paused=paused,
        cancelled=cancelled,
        now=now,
        total=total,
        open_count=open_count,
    )
    assert state is expected


# --- time input ----------------------------------------------------------------------------

NOW = utc(2026, 3, 2, 9, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        (" NOW ", NOW),
        ("+10m", NOW + timedelta(minutes=10)),
        ("-2h", NOW - timedelta(hours=2)),
        ("+1d", NOW + timedelta(days=1)),
        ("+ 30s", NOW + timedelta(seconds=30)),
        ("+1w", NOW + timedelta(weeks=1)),
        ("2026-12-01T09:00+03:00", utc(2026, 12, 1, 6)),
        ("2026-12-01T09:00Z", utc(2026, 12, 1, 9)),
        ("2026-12-01T09:00", utc(2026, 12, 1, 8)),  # local Berlin, CET
        ("2026-07-01 09:00", utc(2026, 7, 1, 7)),  # local Berlin, CEST
        ("2026-07-01", utc(2026, 6, 30, 22)),
    ],
)
def test_parse_when(text: str, expected: datetime) -> None:
    got = rules.parse_when(text, NOW, BERLIN)
    assert got == expected
    assert got.utcoffset() is not None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "tomorrow",
        "10m",
        "+10x",
        "+m",
        "2026-13-01T09:00",
        "2026-12-01T25:00",
        "+99999999999d",  # overflows timedelta
        "+9999999d",  # overflows datetime
        "9999-12-31T23:59:59-05:00",  # out of range once in UTC
        "0001-01-01T00:00+05:00",
    ],
)
def test_parse_when_refused(text: str) -> None:
    with pytest.raises(ValidationError) as err:
        rules.parse_when(text, NOW, BERLIN, field="start_at")
    assert err.value.field == "start_at"


@given(st.datetimes(datetime(1990, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC)))
def test_parse_when_iso_round_trip(when: datetime) -> None:
    assert rules.parse_when(when.isoformat(), NOW, BERLIN) == when
    assert rules.parse_when(when.astimezone(BERLIN).isoformat(), NOW, BERLIN) == when


@given(st.text(max_size=40))
@example("+10000000000000000000000m")
def test_parse_when_only_raises_validation_error(text: str) -> None:
    try:
        got = rules.parse_when(text, NOW, BERLIN, field="end_at")
    except ValidationError as err:
        assert err.field == "end_at"
    else:
        assert got.utcoffset() is not None


@given(st.sampled_from(["s", "m", "h", "d", "w"]), st.integers(0, 10_000), st.booleans())
def test_parse_when_relative_property(unit: str, amount: int, forward: bool) -> None:
    sign = "+" if forward else "-"
    names = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    delta = timedelta(**{names[unit]: amount})
    assert rules.parse_when(f"{sign}{amount}{unit}", NOW, BERLIN) == (
        NOW + delta if forward else NOW - delta
    )
