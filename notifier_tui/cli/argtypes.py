"""argparse ``type=`` converters: each refuses bad text with a ``must be ...`` rule."""

from __future__ import annotations

import argparse


def count(text: str) -> int:
    """A whole number >= 0 (limits, offsets, ports)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text!r}")
    return value


def ident(text: str) -> int:
    """A row id: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value


def port(text: str) -> int:
    """A TCP port, 0 included (0 = off)."""
    value = count(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535, got {text!r}")
    return value


def number(text: str) -> float:
    """Any number argparse can read as a float."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None


def whole(text: str) -> int:
    """Any whole number."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
