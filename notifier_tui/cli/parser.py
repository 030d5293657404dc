"""The argparse parser of the whole command line (docs/architecture.md).

Its errors are raised as :class:`UsageError` instead of argparse's
print-and-exit, so the entry point prints one ``field: rule`` line like
every other error, with secrets scrubbed.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any, NoReturn

from notifier_tui.cli import argtypes, campaign_parser, sender_parser, store_parser
from notifier_tui.cli.argv import SIM_COMMAND
from notifier_tui.core.rules import ALL_STATUSES
from notifier_tui.settings.config import ENV_PREFIX
from notifier_tui.settings.exit_codes import EPILOG

PROG = "notifier-tui"


class UsageError(Exception):
    """A command-line parse error, raised instead of argparse's print-and-exit."""


class Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one ``field: rule`` line like every other.

    argparse's own error prints the usage and exits; raising lets :func:`main`
    print one line (with the token scrubbed) and return the status.
    """

    def error(self, message: str) -> NoReturn:
        raise UsageError(argparse_message(message))


def argparse_message(message: str) -> str:
    """argparse's wording turned into ``field: rule``."""
    if m := re.fullmatch(r"argument (\S+): (.*)", message, re.S):
        return f"{m[1]}: {m[2]}"
    if m := re.fullmatch(r"the following arguments are required: (.*)", message, re.S):
        return f"{m[1]}: required"
    if m := re.fullmatch(r"unrecognized arguments: (.*)", message, re.S):
        return f"arguments: not recognised: {m[1]}"
    return message


# --- the parser ----------------------------------------------------------------

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

_EPILOG = f"""\
Settings come from flags, then {ENV_PREFIX}* environment variables, then the
TOML config file (`{PROG} config path`), then defaults. WHEN is ISO 8601,
`now`, or relative like `+10m`, `+2h`, `+1d`. Without an offset it is local
time in the display zone (display_timezone, default this machine's): a time
the clocks skip moves forward by the gap, one they show twice is the first,
and a note says what was stored. Readable output shows times in that zone,
labelled; --json keeps ISO 8601 with an offset.
Pass the gateway token with --token-file PATH (a 0600 file) or NOTIFIER_TOKEN:
a --token flag is visible to every user in `ps`.

{EPILOG}"""


def _add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="print exactly one JSON document on stdout"
    )


def _subparsers(parser: argparse.ArgumentParser, dest: str) -> Any:
    # Not required=True: a missing action gets a message listing the choices (see _dispatch),
    # which the namespace carries as ``action_choices``.
    actions = parser.add_subparsers(dest=dest, metavar="ACTION", parser_class=Parser)
    parser.set_defaults(action_choices=actions.choices)
    return actions


