"""The one display timezone of the UI: every time on every screen is shown and typed in it.

``settings.display_timezone`` names it; empty means the machine's own zone.
The machine's zone is found as an IANA name when it can be (``TZ``, then the
``/etc/localtime`` link), so summer time is right; otherwise as the fixed
offset the machine has now.
"""

from __future__ import annotations

import os
from datetime import datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from notifier_tui.settings.config import Settings

_LOCALTIME = Path("/etc/localtime")


def machine_zone(localtime: Path = _LOCALTIME) -> tzinfo:
    """The machine's timezone, by IANA name when it has one."""
    candidates = [os.environ.get("TZ", "").removeprefix(":")]
    try:
        target = str(localtime.resolve())
    except OSError:
        target = ""
    if "zoneinfo/" in target:
        candidates.append(target.split("zoneinfo/", 1)[1])
    for name in candidates:
        if name and not name.startswith("/"):
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    zone = datetime.now().astimezone().tzinfo
    assert zone is not None  # astimezone() always sets one
    return zone


def display_zone(settings: Settings) -> tzinfo:
    """The zone the UI shows times in: ``display_timezone``, else the machine's."""
    name = str(getattr(settings, "display_timezone", "") or "")
    return ZoneInfo(name) if name else machine_zone()
