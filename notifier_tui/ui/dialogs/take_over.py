"""Offered when the process that sent for this store has stopped.

The dialog says which settings this process would send with, and where each
came from: after a take-over the UI sends with its own rate limit and
concurrency, not the stopped daemon's, and a daemon held to 20 msg/s
replaced by a UI with no limit is a surprise nobody should find in the
gateway's bill.
"""

from __future__ import annotations

from notifier_tui.core.secret import mask_url
from notifier_tui.settings.config import Settings
from notifier_tui.ui.dialogs.confirm import ConfirmDialog


def _source(settings: Settings, name: str) -> str:
    source = settings.sources.get(name, "default")
    return "" if source == "default" else f"  ({source})"


def settings_lines(settings: Settings, stopped_peak: float | None) -> str:
    """What this process would send with, and how fast the stopped one went."""
    limit = (
        f"{settings.rate_limit:g} msg/s"
        if settings.rate_limit > 0
        else "none: as fast as the gateway answers"
    )
    lines = [
        "This process would send with its own settings:",
        f"  rate limit   {limit}{_source(settings, 'rate_limit')}",
        f"  concurrency  {settings.concurrency} requests at a time"
        f"{_source(settings, 'concurrency')}",
        f"  gateway      {mask_url(settings.base_url)}{_source(settings, 'base_url')}",
    ]
    if stopped_peak is not None and stopped_peak > 0:
        lines.append(f"The stopped process sent at up to {stopped_peak:,.1f} msg/s.")
    lines.append("To change them, start again with --rate-limit or --concurrency.")
    return "\n".join(lines)


class TakeOverDialog(ConfirmDialog):
    """Asks whether this process should take over sending; ``True`` means yes."""

    def __init__(self, settings: Settings, stopped_peak: float | None = None) -> None:
        super().__init__(
            "Sending has stopped",
            "The process that was sending for this store has stopped.\n"
            "Take over sending here? (Or press t later.)\n\n"
            + settings_lines(settings, stopped_peak),
            yes="Take over",
            danger=False,
        )
