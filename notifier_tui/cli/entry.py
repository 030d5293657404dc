"""``notifier-tui``: the UI by default, ``--daemon``, ``--demo``, and the subcommands.

The contract is docs/architecture.md. Every subcommand that reads or writes
data takes ``--json`` and then prints exactly one JSON document on stdout.
Bad input of any kind (a flag, a field, an id, a file) ends with exit status
2 and one line ``notifier-tui: error: <field>: <rule>`` on stderr; ``client
import`` adds one line per bad row. An unusable setup (a bad config file or
``NOTIFIER_*`` value, a store that is not SQLite, newer, corrupt or read-only)
exits 78 with the same kind of line, and a transient failure (disk full, store
busy) or a bug exits 1. The statuses and their mapping from exceptions are
:mod:`notifier_tui.settings.exit_codes`, shared with the daemon.

The work is split by job: :mod:`~notifier_tui.cli.parser` builds the parser,
:mod:`~notifier_tui.cli.argv` patches the raw arguments around it,
:mod:`~notifier_tui.cli.redact` scrubs secrets from error text, and
:mod:`~notifier_tui.cli.runners` runs each kind of command. This module
dispatches and turns errors into exit statuses.

Textual, the daemon and the simulator are imported only on the paths that run
them, so a subcommand starts fast and runs where Textual cannot (a test
proves ``import notifier_tui.cli.entry`` loads no Textual).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable, Sequence

from notifier_tui.cli import runners
from notifier_tui.cli.argv import SIM_COMMAND, glue_past_when, split_sim
from notifier_tui.cli.parser import PROG, UsageError, argparse_message, build_parser
from notifier_tui.cli.redact import Redactor
from notifier_tui.cli.terminal import complain, say
from notifier_tui.core.errors import RowErrors
from notifier_tui.settings.config import ENV_PREFIX, Settings
from notifier_tui.settings.exit_codes import Exit, classify

__all__ = ["Exit", "main"]


def _unrecognised(extras: list[str]) -> UsageError:
    return UsageError(argparse_message(f"unrecognized arguments: {' '.join(extras)}"))


def _dispatch(
    args: argparse.Namespace, argv: Sequence[str], extras: list[str], redact: Redactor
) -> int:
    if args.command == SIM_COMMAND:
        rest = split_sim(argv, extras)
        if rest is None:
            raise _unrecognised(extras)
        from notifier_tui.sim import run_cli

        return run_cli(rest, prog=f"{PROG} {SIM_COMMAND}")
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
        return runners.run_config(args, redact)
    settings = runners.settings_from(args, redact)
    if args.command == "report":
        return runners.run_report(args, settings, redact)
    if args.command == "serve":
        from notifier_tui.ops.daemon import run_daemon
        from notifier_tui.ops.fronts import WebOptions, check_api_settings, check_web_options

        web = WebOptions(args.host, args.port, args.allow_remote, args.public_url)
        check_web_options(web)  # refused before anything starts: exit 2, one line
        check_api_settings(settings)
        return run_daemon(settings, web=web)
    if args.command is not None:
        return runners.run_store_command(args, settings)
    if args.locate:
        return runners.run_locate(args, settings)
    runner: Callable[[Settings], int]
    if getattr(args, "workers", None) is not None and not args.daemon:
        raise UsageError("--workers: only with --daemon")
    if args.daemon:
        from notifier_tui.ops.daemon import run_daemon as runner
        from notifier_tui.ops.fronts import check_api_settings

        check_api_settings(settings)
        if args.workers is not None and args.workers > 1:
            from notifier_tui.ops.supervisor import run_supervisor

            return run_supervisor(settings, args.workers, argv)
    elif args.demo:
        from notifier_tui.cli.launch import run_demo as runner
    else:
        from notifier_tui.cli.launch import run_ui as runner
    return runner(settings)


def _fail(message: str, redact: Redactor, code: Exit = Exit.USAGE) -> int:
    # One line whatever the message holds: a path or a TOML error can carry a newline.
    line = " ".join(redact(message).split())
    complain(f"{PROG}: error: {line}")
    return code


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return Exit.OK
    if isinstance(exc.code, int):
        return exc.code
    complain(str(exc.code))
    return Exit.ERROR


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Args:
        argv: the arguments without the program name; ``sys.argv[1:]`` when omitted.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    redact = Redactor(argv, os.environ)
    try:
        # parse_known_args: the simulator's arguments are its own (see split_sim);
        # for every other command leftovers are an error in _dispatch.
        argv = glue_past_when(argv)
        args, extras = build_parser().parse_known_args(argv)
        code = _dispatch(args, argv, extras, redact)
        # Flushed here, not at interpreter exit: a reader that left (`| head -1`)
        # then raises BrokenPipeError where it is handled below.
        sys.stdout.flush()
        return code
    except UsageError as err:
        return _fail(str(err), redact)
    except RowErrors as err:
        for number, error in err.errors:
            complain(redact(f"line {number}: {error}"))
        return _fail(
            f"import: {len(err.errors)} bad row(s), nothing imported"
            " (--skip-invalid imports the good rows)",
            redact,
        )
    except SystemExit as exc:  # --help, or a runner that exits
        return _exit_code(exc)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return Exit.INTERRUPTED
    except BrokenPipeError:
        # `notifier-tui client list | head -1`: the reader had what it wanted and left.
        # Like other command-line tools, end quietly with success.
        _silence_stdout()
        return Exit.OK
    except Exception as err:
        # Bad input (2), an unusable setup (78), a full disk or busy store (1):
        # the same mapping the daemon uses (settings/exit_codes.py).
        failure = classify(err)
        if failure.expected:
            return _fail(failure.message, redact, failure.code)
        complain(redact(f"{PROG}: unexpected error: {failure.message}"))
        if os.environ.get(ENV_PREFIX + "DEBUG"):
            say(redact(traceback.format_exc()), file=sys.stderr)
        return failure.code


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again.

    What is still buffered is meant for a reader that is gone; the dup2 keeps
    the interpreter from printing "Exception ignored ... BrokenPipeError" and
    exiting 120 when it flushes stdout on the way out.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
