"""The parser of ``notifier-tui store copy`` (handler: cli/store_commands.py).

Apart from the handler so that building the parser imports nothing of the store.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

__all__ = ["add_commands"]


def add_commands(commands: Any, subparsers: Callable[[argparse.ArgumentParser, str], Any]) -> None:
    """Add ``store`` and its actions to the top-level subparsers."""
    store = commands.add_parser(
        "store", help="the store itself: copy it to another place or kind", allow_abbrev=False
    )
    actions = subparsers(store, "action")
    copy = actions.add_parser(
        "copy",
        help="copy the whole store (--db) into an empty store of either kind",
        description="Copies every client, mailing, message, report-log entry, stop-list entry"
        " and audit row, with their ids, into an empty store (a file, sqlite:///file or"
        " postgresql://user:password@host:port/dbname), then counts the target's rows against"
        " what was copied. A target that holds anything is refused. The sender lease is not"
        " copied: stop the senders of the old store first, and start them on the new one"
        " (docs/architecture.md).",
        allow_abbrev=False,
    )
    copy.add_argument(
        "--to",
        required=True,
        metavar="URL",
        help="the target store: a file path, sqlite:///path or postgresql://... (created if new)",
    )
    copy.add_argument(
        "--json", action="store_true", help="print exactly one JSON document on stdout"
    )
