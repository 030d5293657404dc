"""Secrets kept in files: the token file, and config files others can read.

A ``--token`` flag shows in ``ps`` and ``/proc/PID/cmdline``; a file readable
by its owner only does not. These helpers read the token file and spot files
that hold a secret but let the group or others read them.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from notifier_tui.core.secret import Secret, mask_url
from notifier_tui.settings.coerce import refuse

SECRET_KEYS = ("token", "smtp_password", "api_token")
"""Config keys whose values are secrets."""

URL_KEYS = ("db", "base_url")
"""Config keys whose values may be URLs with a password in them."""


def token_path(text: str) -> Path:
    """The token file's path, ``~`` expanded."""
    return Path(os.path.expanduser(text))


def read_token_file(text: str, source: str) -> Secret:
    """The token in the file ``text`` names: its content, surrounding whitespace removed.

    Raises:
        ValidationError: the file cannot be read or is empty (a ConfigError
            when the path came from the environment or a config file).
    """
    path = token_path(text)
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise refuse("token_file", f"{path} is not UTF-8 text", source) from None
    except OSError as err:
        raise refuse("token_file", f"cannot read {path}: {err.strerror or err}", source) from None
    token = raw.strip()
    if not token:
        raise refuse("token_file", f"{path} is empty", source)
    return Secret(token)


def secrets_in(data: Mapping[str, Any]) -> list[str]:
    """The keys of a config file's ``data`` that hold a secret (a URL password counts)."""
    found = [k for k in SECRET_KEYS if data.get(k)]
    found += [k for k in URL_KEYS if isinstance(data.get(k), str) and mask_url(data[k]) != data[k]]
    return found


def readable_by_others(path: Path) -> bool:
    """Whether the group or others may read ``path`` (False when it cannot be checked)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return bool(mode & (stat.S_IRGRP | stat.S_IROTH))


def exposure_warning(path: Path, keys: list[str]) -> str:
    """The one line that says a file holding secrets is readable by others."""
    what = ", ".join(keys)
    return f"{path} holds a secret ({what}) and other users can read it; run: chmod 600 {path}"
