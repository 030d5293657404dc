"""The display zone: display_timezone, else the machine's zone as TZ or /etc/localtime name it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from notifier_tui.settings.zones import SystemLocal, display_zone, machine_zone, zone_name

ZONEINFO = Path("/usr/share/zoneinfo")


@pytest.fixture
def tz(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    yield monkeypatch
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    ("value", "key"),
    [("Europe/Berlin", "Europe/Berlin"), (":Asia/Tokyo", "Asia/Tokyo"), ("UTC", "UTC")],
)
def test_tz_names_a_zone(tz: pytest.MonkeyPatch, value: str, key: str) -> None:
    tz.setenv("TZ", value)
    zone = machine_zone()
    assert isinstance(zone, ZoneInfo) and zone.key == key
    assert zone_name(zone) == key


def test_tz_as_a_file_path(tz: pytest.MonkeyPatch) -> None:
    path = ZONEINFO / "America" / "New_York"
    if not path.exists():
        pytest.skip("no system zoneinfo tree")
    tz.setenv("TZ", str(path))
    assert zone_name(machine_zone()) == "America/New_York"


def test_empty_tz_is_utc(tz: pytest.MonkeyPatch) -> None:
    tz.setenv("TZ", "")
    assert machine_zone() is UTC
    assert zone_name(UTC) == "UTC"


def test_a_posix_rule_string_falls_back_to_the_c_library(tz: pytest.MonkeyPatch) -> None:
    tz.setenv("TZ", "ABC-3")  # three hours east of UTC, no DST; zoneinfo has no such name
    time.tzset()
    zone = machine_zone()
    assert isinstance(zone, SystemLocal)
    noon = datetime(2030, 7, 1, 12, tzinfo=UTC)
    assert noon.astimezone(zone).hour == 15
    assert zone_name(zone, noon) == "ABC"


def test_display_zone_prefers_the_setting(tz: pytest.MonkeyPatch) -> None:
    tz.setenv("TZ", "Europe/Berlin")
    assert display_zone("Asia/Tokyo") == ZoneInfo("Asia/Tokyo")
    assert display_zone("") == ZoneInfo("Europe/Berlin")
