"""Offered when the process that sent for this store has stopped."""

from __future__ import annotations

from notifier_tui.ui.dialogs.confirm import ConfirmDialog


class TakeOverDialog(ConfirmDialog):
    """Asks whether this process should take over sending; ``True`` means yes."""

    def __init__(self) -> None:
        super().__init__(
            "Sending has stopped",
            "The process that was sending for this store has gone away.\n"
            "Take over sending in this process? (You can also press t later.)",
            yes="Take over",
            danger=False,
        )
