"""The ``client``, ``mailing`` and ``stats`` subcommands on top of the core store.

Each handler takes the parsed arguments, an open :class:`Store` and the
display zone (local times in ``WHEN`` are read in it, readable times shown in
it) and returns an :class:`Output`: the one JSON document and its readable form. The caller
prints one of them, so no handler can print two documents or mix the forms.
Validation is the core's: handlers only translate arguments and let its
errors through.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from notifier_tui.cli import render as cli_tables
from notifier_tui.cli.parser import PROG
from notifier_tui.cli.terminal import json_text
from notifier_tui.core import rules
from notifier_tui.core.actions import MailingAction, require_allowed
from notifier_tui.core.errors import ValidationError
from notifier_tui.core.rules import LocalTime
from notifier_tui.core.store import Store
from notifier_tui.settings.zones import zone_name

Handler = Callable[[argparse.Namespace, Store, tzinfo], "Output"]


@dataclass(frozen=True, slots=True)
class Output:
    """What a subcommand produced, rendered only in the form asked for.

    Both forms are built on demand: turning 100,000 clients into JSON
    dictionaries costs seconds that a table does not need, and vice versa.

    Attributes:
        doc: builds the JSON document printed with ``--json``.
        text: builds the readable form printed without it.
        notes: lines for stderr either way (rows an import skipped).
    """

    doc: Callable[[], Any]
    text: Callable[[], str]
    notes: list[str] = field(default_factory=list)

    def render(self, as_json: bool) -> str:
        """The one document (``as_json``) or the readable text."""
        if as_json:
            return json_text(self.doc())
        return self.text()


def _nothing_to_change(kind: str, options: str) -> ValidationError:
    return ValidationError(f"{kind} update", f"nothing to change; give at least one of {options}")


# --- clients -------------------------------------------------------------------


def client_add(args: argparse.Namespace, store: Store, zone: tzinfo) -> Output:
    record = store.create_client(
        args.phone, tag=args.tag or "", timezone=args.tz, operator_code=args.operator
    )
    return Output(record.to_json, lambda: cli_tables.clients([record]))


def client_update(args: argparse.Namespace, store: Store, zone: tzinfo) -> Output:
    changes = {
        "phone": args.phone,
        "tag": args.tag,
        "timezone": args.tz,
        "operator_code": args.operator,
    }
    if all(v is None for v in changes.values()):
        raise _nothing_to_change("client", "--phone, --tag, --tz, --operator")
    record = store.update_client(args.id, **changes)
    return Output(record.to_json, lambda: cli_tables.clients([record]))


def client_delete(args: argparse.Namespace, store: Store, zone: tzinfo) -> Output:
    store.delete_client(args.id)
    return Output(lambda: {"deleted": args.id}, lambda: f"deleted client {args.id}")


def client_list(args: argparse.Namespace, store: Store, zone: tzinfo) -> Output:
    # Filters are checked like stored values, so a typo is an error and not an empty list.
    tag = rules.validate_tag(args.tag) if args.tag is not None else None
    operator = rules.validate_operator_code(args.operator) if args.operator is not None else None
    records = store.list_clients(args.search, tag=tag, operator=operator, limit=args.limit)

    def text() -> str:
        total = None
        if args.limit is not None and len(records) == args.limit:
            total = store.count_clients(args.search, tag=tag, operator=operator)
        return cli_tables.clients(records, total)

    return Output(lambda: [r.to_json() for r in records], text)


def client_import(args: argparse.Namespace, store: Store, zone: tzinfo) -> Output:
    result = store.import_csv(args.file, skip_invalid=args.skip_invalid)
    notes = [f"line {line}: {error}" for line, error in result.errors]
    text = f"imported {result.imported} client(s) from {args.file}"
    if result.errors:
        text += f"; skipped {len(result.errors)} bad row(s) (listed on stderr)"
    return Output(result.to_json, lambda: text, notes)


def client_export(args: argparse.Namespace, store: Store, zone: tzinfo) -> Output:
    path = Path(args.file)
    try:
        count = store.export_csv(path)
    except OSError as err:
        raise ValidationError("file", f"cannot write {path}: {err.strerror}") from None
    return Output(
        lambda: {"exported": count, "file": str(path)},
        lambda: f"exported {count} client(s) to {path}",
    )


# --- mailings ------------------------------------------------------------------


def _period(
    args: argparse.Namespace, zone: tzinfo
) -> tuple[datetime | None, datetime | None, list[str]]:
    """``--start`` and ``--end`` as instants, and notes on local times DST moved.

    One ``now`` for both, so ``now``/``+2h`` is exactly 2 h. A local time the
    clocks skip or show twice is resolved by the rule of
    :func:`~notifier_tui.core.rules.parse_when`; the note says which instant
    was stored, so nobody has to guess.
    """
    now = datetime.now(UTC)
    notes: list[str] = []

    def when(text: str | None, name: str, option: str) -> datetime | None:
        if text is None:
            return None
        instant = rules.parse_when(text, now, zone, field=name)
        if note := _dst_note(option, text, instant, zone):
            notes.append(note)
        return instant

    return when(args.start, "start_at", "--start"), when(args.end, "end_at", "--end"), notes


def _dst_note(option: str, text: str, instant: datetime, zone: tzinfo) -> str | None:
    try:
        naive = datetime.fromisoformat(text.strip())
    except ValueError:
        return None  # now, +10m: no wall-clock time to resolve
    if naive.tzinfo is not None:
        return None
    kind = rules.local_time_kind(naive, zone)
    if kind is LocalTime.ONCE:
        return None
    name = zone_name(zone, instant)
    stored = f"{cli_tables.local(instant, zone)} ({instant.isoformat()})"
    if kind is LocalTime.MISSING:
        return (
            f"{PROG}: note: {option} {text} does not exist in {name} (the clocks skip it);"
            f" shifted forward by the gap: stored {stored}"
        )
    return (
        f"{PROG}: note: {option} {text} happens twice in {name} (the clocks go back);"
        f" taken as the first: stored {stored}"
    )


def mailing_add(args: argparse.Namespace, store: Store, zone: tzinfo) -> Output:
    start_at, end_at, notes = _period(args, zone)
    # --start and --end are required by the parser for `mailing add`.
    assert start_at is not None and end_at is not None
    record = store.create_mailing(
        start_at,
        end_at,
        args.text,
        operator_codes=args.operator or (),
        tags=args.tag or (),
        window=args.window,
    )
    return Output(record.to_json, lambda: cli_tables.mailings([record], zone), notes)


def mailing_update(args: argparse.Namespace, store: Store, zone: tzinfo) -> Output:
    start_at, end_at, notes = _period(args, zone)
    changes = {
        "start_at": start_at,
        "end_at": end_at,
        "text": args.text,
        "operator_codes": args.operator,
        "tags": args.tag,
        "window": args.window,
    }
    if all(v is None for v in changes.values()):
        raise _nothing_to_change("mailing", "--start, --end, --text, --operator, --tag, --window")
    record = store.update_mailing(args.id, **changes)
    return Output(record.to_json, lambda: cli_tables.mailings([record], zone), notes)


def mailing_delete(args: argparse.Namespace, store: Store, zone: tzinfo) -> Output:
    store.delete_mailing(args.id)
    return Output(lambda: {"deleted": args.id}, lambda: f"deleted mailing {args.id}")


def _mailing_action(method: Callable[[Store, int], Any], action: MailingAction) -> Handler:
    def handler(args: argparse.Namespace, store: Store, zone: tzinfo) -> Output:
        # The UI's keys ask the same rule (core/actions.py): one refusal, in the same words.
        current = store.get_mailing(args.id)
        require_allowed(current.id, current.state, action)
        record = method(store, args.id)
        return Output(record.to_json, lambda: cli_tables.mailings([record], zone))

    return handler


mailing_pause = _mailing_action(Store.pause_mailing, MailingAction.PAUSE)
mailing_resume = _mailing_action(Store.resume_mailing, MailingAction.RESUME)
mailing_cancel = _mailing_action(Store.cancel_mailing, MailingAction.CANCEL)


def mailing_show(args: argparse.Namespace, store: Store, zone: tzinfo) -> Output:
    record = store.get_mailing(args.id)
    return Output(record.to_json, lambda: cli_tables.mailing(record, zone))


def mailing_list(args: argparse.Namespace, store: Store, zone: tzinfo) -> Output:
    records = store.list_mailings()
    return Output(
        lambda: [r.to_json() for r in records], lambda: cli_tables.mailings(records, zone)
    )


# --- statistics ----------------------------------------------------------------


def stats(args: argparse.Namespace, store: Store, zone: tzinfo) -> Output:
    if args.mailing_id is None:
        for option, value in (
            ("--status", args.status),
            ("--limit", args.limit),
            ("--offset", args.offset),
        ):
            if value is not None:
                raise ValidationError(option, "applies to one mailing; give a MAILING_ID")
        overall = store.overall_stats()
        return Output(overall.to_json, lambda: cli_tables.overall(overall, zone))
    detail = store.mailing_stats(
        args.mailing_id, status=args.status, offset=args.offset or 0, limit=args.limit
    )
    return Output(detail.to_json, lambda: cli_tables.detail(detail, args.status, zone))


HANDLERS: dict[tuple[str, str | None], Handler] = {
    ("client", "add"): client_add,
    ("client", "update"): client_update,
    ("client", "delete"): client_delete,
    ("client", "list"): client_list,
    ("client", "import"): client_import,
    ("client", "export"): client_export,
    ("mailing", "add"): mailing_add,
    ("mailing", "update"): mailing_update,
    ("mailing", "delete"): mailing_delete,
    ("mailing", "pause"): mailing_pause,
    ("mailing", "resume"): mailing_resume,
    ("mailing", "cancel"): mailing_cancel,
    ("mailing", "show"): mailing_show,
    ("mailing", "list"): mailing_list,
    ("stats", None): stats,
}

# Issue 13's commands (stop list, audit, preview, clone, test send, stats --csv);
# imported last, as that module reuses this one's Output and _period.
from notifier_tui.cli.campaign_commands import HANDLERS as _CAMPAIGN  # noqa: E402

HANDLERS.update(_CAMPAIGN)

# ``sender resume|status`` (the store-wide credentials stop and the worker registry).
from notifier_tui.cli.sender_commands import HANDLERS as _SENDER  # noqa: E402

HANDLERS.update(_SENDER)

# ``store copy`` (core/store/copy.py).
from notifier_tui.cli.store_commands import HANDLERS as _STORE  # noqa: E402

HANDLERS.update(_STORE)
