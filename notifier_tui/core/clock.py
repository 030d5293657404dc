"""The wall clock every layer defaults to; code that needs time takes a clock instead."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, as an aware UTC instant."""
    return datetime.now(UTC)
