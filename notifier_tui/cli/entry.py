"""``notifier-tui``: the UI by default, ``--daemon``, ``--demo``, and the subcommands.

The contract is DESIGN.md §2. Every subcommand that reads or writes data
takes ``--json`` and then prints exactly one JSON document on stdout. Bad
input of any kind (a flag, a field, an id, a file, the config file) ends with
exit status 2 and one line ``notifier-tui: error: <field>: <rule>`` on stderr;
``client import`` adds one line per bad row. Nothing else exits 2.

Textual, the daemon and the simulator are imported only on the paths that run
them, so a subcommand starts fast and runs where Textual cannot (a test
proves ``import notifier_tui.cli.entry`` loads no Textual).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from notifier_tui.core.errors import NotFoundError, RowErrors, ValidationError
from notifier_tui.core.rules import ALL_STATUSES
from notifier_tui.settings import paths
from notifier_tui.settings.config import ENV_PREFIX, Settings, load_settings

if TYPE_CHECKING:
    from notifier_tui.core.store import Store

PROG = "notifier-tui"
SIM_COMMAND = "gateway-sim"
MASK = "********"


class Exit(IntEnum):
    """Exit statuses."""

    OK = 0
    ERROR = 1
    """Something unexpected; a short line on stderr says what."""
    USAGE = 2
    """Bad input: a flag, a field, an id, a file or the config file."""
    INTERRUPTED = 130
    """Ctrl-C, as a shell reports SIGINT."""


class UsageError(Exception):
    """A command-line parse error, raised instead of argparse's print-and-exit."""


class Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one ``field: rule`` line like every other.

    argparse's own error prints the usage and exits; raising lets :func:`main`
    print one line (with the token scrubbed) and return the status.
    """

    def error(self, message: str) -> NoReturn:
        raise UsageError(_argparse_message(message))


def _argparse_message(message: str) -> str:
    """argparse's wording turned into ``field: rule``."""
    if m := re.fullmatch(r"argument (\S+): (.*)", message, re.S):
        return f"{m[1]}: {m[2]}"
    if m := re.fullmatch(r"the following arguments are required: (.*)", message, re.S):
        return f"{m[1]}: required"
    if m := re.fullmatch(r"unrecognized arguments: (.*)", message, re.S):
        return f"arguments: not recognised: {m[1]}"
    return message


# --- argument types ------------------------------------------------------------


def _count(text: str) -> int:
    """A whole number >= 0 (limits, offsets, ports)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text!r}")
    return value


def _ident(text: str) -> int:
    """A row id: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value


