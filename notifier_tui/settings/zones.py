"""The zone readable times are shown in: ``display_timezone``, or the machine's own.

One display zone for every screen and every readable line (the CLI's tables,
the UI), always labelled; JSON keeps ISO 8601 with an offset. An empty
``display_timezone`` means the machine's zone, found as the C library finds
it: ``TZ``, else ``/etc/localtime``. A zone that zoneinfo can load is used as
such, so DST gaps and repeated hours follow the rules of
:func:`notifier_tui.core.rules.parse_when`; a POSIX ``TZ`` string zoneinfo
cannot read falls back to :class:`SystemLocal`.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from notifier_tui.core.errors import ValidationError
from notifier_tui.core.rules import validate_timezone

_LOCALTIME = Path("/etc/localtime")


class SystemLocal(tzinfo):
    """The machine's local timezone with its DST rules, as the C library knows them.

    ``datetime.now().astimezone().tzinfo`` is a fixed offset: in winter it
    would read a summer time an hour off. A naive ``astimezone()`` asks the C
    library for the offset in force at that very date instead.
    """

    def utcoffset(self, dt: datetime | None) -> timedelta:
        return self._local(dt).utcoffset() or timedelta(0)

    def dst(self, dt: datetime | None) -> timedelta | None:
        return self._local(dt).dst()

    def tzname(self, dt: datetime | None) -> str | None:
        return self._local(dt).tzname()

    def fromutc(self, dt: datetime) -> datetime:
        # The default algorithm needs dst(), which the C library does not give; ask it
        # for the local wall-clock time of that instant directly.
        instant = dt.replace(tzinfo=UTC).timestamp()
        return datetime.fromtimestamp(instant).replace(tzinfo=self)

    @staticmethod
    def _local(dt: datetime | None) -> datetime:
        base = datetime.now() if dt is None else dt.replace(tzinfo=None)
        return base.astimezone()


def _zone_key(text: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(validate_timezone(text))
    except (ValidationError, ValueError, ZoneInfoNotFoundError):
        return None


def _from_file(path: Path) -> ZoneInfo | None:
    # A symlink into a zoneinfo tree names its zone: /usr/share/zoneinfo/Europe/Berlin.
    try:
        target = str(path.resolve())
    except OSError:
        return None
    _, marker, key = target.rpartition("zoneinfo/")
    if marker and (zone := _zone_key(key)) is not None:
        return zone
    try:
        with open(path, "rb") as fh:
            return ZoneInfo.from_file(fh, key=path.name)
    except (OSError, ValueError):
        return None


def machine_zone() -> tzinfo:
    """This machine's zone: ``TZ`` (a name or a file), else ``/etc/localtime``, else UTC."""
    tz = os.environ.get("TZ")
    if tz is not None:
        text = tz.removeprefix(":")
        if not text:
            return UTC  # glibc: an empty TZ is UTC
        zone = _from_file(Path(text)) if text.startswith("/") else _zone_key(text)
        # A POSIX rule string ("EST5EDT,M3.2.0,M11.1.0"): only the C library reads it.
        return zone if zone is not None else SystemLocal()
    zone = _from_file(_LOCALTIME) if _LOCALTIME.exists() else None
    return zone if zone is not None else UTC


def display_zone(name: str) -> tzinfo:
    """The zone for ``display_timezone``: that IANA name, or the machine's zone if empty."""
    return ZoneInfo(validate_timezone(name)) if name else machine_zone()


def zone_name(zone: tzinfo, at: datetime | None = None) -> str:
    """A label for ``zone``: its IANA key, else its abbreviation at ``at``."""
    key = getattr(zone, "key", None)
    if isinstance(key, str) and key and key != "localtime":
        return key
    if zone is UTC:
        return "UTC"
    return zone.tzname(at or datetime.now(UTC)) or "local"
