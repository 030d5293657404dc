"""The audit trail's vocabulary: who acted (user, host, surface), what they did, to what.

Pure types and functions; the store writes them (``core/store/audit.py``) in
the same transaction as the change they describe, so every surface (the UI,
the command line, the API, the daemon) records alike. A change is kept as
JSON, ``{"field": [old, new]}`` for edits; no secret is ever part of one, and
:func:`scrub` masks any key that looks like one, should a caller pass it.
"""

from __future__ import annotations

import enum
import getpass
import json
import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


class Surface(enum.StrEnum):
    """Where an action came from; set by whoever opens the store."""

    UI = "ui"
    CLI = "cli"
    API = "api"
    DAEMON = "daemon"


class Action(enum.StrEnum):
    """What was done. ``kind.verb``: the object's kind first."""

    CLIENT_CREATE = "client.create"
    CLIENT_UPDATE = "client.update"
    CLIENT_DELETE = "client.delete"
    CLIENT_IMPORT = "client.import"
    MAILING_CREATE = "mailing.create"
    MAILING_UPDATE = "mailing.update"
    MAILING_DELETE = "mailing.delete"
    MAILING_PAUSE = "mailing.pause"
    MAILING_RESUME = "mailing.resume"
    MAILING_CANCEL = "mailing.cancel"
    MAILING_CLONE = "mailing.clone"
    MAILING_TEST_SEND = "mailing.test_send"
    STOPLIST_ADD = "stoplist.add"
    STOPLIST_REMOVE = "stoplist.remove"
    STOPLIST_IMPORT = "stoplist.import"
    LEASE_TAKE_OVER = "lease.take_over"


# Keys whose values are never stored, whatever a caller hands in.
_SECRET_KEY = re.compile(r"token|password|passwd|secret|authorization", re.IGNORECASE)
MASK = "***"


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (a bare container)
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: the OS user, the host and the surface."""

    os_user: str
    host: str
    surface: Surface

    @classmethod
    def current(cls, surface: Surface | str) -> Actor:
        """This process's user and host, acting through ``surface``."""
        return cls(_os_user(), socket.gethostname(), Surface(surface))


def scrub(value: Any) -> Any:
    """``value`` with the value of any secret-looking key masked, at any depth."""
    if isinstance(value, Mapping):
        return {str(k): MASK if _SECRET_KEY.search(str(k)) else scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{field: {"old": a, "new": b}}`` for every field whose value changed."""
    return {
        k: {"old": old.get(k), "new": new.get(k)}
        for k in sorted(set(old) | set(new))
        if old.get(k) != new.get(k)
    }


def to_change_json(change: Mapping[str, Any]) -> str:
    """The stored form of a change: scrubbed, compact, keys sorted."""
    return json.dumps(scrub(change), ensure_ascii=False, sort_keys=True, default=str)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One row of the audit trail.

    Attributes:
        id: increasing, never reused.
        at: when (UTC).
        os_user, host, surface: who, from where.
        action: one of :class:`Action`.
        object_kind: ``client``, ``mailing``, ``stoplist`` or ``lease``.
        object_id: the object's id, if it has one.
        change: what changed, ``{field: [old, new]}`` for edits, counts for imports.
    """

    id: int
    at: datetime
    os_user: str
    host: str
    surface: str
    action: str
    object_kind: str
    object_id: int | None
    change: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "os_user": self.os_user,
            "host": self.host,
            "surface": self.surface,
            "action": self.action,
            "object": {"kind": self.object_kind, "id": self.object_id},
            "change": self.change,
        }

    def describe_change(self) -> str:
        """One line: ``text: "a" -> "b"; tag: "" -> "vip"``, or the counts."""
        parts = []
        for key, value in self.change.items():
            if isinstance(value, dict) and set(value) == {"old", "new"}:
                old, new = (json.dumps(value[k], ensure_ascii=False) for k in ("old", "new"))
                parts.append(f"{key}: {old} -> {new}")
            else:
                parts.append(f"{key}: {json.dumps(value, ensure_ascii=False)}")
        return "; ".join(parts)
