"""The parser of ``notifier-tui sender resume|status`` (handlers: cli/sender_commands.py).

Apart from the handlers so that building the parser imports nothing of the store.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

__all__ = ["add_commands"]


def add_commands(commands: Any, subparsers: Callable[[argparse.ArgumentParser, str], Any]) -> None:
    """Add ``sender`` and its actions to the top-level subparsers."""
    sender = commands.add_parser(
        "sender",
        help="the store's senders: resume after a credentials stop, list them",
        allow_abbrev=False,
    )
    actions = subparsers(sender, "action")
    resume = actions.add_parser(
        "resume",
        help="lift the credentials stop for every sender of the store (after fixing the token)",
        description="A 401/403 seen by one sender stops them all through a flag in the store."
        " This clears it: every sender resumes within about a second.",
        allow_abbrev=False,
    )
    status = actions.add_parser(
        "status", help="the live senders (host, pid, leader, rate) and any stop", allow_abbrev=False
    )
    for sub in (resume, status):
        sub.add_argument(
            "--json", action="store_true", help="print exactly one JSON document on stdout"
        )
