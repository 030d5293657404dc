"""Turning raw setting values (TOML, env text, flags) into typed ones, and checking them.

Errors speak the user's words: ``must be a whole number``, not ``must be a
int``, and name where the value came from (see :func:`field_for`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from notifier_tui.core.errors import ValidationError
from notifier_tui.core.rules import validate_timezone
from notifier_tui.core.secret import Secret, mask_url
from notifier_tui.settings.errors import ConfigError

FLAG = "flag"
ENV = "env "
FILE = "file "
DEFAULT = "default"

_LABELS = {
    "int": "a whole number",
    "float": "a number",
    "str": "text",
    "Path": "a path",
    "Path | str": "a path or a store URL",
    "Secret": "text",
}


def level(source: str | None) -> int:
    """How strong a source is: flag 3 > env 2 > file 1 > default 0."""
    if source is None or source == DEFAULT:
        return 0
    if source == FLAG:
        return 3
    if source.startswith(ENV):
        return 2
    return 1


def field_for(name: str, source: str | None) -> str:
    """How an error names the setting: by key for a flag, by variable or by file and key."""
    if source is not None and source.startswith(ENV):
        return source[len(ENV) :]
    if source is not None and source.startswith(FILE):
        return f"{source[len(FILE) :]}: {name}"
    return name


def refuse(name: str, rule: str, source: str | None) -> ValidationError:
    """The error for a bad value of ``name``: usage for a flag, config otherwise."""
    if level(source) in (1, 2):
        return ConfigError(field_for(name, source), rule)
    return ValidationError(name, rule)


def _store_location(name: str, value: Any, source: str) -> Path | str:
    """A store (``db``): a file as a Path; a URL as given, once it reads as a store URL."""
    if isinstance(value, Path):
        return value
    # Imported here: the store package is heavy, and most values are the default Path.
    from notifier_tui.core.store.location import StoreLocation

    text = str(value)
    try:
        location = StoreLocation.parse(text)
    except ValueError as err:
        # Its message shows the URL masked; the usual "got {value!r}" would not.
        raise refuse(name, str(err), source) from None
    # A file (plain or sqlite:) as a Path, as always; a PostgreSQL URL as given.
    return location.path if location.path is not None else text


def coerce(name: str, kind: str, value: Any, source: str) -> Any:
    """``value`` as the setting's type (``kind`` is the field's annotation)."""
    try:
        if kind == "Path":
            return Path(os.path.expanduser(str(value)))
        if kind == "Path | str":
            return _store_location(name, value, source)
        if kind == "Secret":
            return value if isinstance(value, Secret) else Secret(str(value))
        if isinstance(value, bool):
            raise TypeError("a boolean is not a number")
        if kind == "int":
            number = float(value)
            if not number.is_integer():
                raise ValueError("not a whole number")
            return int(number)
        if kind == "float":
            number = float(value)
            if not math.isfinite(number):
                raise refuse(name, f"must be a finite number, got {value!r}", source)
            return number
        if not isinstance(value, str | int | float):
            raise TypeError("not text")
        return str(value)
    except (TypeError, ValueError, OverflowError) as err:
        if isinstance(err, ValidationError):
            raise
        label = _LABELS.get(kind, kind)
        raise refuse(name, f"must be {label}, got {value!r}", source) from None


def check(values: Mapping[str, Any], sources: Mapping[str, str]) -> None:
    """Cross-field and range rules; the first broken one raises."""

    def bad(name: str, rule: str) -> ValidationError:
        return refuse(name, rule, sources.get(name))

    if not 1 <= values["concurrency"] <= 2000:
        raise bad("concurrency", "must be between 1 and 2000")
    if values["rate_limit"] < 0:
        raise bad("rate_limit", "must be 0 (unlimited) or positive")
    if values["timeout"] <= 0:
        raise bad("timeout", "must be positive")
    if values["stop_timeout"] <= 0:
        raise bad("stop_timeout", "must be positive")
    if values["credentials_probe_interval"] <= 0:
        raise bad("credentials_probe_interval", "must be positive")
    _check_breaker(values, bad)
    if not str(values["base_url"]).startswith(("http://", "https://")):
        shown = mask_url(str(values["base_url"]))
        raise bad("base_url", f"must start with http:// or https://, got {shown!r}")
    if values["smtp_security"] not in ("starttls", "ssl", "none"):
        raise bad("smtp_security", "must be starttls, ssl or none")
    if str(values["log_level"]).upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise bad("log_level", "must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
    for name in ("metrics_port", "api_port"):
        if not 0 <= values[name] <= 65535:
            raise bad(name, "must be 0 (off) or a port number up to 65535")
    if values["event_loop"] not in ("auto", "uvloop", "asyncio"):
        raise bad("event_loop", "must be auto, uvloop or asyncio")
    for name in ("default_timezone", "display_timezone"):
        zone = str(values.get(name) or "")
        if name == "display_timezone" and not zone:
            continue  # empty: the machine's own zone
        try:
            validate_timezone(zone)
        except ValidationError as err:
            raise bad(name, err.rule) from None


def _check_breaker(values: Mapping[str, Any], bad: Any) -> None:
    """The breaker's thresholds, with the rule each one breaks in the user's words."""
    if not 1 <= values["breaker_min_calls"] <= values["breaker_window"]:
        raise bad("breaker_min_calls", "must be at least 1 and at most breaker_window")
    for name in ("breaker_failure_rate", "breaker_close_share"):
        if not 0 < values[name] <= 1:
            raise bad(name, "must be a share above 0 and at most 1")
    if values["breaker_consecutive_failures"] < 0:
        raise bad("breaker_consecutive_failures", "must be 0 (off) or more")
    if not 0 < values["breaker_probe_interval"] <= values["breaker_max_probe_interval"]:
        raise bad(
            "breaker_probe_interval", "must be positive and at most breaker_max_probe_interval"
        )
    if values["breaker_half_open_calls"] < 1:
        raise bad("breaker_half_open_calls", "must be at least 1")