def _port(text: str) -> int:
    value = _count(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535, got {text!r}")
    return value


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None


# --- the parser ----------------------------------------------------------------

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

_EPILOG = f"""\
Settings come from flags, then {ENV_PREFIX}* environment variables, then the
TOML config file (`{PROG} config path`), then defaults. WHEN is ISO 8601
(local time without an offset), `now`, or relative like `+10m`, `+2h`, `+1d`.
Exit status: 0 ok, 1 unexpected error (NOTIFIER_DEBUG=1 adds the traceback),
2 bad input, 130 interrupted.
"""


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
    """The whole command line of DESIGN.md §2."""
    parser = Parser(
        prog=PROG,
        description="SMS mailings from the terminal: clients, mailings, live statistics.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # scripts written against abbreviations break when options are added
    )
    g = parser.add_argument_group("settings (flag > env > config file > default)")
    g.add_argument("--db", metavar="PATH", help="the SQLite store file (env NOTIFIER_DB)")
    g.add_argument("--base-url", metavar="URL", help="gateway base URL (env NOTIFIER_BASE_URL)")
    g.add_argument(
        "--token", metavar="TOKEN", help="gateway bearer token (env NOTIFIER_TOKEN); never shown"
    )
    g.add_argument("--config", metavar="FILE", type=Path, help="the TOML config file to read")
    g.add_argument(
        "--concurrency", metavar="N", type=_whole, help="gateway requests in flight (default 32)"
    )
    g.add_argument(
        "--rate-limit", metavar="R", type=_number, help="messages per second, 0 = unlimited"
    )
    g.add_argument("--timeout", metavar="S", type=_number, help="seconds for one gateway request")
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
        type=_port,
        help="serve Prometheus metrics on this port (0 = off)",
    )
    g.add_argument("--metrics-host", metavar="H", help="address the metrics endpoint binds to")
    mode = parser.add_argument_group("modes (without a subcommand)").add_mutually_exclusive_group()
    mode.add_argument("--daemon", action="store_true", help="headless sender; stop with Ctrl-C")
    mode.add_argument(
        "--demo", action="store_true", help="the UI on a throwaway store with a simulated gateway"
    )
    mode.add_argument(
        "--locate", action="store_true", help="print where the store, config file and log file are"
    )

    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    _client_parser(commands)
    _mailing_parser(commands)

    st = commands.add_parser(
        "stats", help="overall statistics, or one mailing's messages", allow_abbrev=False
    )
    st.add_argument(
        "mailing_id",
        metavar="MAILING_ID",
        type=_ident,
        nargs="?",
        help="show this mailing's counts and messages",
    )
    st.add_argument("--status", choices=ALL_STATUSES, help="only messages in this status")
    st.add_argument("--limit", metavar="N", type=_count, help="at most N messages")
    st.add_argument("--offset", metavar="N", type=_count, help="skip the first N messages")
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
        sub = actions.add_parser(name, help=help_, allow_abbrev=False)
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
    update.add_argument("id", metavar="CLIENT_ID", type=_ident)
    fields(update, required_phone=False)
    action("delete", "delete a client (its sent messages stay in the statistics)").add_argument(
        "id", metavar="CLIENT_ID", type=_ident
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
    lst.add_argument("--limit", metavar="N", type=_count, help="at most N clients (default: all)")
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
    update.add_argument("id", metavar="MAILING_ID", type=_ident)
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
        sub.add_argument("id", metavar="MAILING_ID", type=_ident)
        _add_json(sub)
    _add_json(actions.add_parser("list", help="list mailings", allow_abbrev=False))


# --- secrets -------------------------------------------------------------------


class Redactor:
    """Scrubs token values out of anything printed on an error path.

    Error text can quote arguments back (``unrecognized arguments: --token x``
    after a subcommand), so every value that may be a secret is masked before
    it reaches stderr.
    """

    def __init__(self, argv: Sequence[str], env: Mapping[str, str]) -> None:
        found = [env.get(ENV_PREFIX + "TOKEN", ""), env.get(ENV_PREFIX + "SMTP_PASSWORD", "")]
        for i, arg in enumerate(argv):
            if arg == "--token" and i + 1 < len(argv):
                found.append(argv[i + 1])
            elif arg.startswith("--token="):
                found.append(arg.split("=", 1)[1])
        self._secrets: set[str] = {s for s in found if s}

    def add(self, settings: Settings) -> None:
        self._secrets.update(
            s for s in (settings.token.reveal(), settings.smtp_password.reveal()) if s
        )

    def __call__(self, text: str) -> str:
        # Longest first, so a secret containing another is masked whole.
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text


# --- main ----------------------------------------------------------------------


_PAST = re.compile(r"-\s*[0-9]+\s*[smhdw]", re.I)


def _glue_past_when(argv: list[str]) -> list[str]:
    """``--start -1m`` as ``--start=-1m``: argparse takes ``-1m`` for an option.

    Only before ``gateway-sim``: what follows it belongs to the simulator.
    """
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == SIM_COMMAND:
            return out + argv[i:]
        if arg in ("--start", "--end") and i + 1 < len(argv) and _PAST.fullmatch(argv[i + 1]):
            out.append(f"{arg}={argv[i + 1]}")
            i += 2
            continue
        out.append(arg)
        i += 1
    return out


def _split_sim(argv: Sequence[str], extras: list[str]) -> list[str] | None:
    """The simulator's own arguments: the ``extras`` right after ``gateway-sim``.

    Extras that came from before the subcommand (a mistyped global option)
    are not the simulator's; ``None`` says so.
    """
    n = len(extras)
    start = len(argv) - n
    if start >= 1 and list(argv[start:]) == extras and argv[start - 1] == SIM_COMMAND:
        return extras
    return None


def _settings(args: argparse.Namespace, redact: Redactor) -> Settings:
    """Settings from the flags, the environment and the config file."""
    if args.config is not None and not args.locate and not args.config.exists():
        # An explicit file that is not there is a typo, not "use the defaults".
        raise ValidationError("config", f"{args.config} does not exist (try `{PROG} config init`)")
    path = args.config or paths.config_file()
    try:
        settings = load_settings(
            flags={
                "db": args.db,
                "base_url": args.base_url,
                "token": args.token,
                "concurrency": args.concurrency,
                "rate_limit": args.rate_limit,
                "timeout": args.timeout,
                "log_level": args.log_level,
                "metrics_port": args.metrics_port,
                "metrics_host": args.metrics_host,
            },
            config_path=args.config,
        )
    except (OSError, UnicodeDecodeError) as err:
        # read_config_file lets these through (a directory, no permission, not UTF-8).
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        raise ValidationError("config", f"cannot read {path}: {reason}") from None
    redact.add(settings)
    return settings


def _open_store(settings: Settings) -> Store:
    import peewee

    from notifier_tui.core.store import Store

    try:
        return Store(settings.db, default_timezone=settings.default_timezone)
    except (peewee.DatabaseError, OSError, RuntimeError) as err:
        # Not a store, a newer schema, a directory we cannot create: the --db value is at fault.
        raise ValidationError("db", f"cannot open {settings.db}: {err}") from None


def _run_store_command(args: argparse.Namespace, settings: Settings) -> int:
    from notifier_tui.cli.commands import HANDLERS

    handler = HANDLERS[(args.command, getattr(args, "action", None))]
    store = _open_store(settings)
    try:
        output = handler(args, store)
        # Rendered before closing: the readable form may still count rows.
        rendered = output.render(args.json)
    finally:
        store.close()
    for note in output.notes:
        print(note, file=sys.stderr)
    print(rendered)
    return Exit.OK


def _run_config(args: argparse.Namespace, redact: Redactor) -> int:
    from notifier_tui.cli import config_commands as cli_config
    from notifier_tui.cli import render as cli_tables

    path = args.config or paths.config_file()
    if args.action == "path":
        print(path)
    elif args.action == "init":
        cli_config.write_template(path, force=args.force)
        print(f"wrote {path}")
    else:
        settings = _settings(args, redact)
        if args.json:
            print(json.dumps(cli_config.shown_settings(settings), ensure_ascii=False, indent=2))
        else:
            print(cli_tables.settings(settings.describe()))
    return Exit.OK


def _run_report(args: argparse.Namespace, settings: Settings, redact: Redactor) -> int:
    from notifier_tui.core.report import parse_day
    from notifier_tui.ops import report_job
    from notifier_tui.ops.mailer import MailError, SmtpConfig

    day = parse_day(args.day) if args.day else None
    # Checked before anything is read, so missing SMTP settings are bad input (exit 2).
    smtp = SmtpConfig.from_settings(settings) if args.send else None
    store = _open_store(settings)
    try:
        built = report_job.build_for(store, settings, day)
    finally:
        store.close()
    if smtp is None:
        if args.json:
            print(json.dumps(built.to_json(), ensure_ascii=False, indent=2))
        else:
            print(built.to_text(), end="")
        return Exit.OK
    try:
        report_job.send_now(smtp, built)
    except MailError as err:
        # One line, like every error: a server's answer can span several.
        print(redact(f"{PROG}: error: report: {' '.join(str(err).split())}"), file=sys.stderr)
        return Exit.ERROR
    sent_day = built.day.isoformat()
    if args.json:
        print(json.dumps({"sent": True, "day": sent_day, "recipients": list(smtp.recipients)}))
    else:
        print(f"report for {sent_day} sent to {', '.join(smtp.recipients)}")
    return Exit.OK


def _unrecognised(extras: list[str]) -> UsageError:
    return UsageError(_argparse_message(f"unrecognized arguments: {' '.join(extras)}"))


def _dispatch(
    args: argparse.Namespace, argv: Sequence[str], extras: list[str], redact: Redactor
) -> int:
    if args.command == SIM_COMMAND:
        rest = _split_sim(argv, extras)
        if rest is None:
            raise _unrecognised(extras)
        from notifier_tui.sim.simulator import run_cli

        return run_cli(rest)
    if args.command is not None:
        mode = next((m for m in ("daemon", "demo", "locate") if getattr(args, m)), None)
        if mode:
            raise UsageError(f"--{mode}: cannot be combined with the {args.command} command")
        choices = getattr(args, "action_choices", None)
        if choices is not None and args.action is None:
            raise UsageError(f"{args.command}: choose an action: {', '.join(choices)}")
    if extras:
        raise _unrecognised(extras)
    if args.command == "config":
        return _run_config(args, redact)
    settings = _settings(args, redact)
    if args.command == "report":
        return _run_report(args, settings, redact)
    if args.command is not None:
        return _run_store_command(args, settings)
    if args.locate:
        print(f"store: {settings.db}")
        print(f"config: {args.config or paths.config_file()}")
        print(f"log: {settings.log_file}")
        return Exit.OK
    runner: Callable[[Settings], int]
    if args.daemon:
        from notifier_tui.ops.daemon import run_daemon as runner
    elif args.demo:
        from notifier_tui.cli.launch import run_demo as runner
    else:
        from notifier_tui.cli.launch import run_ui as runner
    return runner(settings)


def _fail(message: str, redact: Redactor) -> int:
    # One line whatever the message holds: a path or a TOML error can carry a newline.
    line = " ".join(redact(message).split())
    print(f"{PROG}: error: {line}", file=sys.stderr)
    return Exit.USAGE


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return Exit.OK
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return Exit.ERROR


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Args:
        argv: the arguments without the program name; ``sys.argv[1:]`` when omitted.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    redact = Redactor(argv, os.environ)
    try:
        # parse_known_args: the simulator's arguments are its own (see _split_sim);
        # for every other command leftovers are an error in _dispatch.
        argv = _glue_past_when(argv)
        args, extras = build_parser().parse_known_args(argv)
        return _dispatch(args, argv, extras, redact)
    except UsageError as err:
        return _fail(str(err), redact)
    except RowErrors as err:
        for line, error in err.errors:
            print(redact(f"line {line}: {error}"), file=sys.stderr)
        return _fail(
            f"import: {len(err.errors)} bad row(s), nothing imported"
            " (--skip-invalid imports the good rows)",
            redact,
        )
    except ValidationError as err:  # ConflictError included
        return _fail(f"{err.field}: {err.rule}", redact)
    except NotFoundError as err:
        return _fail(f"{err.kind}: no {err.kind} with id {err.ident}", redact)
    except SystemExit as exc:  # --help, or a runner that exits
        return _exit_code(exc)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return Exit.INTERRUPTED
    except BrokenPipeError:
        # `notifier-tui client list | head`: the reader left; not an error worth a trace.
        _silence_stdout()
        return Exit.ERROR
    except Exception as err:
        line = " ".join(f"{type(err).__name__}: {err}".split())
        print(redact(f"{PROG}: unexpected error: {line}"), file=sys.stderr)
        if os.environ.get(ENV_PREFIX + "DEBUG"):
            print(redact(traceback.format_exc()), file=sys.stderr)
        return Exit.ERROR


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
