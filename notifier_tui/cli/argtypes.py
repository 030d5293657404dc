"""argparse ``type=`` converters: each refuses bad text with a ``must be ...`` rule."""

from __future__ import annotations

import argparse
import math

MAX_ID = 2**63 - 1
"""SQLite's largest integer: a bigger id or count cannot even be looked up."""


def count(text: str) -> int:
    """A whole number >= 0 (limits, offsets, ports)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_ID:
        raise argparse.ArgumentTypeError(
            f"must be a whole number from 0 to {MAX_ID}, got {text!r}"
            if value > MAX_ID
            else f"must be a whole number >= 0, got {text!r}"
        )
    return value


def ident(text: str) -> int:
    """A row id: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_ID:
        raise argparse.ArgumentTypeError(
            f"must be a whole number from 1 to {MAX_ID}, got {text!r}"
            if value > MAX_ID
            else f"must be a whole number >= 1, got {text!r}"
        )
    return value


def port(text: str) -> int:
    """A TCP port, 0 included (0 = off)."""
    value = count(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535, got {text!r}")
    return value


def number(text: str) -> float:
    """A finite number: ``nan`` and ``inf`` parse as floats but mean no limit or no sense."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def whole(text: str) -> int:
    """Any whole number."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