def build_parser() -> Parser:
    """The whole command line (the README's "The command line")."""
    parser = Parser(
        prog=PROG,
        description="SMS mailings from the terminal: clients, mailings, live statistics.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # scripts written against abbreviations break when options are added
    )
    g = parser.add_argument_group("settings (flag > env > config file > default)")
    g.add_argument(
        "--db",
        metavar="PATH|URL",
        help="the store: an SQLite file, sqlite:///path or"
        " postgresql://user:password@host:port/dbname (env NOTIFIER_DB)",
    )
    g.add_argument("--base-url", metavar="URL", help="gateway base URL (env NOTIFIER_BASE_URL)")
    g.add_argument(
        "--token",
        metavar="TOKEN",
        help="gateway bearer token; visible in `ps`, so prefer --token-file or NOTIFIER_TOKEN",
    )
    g.add_argument(
        "--token-file",
        metavar="PATH",
        help="read the gateway token from this file, mode 0600 (env NOTIFIER_TOKEN_FILE)",
    )
    g.add_argument("--config", metavar="FILE", type=Path, help="the TOML config file to read")
    g.add_argument(
        "--concurrency",
        metavar="N",
        type=argtypes.whole,
        help="gateway requests in flight (default 32)",
    )
    g.add_argument(
        "--rate-limit", metavar="R", type=argtypes.number, help="messages per second, 0 = unlimited"
    )
    g.add_argument(
        "--timeout", metavar="S", type=argtypes.number, help="seconds for one gateway request"
    )
    g.add_argument(
        "--log-level",
        type=str.upper,
        choices=_LOG_LEVELS,
        metavar="LEVEL",
        help=f"one of {', '.join(_LOG_LEVELS)}",
    )
    g.add_argument(
        "--metrics-port",
        metavar="N",
        type=argtypes.port,
        help="serve Prometheus metrics on this port (0 = off)",
    )
    g.add_argument("--metrics-host", metavar="H", help="address the metrics endpoint binds to")
    g.add_argument(
        "--api-port",
        metavar="N",
        type=argtypes.port,
        help="serve the HTTP API on this port (0 = off; needs NOTIFIER_API_TOKEN)",
    )
    g.add_argument(
        "--api-host", metavar="H", help="address the HTTP API binds to (default 127.0.0.1)"
    )
    mode = parser.add_argument_group("modes (without a subcommand)").add_mutually_exclusive_group()
    mode.add_argument("--daemon", action="store_true", help="headless sender; stop with Ctrl-C")
    parser.add_argument(
        "--workers",
        metavar="N",
        type=argtypes.ident,
        help="with --daemon: run N sender processes on this host and restart any that dies"
        " (on SQLite one sends and the others stand by to take over)",
    )
    mode.add_argument(
        "--demo", action="store_true", help="the UI on a throwaway store with a simulated gateway"
    )
    mode.add_argument(
        "--locate", action="store_true", help="print where the store, config file and log file are"
    )

    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    _client_parser(commands)
    _mailing_parser(commands)
    campaign_parser.add_commands(commands, _subparsers)
    sender_parser.add_commands(commands, _subparsers)
    store_parser.add_commands(commands, _subparsers)

    st = commands.add_parser(
        "stats", help="overall statistics, or one mailing's messages", allow_abbrev=False
    )
    st.add_argument(
        "mailing_id",
        metavar="MAILING_ID",
        type=argtypes.ident,
        nargs="?",
        help="show this mailing's counts and messages",
    )
    st.add_argument("--status", choices=ALL_STATUSES, help="only messages in this status")
    st.add_argument("--limit", metavar="N", type=argtypes.count, help="at most N messages")
    st.add_argument("--offset", metavar="N", type=argtypes.count, help="skip the first N messages")
    campaign_parser.add_stats_options(st)
    _add_json(st)

    rep = commands.add_parser(
        "report", help="the daily report: print it, or email it now", allow_abbrev=False
    )
    what = rep.add_mutually_exclusive_group(required=True)
    what.add_argument("--print", action="store_true", help="print the report")
    what.add_argument(
        "--send", action="store_true", help="email it now (smtp_* and report_to settings)"
    )
    rep.add_argument(
        "--day",
        metavar="YYYY-MM-DD",
        help="the report due on that day (default: the last 24 hours up to now)",
    )
    _add_json(rep)

    srv = commands.add_parser(
        "serve",
        help="the UI for browsers (textual-serve), sending like the daemon",
        allow_abbrev=False,
    )
    srv.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    srv.add_argument("--port", type=argtypes.port, default=8566, help="port to bind (default 8566)")
    srv.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host other machines reach (the page has no login: put a proxy in front)",
    )
    srv.add_argument(
        "--public-url", metavar="URL", help="the URL browsers use, behind a reverse proxy"
    )
    srv.add_argument(
        "--api-port",
        dest="serve_api_port",
        metavar="N",
        type=argtypes.port,
        help="also serve the HTTP API on this port",
    )

    # Everything after the name goes to the simulator untouched (see _split_sim).
    commands.add_parser(
        SIM_COMMAND,
        help="run the gateway simulator (see gateway-sim --help)",
        add_help=False,
        allow_abbrev=False,
    )

    cfg = commands.add_parser(
        "config", help="show settings, write a template, print the path", allow_abbrev=False
    )
    cfg_actions = _subparsers(cfg, "action")
    show = cfg_actions.add_parser(
        "show", help="effective settings and where each came from", allow_abbrev=False
    )
    _add_json(show)
    init = cfg_actions.add_parser(
        "init", help="write a commented config file (mode 0600)", allow_abbrev=False
    )
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    cfg_actions.add_parser("path", help="print the config file's path", allow_abbrev=False)
    return parser


