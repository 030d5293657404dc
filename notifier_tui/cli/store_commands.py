"""``notifier-tui store copy --to URL``: move a store to another file or to PostgreSQL.

The copy itself is core/store/copy.py: every table with its ids into an empty
store, in one transaction, each count checked against the target afterwards.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import tzinfo
from typing import Any

from notifier_tui.cli.commands import Output
from notifier_tui.core.errors import ValidationError
from notifier_tui.core.store import Store
from notifier_tui.core.store.copy import copy_store
from notifier_tui.core.store.location import StoreLocation

__all__ = ["HANDLERS"]


def store_copy(args: argparse.Namespace, store: Store, zone: tzinfo) -> Output:
    try:
        target = StoreLocation.parse(args.to)
    except ValueError as err:  # its message shows the URL masked
        raise ValidationError("--to", str(err)) from None
    counts = copy_store(store.db, target)
    shown = target.masked()

    def doc() -> dict[str, Any]:
        return {"source": str(store.location), "target": shown, "copied": counts, "verified": True}

    def text() -> str:
        width = max(len(t) for t in counts) if counts else 0
        lines = [f"{table:<{width}}  {n:>10,}" for table, n in counts.items()]
        lines.append(f"copied to {shown}; every count verified in the target")
        return "\n".join(lines)

    return Output(doc, text)


HANDLERS: dict[tuple[str, str | None], Callable[[argparse.Namespace, Store, tzinfo], Output]] = {
    ("store", "copy"): store_copy
}
