"""What each kind of command runs once the arguments are parsed.

``config``, ``report``, ``--locate`` and the store subcommands each have one
function here; :mod:`notifier_tui.cli.entry` picks one and maps its errors to
an exit status.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from notifier_tui.cli.parser import PROG
from notifier_tui.cli.redact import Redactor
from notifier_tui.cli.terminal import complain, json_text, say
from notifier_tui.core.errors import ValidationError
from notifier_tui.core.secret import mask_url
from notifier_tui.settings import paths
from notifier_tui.settings.config import Settings, load_settings
from notifier_tui.settings.errors import StoreUnusable
from notifier_tui.settings.exit_codes import Exit, classify
from notifier_tui.settings.zones import display_zone

if TYPE_CHECKING:
    from notifier_tui.core.store import Store


def warn(line: str, redact: Redactor) -> None:
    """One ``notifier-tui: warning: ...`` line on stderr, secrets scrubbed."""
    complain(redact(f"{PROG}: warning: {' '.join(line.split())}"))


def settings_from(args: argparse.Namespace, redact: Redactor) -> Settings:
    """Settings from the flags, the environment and the config file."""
    if args.token is not None:
        # Any user on the host can read a process's arguments (ps, /proc/PID/cmdline).
        warn(
            "--token on the command line is visible to other users (ps);"
            " use --token-file PATH or the NOTIFIER_TOKEN environment variable",
            redact,
        )
    if args.config is not None and not args.locate and not args.config.exists():
        # An explicit file that is not there is a typo, not "use the defaults".
        raise ValidationError("config", f"{args.config} does not exist (try `{PROG} config init`)")
    settings = load_settings(
        flags={
            "db": args.db,
            "base_url": args.base_url,
            "token": args.token,
            "token_file": args.token_file,
            "concurrency": args.concurrency,
            "rate_limit": args.rate_limit,
            "timeout": args.timeout,
            "log_level": args.log_level,
            "metrics_port": args.metrics_port,
            "metrics_host": args.metrics_host,
            "api_port": (
                args.api_port
                if args.api_port is not None
                else getattr(args, "serve_api_port", None)
            ),
            "api_host": args.api_host,
        },
        config_path=args.config,
        warn=lambda line: warn(line, redact),
    )
    redact.add(settings)
    return settings


# Arguments that are paths: undecodable bytes are legal in a file name.
_PATH_ARGUMENTS = frozenset({"db", "config", "token_file", "file"})


def check_text_arguments(args: argparse.Namespace) -> None:
    """Refuse a text argument holding bytes that are not UTF-8 (``--search $'\\xff'``).

    Python hands such bytes over as lone surrogates, which SQLite cannot
    encode: without this check they surface as an encoding error (exit 1).

    Raises:
        ValidationError: names the option.
    """
    for name, value in vars(args).items():
        if name in _PATH_ARGUMENTS:
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and not _encodes(item):
                option = f"--{name.replace('_', '-')}"
                raise ValidationError(
                    option, "must be valid UTF-8 text (it holds bytes that are not)"
                )


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def open_store(settings: Settings) -> Store:
    """The store ``settings.db`` names.

    Raises:
        StoreUnusable: not SQLite, a newer or unreadable schema, a path that
            cannot be created (exit 78). A busy store or a full disk raise as
            they are: :func:`~notifier_tui.settings.exit_codes.classify` calls
            them transient (exit 1).
    """
    from notifier_tui.core.store import Store

    try:
        return Store(settings.db, default_timezone=settings.default_timezone)
    except ValidationError:
        raise
    except Exception as err:
        failure = classify(err)
        if failure.code == Exit.ERROR and failure.expected:
            raise  # busy or disk full: a later try may succeed
        reason = str(err)
        if isinstance(err, ValueError):  # int() of the schema-version row
            reason = f"its schema version is unreadable ({err})"
        elif isinstance(err, OSError):
            reason = err.strerror or reason
        raise StoreUnusable("db", f"cannot open {mask_url(str(settings.db))}: {reason}") from None


def run_store_command(args: argparse.Namespace, settings: Settings) -> int:
    from notifier_tui.cli.commands import HANDLERS

    handler = HANDLERS[(args.command, getattr(args, "action", None))]
    check_text_arguments(args)
    # The campaign commands need the gateway and the rate limit (cli/campaign_commands.py).
    args.settings = settings
    store = open_store(settings)
    store.surface = "cli"  # the audit trail's "from where"
    try:
        output = handler(args, store, display_zone(settings.display_timezone))
        # Rendered before closing: the readable form may still count rows.
        rendered = output.render(args.json)
    finally:
        store.close()
    for note in output.notes:
        complain(note)
    say(rendered)
    return Exit.OK


def run_config(args: argparse.Namespace, redact: Redactor) -> int:
    from notifier_tui.cli import config_commands as cli_config
    from notifier_tui.cli import render as cli_tables

    path = args.config or paths.config_file()
    if args.action == "path":
        say(str(path))
    elif args.action == "init":
        cli_config.write_template(path, force=args.force)
        say(f"wrote {path}")
    else:
        settings = settings_from(args, redact)
        if args.json:
            say(json_text(cli_config.shown_settings(settings)))
        else:
            say(cli_tables.settings(settings.describe()))
    return Exit.OK


def run_report(args: argparse.Namespace, settings: Settings, redact: Redactor) -> int:
    from notifier_tui.core.report import parse_day
    from notifier_tui.ops import report_job
    from notifier_tui.ops.mailer import MailError, SmtpConfig

    day = parse_day(args.day) if args.day else None
    # Checked before anything is read, so missing SMTP settings are bad input (exit 2).
    smtp = SmtpConfig.from_settings(settings) if args.send else None
    store = open_store(settings)
    try:
        built = report_job.build_for(store, settings, day)
    finally:
        store.close()
    if smtp is None:
        if args.json:
            say(json_text(built.to_json()))
        else:
            # The report is several lines, and quotes mailing texts: escaped, lines kept.
            say(built.to_text(), end="")
        return Exit.OK
    try:
        report_job.send_now(smtp, built)
    except MailError as err:
        # One line, like every error: a server's answer can span several.
        complain(redact(f"{PROG}: error: report: {' '.join(str(err).split())}"))
        return Exit.ERROR
    sent_day = built.day.isoformat()
    if args.json:
        say(json.dumps({"sent": True, "day": sent_day, "recipients": list(smtp.recipients)}))
    else:
        say(f"report for {sent_day} sent to {', '.join(smtp.recipients)}")
    return Exit.OK


def run_locate(args: argparse.Namespace, settings: Settings) -> int:
    """``--locate``: where the store, the config file and the log file are."""
    say(f"store: {mask_url(str(settings.db))}")
    say(f"config: {args.config or paths.config_file()}")
    say(f"log: {settings.log_file}")
    return Exit.OK