def _client_parser(commands: Any) -> None:
    client = commands.add_parser(
        "client", help="add, change, list, import and export clients", allow_abbrev=False
    )
    actions = _subparsers(client, "action")

    def action(name: str, help_: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = actions.add_parser(name, help=help_, allow_abbrev=False)
        _add_json(sub)
        return sub

    def fields(sub: argparse.ArgumentParser, *, required_phone: bool) -> None:
        sub.add_argument(
            "--phone",
            required=required_phone,
            metavar="P",
            help="7XXXXXXXXXX; +7 900 123-45-67 and 8 (900) 1234567 are accepted",
        )
        sub.add_argument("--tag", metavar="T", help="free label, at most 64 characters")
        sub.add_argument("--tz", metavar="ZONE", help="IANA timezone, e.g. Europe/Moscow")
        sub.add_argument(
            "--operator",
            metavar="CODE",
            help="3-digit operator code (default: phone digits 2-4; '' = default)",
        )

    fields(action("add", "add a client"), required_phone=True)
    update = action("update", "change a client's fields")
    update.add_argument("id", metavar="CLIENT_ID", type=argtypes.ident)
    fields(update, required_phone=False)
    action("delete", "delete a client (its sent messages stay in the statistics)").add_argument(
        "id", metavar="CLIENT_ID", type=argtypes.ident
    )
    lst = action("list", "list clients")
    lst.add_argument("--tag", metavar="T", help="only clients with this tag")
    lst.add_argument("--operator", metavar="CODE", help="only clients with this operator code")
    lst.add_argument(
        "--search",
        metavar="S",
        default="",
        help="only clients whose phone, tag or timezone contains S",
    )
    lst.add_argument(
        "--limit", metavar="N", type=argtypes.count, help="at most N clients (default: all)"
    )
    imp = action("import", "import clients from CSV (header phone,tag,timezone[,operator_code])")
    imp.add_argument("file", metavar="FILE.csv")
    imp.add_argument(
        "--skip-invalid",
        action="store_true",
        help="import the good rows and report the bad ones (default: all or nothing)",
    )
    action("export", "export every client as CSV in the import format").add_argument(
        "file", metavar="FILE.csv"
    )


def _mailing_parser(commands: Any) -> None:
    mailing = commands.add_parser("mailing", help="create and control mailings", allow_abbrev=False)
    actions = _subparsers(mailing, "action")

    def fields(sub: argparse.ArgumentParser, *, required: bool) -> None:
        sub.add_argument("--start", metavar="WHEN", required=required, help="when sending starts")
        sub.add_argument(
            "--end",
            metavar="WHEN",
            required=required,
            help="when sending stops; unsent messages then expire",
        )
        sub.add_argument("--text", required=required, help="message text, 1-2000 characters")
        sub.add_argument(
            "--operator",
            metavar="CODE",
            action="append",
            help="send only to this operator code (repeatable; '' = any)",
        )
        sub.add_argument(
            "--tag",
            metavar="T",
            action="append",
            help="send only to clients with this tag (repeatable; '' = any)",
        )
        sub.add_argument(
            "--window",
            metavar="HH:MM-HH:MM",
            help="send only in this local time of day of each client"
            + ("" if required else "; '' removes the window"),
        )

    add = actions.add_parser("add", help="create a mailing", allow_abbrev=False)
    fields(add, required=True)
    _add_json(add)
    update = actions.add_parser("update", help="change a mailing", allow_abbrev=False)
    update.add_argument("id", metavar="MAILING_ID", type=argtypes.ident)
    fields(update, required=False)
    _add_json(update)
    for name, help_ in (
        ("delete", "delete a mailing and its messages (no confirmation)"),
        ("pause", "stop new requests for a mailing"),
        ("resume", "continue a paused mailing"),
        ("cancel", "cancel a mailing; its pending messages become cancelled"),
        ("show", "show one mailing in full"),
    ):
        sub = actions.add_parser(name, help=help_, allow_abbrev=False)
        sub.add_argument("id", metavar="MAILING_ID", type=argtypes.ident)
        _add_json(sub)
    _add_json(actions.add_parser("list", help="list mailings", allow_abbrev=False))
    campaign_parser.add_mailing_actions(actions, fields)
