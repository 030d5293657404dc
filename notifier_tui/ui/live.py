"""The part of the app that follows the sender: live figures, the lease, take-over, alerts.

:class:`LiveApp` is the base of :class:`~notifier_tui.ui.app.NotifierApp`. It
keeps :attr:`LiveApp.snapshot` current (the sender's own once-a-second
snapshot while this process sends, figures read from the store otherwise),
turns the sender's rarer events into notifications, offers to take over when
the process that sent goes away, and forwards every event to the active
screen.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from textual.app import App
from textual.reactive import var
from textual.screen import ModalScreen

from notifier_tui.core import events as ev
from notifier_tui.core.standby import StandbyFigures
from notifier_tui.core.store import control as store_control
from notifier_tui.ui.bridge import SenderActivity, SenderEvent
from notifier_tui.ui.dialogs.take_over import TakeOverDialog
from notifier_tui.ui.workers import PeriodicRead

if TYPE_CHECKING:
    from notifier_tui.core.sending.sender import Sender
    from notifier_tui.core.sending.sender_thread import SenderThread
    from notifier_tui.core.store import Store
    from notifier_tui.settings.config import Settings

log = logging.getLogger("notifier_tui.ui")


class LiveApp(App[int]):
    """Live figures and the sender's news; subclasses set the attributes below."""

    settings: Settings
    store: Store
    sender: Sender | SenderThread | None

    snapshot: var[ev.SenderSnapshot | None] = var(None)
    """The latest live figures: the sender's own, or read from the store in standby."""
    takeover_offered: var[bool] = var(False)
    """The process that sent has gone and the user may take over (key ``t``)."""

    def __init__(self) -> None:
        super().__init__()
        self._standby = StandbyFigures()
        # The same one-read-at-a-time guard every screen's periodic read uses.
        self._standby_read = PeriodicRead("read the live figures from the store", "standby")
        self._seen_holder = False

    def refresh_live(self) -> None:
        """Once a second: read the figures from the store unless the sender provides them."""
        if self.sender is None or not self.sender.is_holder:
            self._standby_read.start(self, self._read_standby)
        elif self.snapshot is None or not self.snapshot.sending:
            self.snapshot = self.sender.snapshot()

    async def _read_standby(self) -> None:
        holder = self.sender.holder if self.sender is not None else None
        ttl = self.settings.lease_ttl
        figures = await self.store.run(self._standby.read, self.store, ttl, holder)
        if self.sender is None or not self.sender.is_holder:
            self.snapshot = figures

    def on_sender_event(self, message: SenderEvent) -> None:
        event = message.event
        if isinstance(event, ev.SenderSnapshot):
            if event.sending:
                self.snapshot = event
        elif isinstance(event, ev.LeaseChanged):
            self._lease_changed(event)
        elif isinstance(event, ev.SenderError):
            self.notify(f"{event.where}: {event.error}", title="Sender error", severity="error")
        elif isinstance(event, ev.CredentialsRejected):
            self.notify(
                f"{event.reason}. Sending is paused; press r to resume after fixing the token.",
                title="Gateway rejected the token",
                severity="error",
                timeout=30,
            )
            self._refresh_status()
        elif isinstance(event, ev.BreakerChanged) and event.state is ev.BreakerState.OPEN:
            self.notify(
                f"Gateway failing ({event.reason}); pausing before a probe.", severity="warning"
            )
        self.screen.post_message(SenderEvent(event))

    def on_sender_activity(self, message: SenderActivity) -> None:
        self.screen.post_message(SenderActivity(message.sent, message.retries, message.mailing_ids))

    def _lease_changed(self, event: ev.LeaseChanged) -> None:
        if event.ours:
            if self.takeover_offered or self._seen_holder:
                self.notify("This process sends now.")
            self.takeover_offered = False
        elif event.holder is not None:
            self._seen_holder = True
            self.takeover_offered = False
            self.notify(f"Sending is done by {event.holder}; your edits still apply.")
        elif self._seen_holder and self.sender is not None:
            self.takeover_offered = True
            self.notify(
                "The sending process has stopped. Press t to take over sending.",
                severity="warning",
                timeout=15,
            )
            if not isinstance(self.screen, ModalScreen):
                dialog = TakeOverDialog(self.settings, self._stopped_peak())
                self.push_screen(dialog, self._take_over_answered)
        self._refresh_status()

    def _stopped_peak(self) -> float | None:
        """The fastest the stopped process sent over the last minutes, as last read."""
        snapshot = self.snapshot
        if snapshot is None or snapshot.sending or not snapshot.rate_history:
            return None
        return max(snapshot.rate_history)

    def _take_over_answered(self, yes: bool | None) -> None:
        if yes:
            self.action_take_over()

    def _refresh_status(self) -> None:
        if self.sender is not None and self.sender.is_holder:
            self.snapshot = self.sender.snapshot()
        self.refresh_bindings()

    def action_take_over(self) -> None:
        """Send from this process now that nobody else does."""
        if self.sender is not None and self.takeover_offered:
            log.info("user takes over sending")
            self.sender.take_over()
            self.notify("Taking over sending…")

    def may_resume(self) -> bool:
        """A credentials stop is in force: this sender's own, or the store's flag."""
        if self.sender is not None and self.sender.credentials_error is not None:
            return True
        return self.snapshot is not None and self.snapshot.credentials_error is not None

    def action_resume_dispatch(self) -> None:
        """Lift a credentials stop on the user's word.

        With a sender here, through it (it clears the store's flag too); with
        none (a view-only UI beside a daemon), by clearing the store-wide flag
        itself, as ``notifier-tui sender resume`` does: every sender resumes.
        """
        if self.sender is not None and self.sender.credentials_error is not None:
            self.sender.resume_dispatch("resumed by user")
            self._refresh_status()
        elif self.may_resume():
            self.run_worker(self._clear_store_stop(), group="resume", exclusive=True)

    async def _clear_store_stop(self) -> None:
        control = store_control.for_store(self.store)
        flag = await self.store.run(control.clear_credentials_stop)
        log.info("credentials stop cleared by user (was: %s)", flag.reason if flag else "none")
        self.notify("Credentials stop cleared: every sender of this store resumes.")
        self.refresh_live()
