"""Handlers of issue 13's commands: preview, clone, test send, stop list, audit, CSV export.

Same contract as :mod:`notifier_tui.cli.commands` (whose ``HANDLERS`` lists
these): each takes the parsed arguments, an open store and the display zone
and returns an ``Output``. The store does the work and records the audit
row; these only translate arguments. The run's settings (rate limit,
gateway) are ``args.settings``, put there by ``runners.run_store_command``.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from notifier_tui.cli import render
from notifier_tui.cli.terminal import complain
from notifier_tui.core import rules
from notifier_tui.core.errors import ValidationError
from notifier_tui.core.store.campaign import parse_only
from notifier_tui.core.store.campaign_ops import Preview
from notifier_tui.settings.exit_codes import Exit

if TYPE_CHECKING:
    from notifier_tui.cli.commands import Output
    from notifier_tui.core.store import Store

PROG = "notifier-tui"


def _output(
    doc: Callable[[], Any], text: Callable[[], str], notes: list[str] | None = None
) -> Output:
    # Imported here: commands.py imports this module for its HANDLERS.
    from notifier_tui.cli.commands import Output

    return Output(doc, text, notes or [])


def _fail(line: str) -> None:
    """One error line and exit status 1 (a gateway problem, not bad input)."""
    complain(f"{PROG}: error: {' '.join(line.split())}")
    raise SystemExit(Exit.ERROR)


# --- stop list -------------------------------------------------------------------


def _stop_text(verb: str, change: Any, other: str, messages: str) -> str:
    text = f"{verb} {len(change.changed)} phone(s)"
    if change.unchanged:
        text += f"; {len(change.unchanged)} {other}"
    if change.messages:
        text += f"; {change.messages} pending message(s) {messages}"
    return text


def stoplist_add(args: argparse.Namespace, store: Store, zone: tzinfo) -> Output:
    change = store.stoplist_add(args.phones)
    return _output(
        change.to_json,
        lambda: _stop_text("stop-listed", change, "already listed", "cancelled"),
    )


def stoplist_remove(args: argparse.Namespace, store: Store, zone: tzinfo) -> Output:
    change = store.stoplist_remove(args.phones)
    return _output(
        change.to_json,
        lambda: _stop_text("removed", change, "were not listed", "given back"),
    )


def stoplist_list(args: argparse.Namespace, store: Store, zone: tzinfo) -> Output:
    entries = store.stoplist_entries()

    def text() -> str:
        if not entries:
            return "the stop list is empty"
        return render.table(
            ("PHONE", "ADDED"), ((e.phone, render.local(e.added_at, zone)) for e in entries)
        )

    return _output(lambda: [e.to_json() for e in entries], text)


def stoplist_import(args: argparse.Namespace, store: Store, zone: tzinfo) -> Output:
    change = store.stoplist_import(args.file)
    return _output(
        change.to_json,
        lambda: (
            _stop_text("stop-listed", change, "already listed", "cancelled") + f" from {args.file}"
        ),
    )


# --- audit -----------------------------------------------------------------------


def audit(args: argparse.Namespace, store: Store, zone: tzinfo) -> Output:
    since = None
    if args.since is not None:
        since = rules.parse_when(args.since, datetime.now(UTC), zone, field="--since")
    # A deleted mailing keeps its audit rows, so --mailing takes any id.
    entries = store.audit_entries(mailing_id=args.mailing, since=since, limit=args.limit)

    def text() -> str:
        if not entries:
            return "no audit entries"
        return render.table(
            ("WHEN", "USER", "HOST", "SURFACE", "ACTION", "OBJECT", "CHANGE"),
            (
                (
                    render.local(e.at, zone, seconds=True),
                    e.os_user,
                    e.host,
                    e.surface,
                    e.action,
                    e.object_kind if e.object_id is None else f"{e.object_kind} {e.object_id}",
                    render.one_line(e.describe_change(), 80),
                )
                for e in entries
            ),
        )

    return _output(lambda: [e.to_json() for e in entries], text)


# --- preview ---------------------------------------------------------------------

_DRAFT_OPTIONS = ("start", "end", "text", "operator", "tag", "window")


def _rate_limit(args: argparse.Namespace) -> float | None:
    settings = getattr(args, "settings", None)
    rate = getattr(settings, "rate_limit", None)
    return float(rate) if rate else None


def mailing_preview(args: argparse.Namespace, store: Store, zone: tzinfo) -> Output:
    from notifier_tui.cli.commands import _period

    given = [name for name in _DRAFT_OPTIONS if getattr(args, name) is not None]
    rate = _rate_limit(args)
    notes: list[str] = []
    if args.id is not None:
        if given:
            raise ValidationError(
                f"--{given[0]}", "give a MAILING_ID or the options of `mailing add`, not both"
            )
        preview = store.preview_mailing(args.id, rate_limit=rate)
    else:
        for name in ("start", "end"):
            if getattr(args, name) is None:
                raise ValidationError(f"--{name}", "required without a MAILING_ID")
        start_at, end_at, notes = _period(args, zone)
        assert start_at is not None and end_at is not None
        preview = store.preview_draft(
            start_at,
            end_at,
            operator_codes=args.operator or (),
            tags=args.tag or (),
            window=args.window,
            text=args.text,
            rate_limit=rate,
        )
    return _output(preview.to_json, lambda: preview_text(preview, zone), notes)


def preview_text(p: Preview, zone: tzinfo) -> str:
    """The readable projection: figures, then the histogram of window openings."""
    pr = p.projection
    if pr.rate is None:
        rate = "unknown (no rate_limit, nothing sent lately): windows only"
    elif p.rate_source == "measured":
        rate = f"{pr.rate:.3g} msg/s (the last measured send rate)"
    else:
        rate = f"{pr.rate:g} msg/s (rate_limit)"
    if pr.finish_at is not None:
        finish = render.local(pr.finish_at, zone)
    elif pr.audience == 0:
        finish = "- (nobody to send to)"
    else:
        finish = "not before the end"
    rows: list[tuple[str, object]] = [
        ("audience", f"{pr.audience} (stop list excludes {p.excluded})"),
        ("in window", f"{pr.in_window} of {pr.audience} have their window open before the end"),
        ("span", f"{render.local(p.since, zone)} - {render.local(p.end_at, zone)}"),
        ("rate", rate),
        ("finish", finish),
        ("will miss", f"{pr.will_miss} will not be sent before the end"),
    ]
    if p.segments is not None:
        rows.append(("segments", p.segments.describe()))
    peak = max(pr.window_opens) or 1
    bars = [
        f"  +{hour:02d}h {'#' * max(1, round(20 * n / peak))} {n}"
        for hour, n in enumerate(pr.window_opens)
        if n
    ]
    body = render.pairs(rows)
    if bars:
        body += "\nwindows open (hours after the start):\n" + "\n".join(bars)
    return body


# --- clone -----------------------------------------------------------------------


def mailing_clone(args: argparse.Namespace, store: Store, zone: tzinfo) -> Output:
    from notifier_tui.cli.commands import _period

    only = parse_only(args.only) if args.only else None
    start_at, end_at, notes = _period(args, zone)
    assert start_at is not None and end_at is not None  # required by the parser
    record = store.clone_mailing(
        args.id, start_at=start_at, end_at=end_at, only=only, text=args.text
    )
    listed = store.explicit_clients(record.id)
    audience = len(listed) if listed else store.audience_count(record.operator_codes, record.tags)
    doc = {**record.to_json(), "cloned_from": args.id, "audience": audience}
    which = f"{'/'.join(sorted(only))} " if only else ""
    return _output(
        lambda: doc,
        lambda: (
            render.mailings([record], zone)
            + f"\nmailing {record.id} is for the {audience} {which}client(s) of mailing {args.id}"
        ),
        notes,
    )


# --- test send -------------------------------------------------------------------


def mailing_test(args: argparse.Namespace, store: Store, zone: tzinfo) -> Output:
    from notifier_tui.core.sending.gateway import GatewayClient
    from notifier_tui.core.sending.trial import TrialProblem, send_trial

    settings = args.settings
    phone = rules.normalize_phone(args.phone)
    store.get_mailing(args.id)  # a missing mailing is bad input, before any check of the token
    token = settings.token.reveal()
    if not token.strip():
        _fail(
            "gateway: no token set; give --token-file PATH, NOTIFIER_TOKEN or token in the"
            " config file"
        )

    async def run() -> Any:
        async with GatewayClient(settings.base_url, token, timeout=settings.timeout) as client:
            return await send_trial(store, client, args.id, phone)

    trial = asyncio.run(run())
    if trial.problem is TrialProblem.REFUSED_TOKEN:
        _fail(f"gateway: the token was refused ({trial.answer()}); check the token")
    if trial.problem is TrialProblem.UNREACHABLE:
        _fail(f"gateway: cannot reach {settings.base_url} ({trial.result.reason})")
    return _output(
        trial.to_json,
        lambda: render.pairs(
            [
                ("test send", f"mailing {args.id} to {trial.phone} (id {trial.msg_id})"),
                ("outcome", trial.result.outcome.value),
                ("gateway", trial.answer()),
            ]
        ),
    )


# --- statistics ------------------------------------------------------------------


def stats(args: argparse.Namespace, store: Store, zone: tzinfo) -> Output:
    """``stats``: the counts of commands.py plus segments, or ``ID --csv FILE``."""
    from notifier_tui.cli import commands

    if args.csv is None:
        return commands.stats(args, store, zone)
    if args.mailing_id is None:
        raise ValidationError("--csv", "exports one mailing; give a MAILING_ID")
    for option, value in (
        ("--status", args.status),
        ("--limit", args.limit),
        ("--offset", args.offset),
    ):
        if value is not None:
            raise ValidationError(option, "does not apply to --csv, which writes every message")
    path = Path(args.csv)
    try:
        count = store.export_mailing_csv(args.mailing_id, path)
    except OSError as err:
        raise ValidationError("--csv", f"cannot write {path}: {err.strerror}") from None
    return _output(
        lambda: {"exported": count, "file": str(path), "mailing_id": args.mailing_id},
        lambda: f"exported {count} message(s) of mailing {args.mailing_id} to {path}",
    )


HANDLERS: dict[tuple[str, str | None], Callable[[argparse.Namespace, Store, tzinfo], Output]] = {
    ("stoplist", "add"): stoplist_add,
    ("stoplist", "remove"): stoplist_remove,
    ("stoplist", "list"): stoplist_list,
    ("stoplist", "import"): stoplist_import,
    ("audit", None): audit,
    ("mailing", "preview"): mailing_preview,
    ("mailing", "clone"): mailing_clone,
    ("mailing", "test"): mailing_test,
    ("stats", None): stats,
}
