"""``notifier-tui sender resume|status``: the senders of a store, seen and steered from the CLI.

Every sender of a store (daemons, ``--workers`` children, a UI that sends)
obeys one store-wide credentials stop and publishes a row of live figures
(core/store/control.py, core/store/workers.py). ``sender resume`` clears the
stop, so every sender resumes within about a second, on this host or any
other; ``sender status`` lists the live senders and the stop, if one is set.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

from notifier_tui.cli.commands import Output
from notifier_tui.core.sending.fleet import stale_after
from notifier_tui.core.store import Store
from notifier_tui.core.store import control as store_control
from notifier_tui.core.store import workers as registry

__all__ = ["HANDLERS"]


def _when(value: datetime, zone: tzinfo) -> str:
    local = value.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname() or ''}".rstrip()


def sender_resume(args: argparse.Namespace, store: Store, zone: tzinfo) -> Output:
    flag = store_control.for_store(store).clear_credentials_stop()
    if flag is None:
        return Output(
            lambda: {"resumed": False, "stop": None},
            lambda: "no credentials stop was set; the senders were not stopped",
        )
    stop = {"reason": flag.reason, "by": flag.by, "at": flag.at.isoformat()}
    return Output(
        lambda: {"resumed": True, "stop": stop},
        lambda: (
            f"resumed every sender (the stop set {_when(flag.at, zone)} by {flag.by}:"
            f" {flag.reason})"
        ),
    )


def sender_status(args: argparse.Namespace, store: Store, zone: tzinfo) -> Output:
    ttl = float(getattr(args.settings, "lease_ttl", 5.0))
    rows = registry.for_store(store).live(stale_after(ttl))
    flag = store_control.for_store(store).credentials_stop()
    now = store.clock()

    def doc() -> dict[str, Any]:
        return {
            "credentials_stop": None
            if flag is None
            else {"reason": flag.reason, "by": flag.by, "at": flag.at.isoformat()},
            "workers": [
                {
                    "owner": r.owner,
                    "host": r.host,
                    "pid": r.pid,
                    "role": r.role,
                    "leader": r.leader,
                    "sending": r.sending,
                    "started_at": r.started_at.isoformat(),
                    "heartbeat_at": r.heartbeat_at.isoformat(),
                    "share": r.share,
                    "figures": r.figures,
                }
                for r in rows
            ],
        }

    def text() -> str:
        lines = []
        if flag is not None:
            lines.append(
                f"credentials stop: {flag.reason} (seen by {flag.by}, {_when(flag.at, zone)});"
                " `notifier-tui sender resume` lifts it"
            )
        if not rows:
            lines.append("no live sender")
        for r in rows:
            f = r.figures
            age = (now - r.heartbeat_at).total_seconds()
            lines.append(
                f"{r.describe():40} {'leader' if r.leader else 'worker':6}"
                f" {'sending' if r.sending else 'standby':7}"
                f" {float(f.get('rate') or 0):7.1f} msg/s  breaker {f.get('breaker', '?')}"
                f"  in flight {f.get('in_flight', 0)}  seen {age:.0f}s ago"
            )
        return "\n".join(lines)

    return Output(doc, text)


HANDLERS: dict[tuple[str, str | None], Callable[[argparse.Namespace, Store, tzinfo], Output]] = {
    ("sender", "resume"): sender_resume,
    ("sender", "status"): sender_status,
}
