"""The command line of issue 13: ``mailing preview|clone|test``, ``stoplist``, ``audit``.

Kept apart from :mod:`notifier_tui.cli.parser` (which calls these) so that
module stays about the core commands; the handlers are
:mod:`notifier_tui.cli.campaign_commands`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from notifier_tui.cli import argtypes

Fields = Callable[..., None]


def _json(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--json", action="store_true", help="print exactly one JSON document on stdout"
    )


def add_mailing_actions(actions: Any, fields: Fields) -> None:
    """``mailing preview``, ``mailing clone`` and ``mailing test``.

    Args:
        actions: the ``mailing`` subparsers.
        fields: the parser's function adding ``mailing add``'s options.
    """
    preview = actions.add_parser(
        "preview",
        help="pre-flight projection: audience, in-window share, ETA, how many will miss the end",
        description="Project a stored mailing (MAILING_ID) or a draft given with the options"
        " of `mailing add` (--start and --end required, --text for its segments). The rate"
        " is rate_limit, else the last measured send rate, else windows only.",
        allow_abbrev=False,
    )
    preview.add_argument("id", metavar="MAILING_ID", type=argtypes.ident, nargs="?")
    fields(preview, required=False)
    _json(preview)

    clone = actions.add_parser(
        "clone",
        help="a new mailing for the clients of MAILING_ID (e.g. only those not sent)",
        description="The new mailing's audience is exactly those clients (an explicit list,"
        " not a filter); the original's messages are never touched.",
        allow_abbrev=False,
    )
    clone.add_argument("id", metavar="MAILING_ID", type=argtypes.ident)
    clone.add_argument(
        "--only",
        metavar="STATUSES",
        action="append",
        help="failed,expired,cancelled (any of them, comma-separated): clients whose message"
        " ended so; default: every client the original had",
    )
    clone.add_argument("--start", metavar="WHEN", required=True, help="when sending starts")
    clone.add_argument("--end", metavar="WHEN", required=True, help="when sending stops")
    clone.add_argument("--text", help="a new text (default: the original's)")
    _json(clone)

    test = actions.add_parser(
        "test",
        help="send the mailing's text to one phone now, outside its statistics",
        description="Through the same gateway client and classification as the sender;"
        " recorded in the audit log. Exit 1 with one line if the token is missing or"
        " refused or the gateway cannot be reached.",
        allow_abbrev=False,
    )
    test.add_argument("id", metavar="MAILING_ID", type=argtypes.ident)
    test.add_argument("--phone", metavar="P", required=True, help="7XXXXXXXXXX")
    _json(test)


def add_commands(commands: Any, subparsers: Callable[[argparse.ArgumentParser, str], Any]) -> None:
    """``stoplist add|remove|list|import`` and ``audit``."""
    stop = commands.add_parser(
        "stoplist", help="phones that never get a message (opted out)", allow_abbrev=False
    )
    actions = subparsers(stop, "action")
    for name, help_ in (
        ("add", "add phones; their pending messages are cancelled (stop-listed)"),
        ("remove", "remove phones; live mailings they match get their messages back"),
    ):
        sub = actions.add_parser(name, help=help_, allow_abbrev=False)
        sub.add_argument("phones", metavar="PHONE", nargs="+")
        _json(sub)
    _json(actions.add_parser("list", help="list the stop list", allow_abbrev=False))
    imp = actions.add_parser(
        "import", help="add every phone of a CSV with a phone column", allow_abbrev=False
    )
    imp.add_argument("file", metavar="FILE.csv")
    _json(imp)

    audit = commands.add_parser(
        "audit", help="who did what, when, from which surface", allow_abbrev=False
    )
    audit.add_argument("--mailing", metavar="ID", type=argtypes.ident, help="only this mailing")
    audit.add_argument("--since", metavar="WHEN", help="only from WHEN on")
    audit.add_argument("--limit", metavar="N", type=argtypes.count, help="only the newest N")
    _json(audit)


def add_stats_options(stats: argparse.ArgumentParser) -> None:
    """``stats ID --csv FILE``."""
    stats.add_argument(
        "--csv",
        metavar="FILE",
        help="write every message of MAILING_ID (phone, status, error class, attempts, times)",
    )
