"""The Textual application: four screens over one store, with the sender in the same loop.

Everything comes in through the constructor (settings, store, sender, clock);
:func:`create_app` builds them for the command line, the demo, the tests and
the screenshot script alike. The sender's events arrive through
:mod:`notifier_tui.ui.bridge`; the app keeps :attr:`NotifierApp.snapshot`
current and forwards each event to the active screen.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Iterable
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from textual import events
from textual.app import SystemCommand
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, TextArea
from textual.worker import Worker

from notifier_tui.core.clock import utcnow
from notifier_tui.core.store import Store
from notifier_tui.settings.config import Settings, sender_config
from notifier_tui.settings.logs import LogRing
from notifier_tui.settings.paths import data_dir
from notifier_tui.settings.zones import display_zone, machine_zone
from notifier_tui.ui.bridge import Coalescer, SenderBridge
from notifier_tui.ui.hangup import detach_output, exit_without_terminal, terminal_hung_up
from notifier_tui.ui.live import LiveApp
from notifier_tui.ui.messages import StoreChanged
from notifier_tui.ui.palette import palette_commands, writable_dir
from notifier_tui.ui.screens.clients import ClientsScreen
from notifier_tui.ui.screens.help import HelpScreen
from notifier_tui.ui.screens.log import LogScreen
from notifier_tui.ui.screens.mailings import MailingsScreen
from notifier_tui.ui.screens.stats import StatsScreen
from notifier_tui.ui.screens.stoplist import StopListScreen
from notifier_tui.ui.screens.too_small import MIN_SIZE, TooSmallScreen
from notifier_tui.ui.widgets.header import SCREENS
from notifier_tui.ui.workers import report_worker_failure

if TYPE_CHECKING:
    from notifier_tui.core.sending.sender import Sender
    from notifier_tui.core.sending.sender_thread import SenderThread

log = logging.getLogger("notifier_tui.ui")

_STOP_TIMEOUT = 15.0
"""Seconds the sender gets to stop at quit before the app exits anyway."""


@runtime_checkable
class Simulator(Protocol):
    """What the app needs of the built-in gateway simulator (``--demo``)."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...


class NotifierApp(LiveApp):
    """Clients, mailings, statistics and the log, switched with 1-4."""

    CSS_PATH = "app.tcss"
    TITLE = "notifier-tui"
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        "clients": ClientsScreen,
        "mailings": MailingsScreen,
        "stats": StatsScreen,
        "log": LogScreen,
    }
    DEFAULT_MODE = "clients"
    BINDINGS: ClassVar[list[BindingType]] = [
        # Priority: the app handles these before the key travels to the focused widget and
        # back up, a few loop turns that add up while the sender keeps the loop busy.
        # check_action lets the key through to a focused text field.
        # The header's tab bar names the screens with their keys, so the footer need not.
        *(
            Binding(key, f"switch_mode('{mode}')", label, priority=True, show=False)
            for key, mode, label in SCREENS
        ),
        # Quit before the occasional keys, so a narrow footer never cuts it off.
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("t", "take_over", "Take over"),
        Binding("r", "resume_dispatch", "Resume sending"),
        # Off the footers, which 80 columns fill already: ? and the palette list it.
        Binding("o", "stoplist", "Stop list (opt-outs)", show=False),
    ]

    def __init__(
        self,
        settings: Settings,
        store: Store,
        sender: Sender | SenderThread | None,
        *,
        log_ring: LogRing | None = None,
        clock: Callable[[], datetime] | None = None,
        simulator: object | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self._screenshot_target: str | None = None
        """Where the latest screenshot was to go (named if its delivery fails)."""
        self.store = store
        self.sender = sender
        self.log_ring = log_ring if log_ring is not None else LogRing()
        self.clock: Callable[[], datetime] = clock or utcnow
        self.simulator = simulator
        self.display_tz: tzinfo = display_zone(settings.display_timezone)
        """The one zone every time is shown and typed in (``settings.display_timezone``)."""
        self.log_zone: tzinfo = machine_zone()
        """The zone the log's lines were written in (logging uses the machine's local time)."""
        self.bridge = SenderBridge(self.post_message)
        self._store_changes = Coalescer(self._store_written, 0.2)
        self._stopping = False
        self._terminal_gone = False
        if sender is not None:
            sender.add_listener(self.bridge)

    # --- life cycle -----------------------------------------------------------

    def on_mount(self) -> None:
        loop = asyncio.get_running_loop()
        self.bridge.bind(loop)
        self._store_changes.bind(loop)
        self.store.add_listener(self._store_changes.poke)
        if not self.is_headless:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                # Over SSH a hang-up must stop the sender cleanly, not kill it mid-batch.
                loop.add_signal_handler(signal.SIGHUP, self._hung_up)
        if self.sender is not None or self.simulator is not None:
            self.run_worker(self._run_sender(), name="sender", group="sender", exit_on_error=False)
        self.set_interval(1.0, self._tick)
        self._tick()

    def on_unmount(self) -> None:
        self.store.remove_listener(self._store_changes.poke)

    async def _run_sender(self) -> None:
        if isinstance(self.simulator, Simulator):
            await self.simulator.start()
        if self.sender is not None:
            await self.sender.run()

    async def action_quit(self) -> None:
        """Stop the sender (requests in flight finish or go back to pending), then exit."""
        if self._stopping:
            return
        self._stopping = True
        if self.sender is not None and not self._terminal_gone:
            self.notify("Stopping: letting requests in flight finish…", timeout=_STOP_TIMEOUT)
        self.run_worker(self._shut_down(), name="shutdown", exit_on_error=False)

    async def _shut_down(self) -> None:
        try:
            if self.sender is not None and self._sender_running():
                await asyncio.wait_for(self.sender.stop(), _STOP_TIMEOUT)
            if isinstance(self.simulator, Simulator):
                await self.simulator.stop()
        except Exception:
            log.exception("clean stop failed; unsent messages are recovered at the next start")
        finally:
            if self._terminal_gone:
                exit_without_terminal(self.store.close)
            self.exit(0)

    def _sender_running(self) -> bool:
        return any(w.name == "sender" and w.is_running for w in self.workers)

    def _hung_up(self) -> None:
        if self._terminal_gone:
            return
        if not self.is_headless and terminal_hung_up():
            # The tty is gone, not just signalled: nothing can be drawn or restored.
            self._terminal_gone = True
            detach_output()
        log.warning("terminal hung up: stopping the sender and exiting")
        self.call_later(self.action_quit)

    # --- once a second ----------------------------------------------------------

    def _tick(self) -> None:
        if not self.screen_stack:
            # The timer can fire once more while the app is shutting down and its
            # screens are already gone: nothing to check or refresh then.
            return
        if not self.is_headless and terminal_hung_up():
            self._hung_up()
        self._check_size()
        self.refresh_live()

    def on_resize(self, event: events.Resize) -> None:
        # self.size catches up only after Textual's own resize timer: use the event's.
        self._check_size(event.size)

    def _check_size(self, size: Size | None = None) -> None:
        if not self.screen_stack:
            return
        width, height = size or self.size
        small = width < MIN_SIZE[0] or height < MIN_SIZE[1]
        showing = isinstance(self.screen, TooSmallScreen)
        if small and not showing:
            self.push_screen(TooSmallScreen())
        elif showing and not small:
            self.pop_screen()

    # --- the core's news --------------------------------------------------------

    def _store_written(self) -> None:
        if self.is_running and self.screen_stack:
            self.screen.post_message(StoreChanged())

    def after_write(self) -> None:
        """Call after the UI wrote to the store: the sender looks again at once."""
        if self.sender is not None:
            self.sender.wake()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "switch_mode":
            # Keys typed into a dialog or the too-small view must not switch screens under it.
            if isinstance(self.screen, ModalScreen | TooSmallScreen):
                return False
            # A digit typed into a search box is a digit (None: shown, dimmed, and skipped).
            return None if isinstance(self.focused, Input | TextArea) else True
        if action == "take_over":
            return self.takeover_offered
        if action == "stoplist":
            return not isinstance(self.screen, ModalScreen | TooSmallScreen)
        if action == "resume_dispatch":
            return self.may_resume()
        return True

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from palette_commands(self, screen)

    # --- help and screenshots -----------------------------------------------------

    def action_stoplist(self) -> None:
        """The stop list: phones that never get a message."""
        if not isinstance(self.screen, StopListScreen):
            self.push_screen(StopListScreen())

    def action_help(self) -> None:
        """Every key of every screen, on one page."""
        if not isinstance(self.screen, HelpScreen | TooSmallScreen):
            self.push_screen(HelpScreen())

    def screenshot_dir(self) -> Path:
        """Where screenshots go: the user data dir if it can be written, else the cwd."""
        return writable_dir([data_dir() / "screenshots", Path.cwd()])

    def deliver_screenshot(
        self,
        filename: str | None = None,
        path: str | None = None,
        time_format: str | None = None,
    ) -> str | None:
        # Textual's default is the Downloads folder, which a server or a container may
        # not have: the delivery then fails with no word of where it tried.
        self._screenshot_target = path or str(self.screenshot_dir())
        return super().deliver_screenshot(filename, self._screenshot_target, time_format)

    def on_delivery_failed(self, event: events.DeliveryFailed) -> None:
        # Textual only says "Failed to save screenshot": say where, and why, in the
        # log too, so a server's operator can find out without the screen.
        where = self._screenshot_target or "?"
        log.error("could not save the %s to %s: %s", event.name or "file", where, event.exception)
        self.notify(f"{where}: {event.exception}", title="Not saved", severity="error")

    # --- errors -----------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_failure(self, event.worker, event.state)


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    sender: bool = True,
    clock: Callable[[], datetime] | None = None,
    log_ring: LogRing | None = None,
    simulator: object | None = None,
) -> NotifierApp:
    """Build the app the way the command line, the demo, the tests and the screenshots need it.

    Args:
        settings: resolved settings.
        store: an open store; one on ``settings.db`` is opened when omitted.
        sender: whether this process may send (it still stands by if another holds the lease).
        clock: the clock for the store (when opened here) and the app.
        log_ring: the in-memory log lines the Log screen shows.
        simulator: a gateway simulator the app starts before the sender and stops after it.
    """
    if store is None:
        if clock is not None:
            store = Store(settings.db, default_timezone=settings.default_timezone, clock=clock)
        else:
            store = Store(settings.db, default_timezone=settings.default_timezone)
    the_sender = None
    if sender:
        from notifier_tui.core.sending.sender_thread import SenderThread, default_loop_factory

        def build() -> Sender:
            # Runs on the sender's own thread when it starts: the HTTP stack is
            # imported there, after the first frame, not before it.
            from notifier_tui.core.sending.sender import Sender

            return Sender(store, sender_config(settings, role="ui", auto_takeover=False))

        # The sender gets a loop and a thread of its own: the UI's loop only
        # renders and reacts, however hard the sender works.
        the_sender = SenderThread.lazy(
            build,
            store,
            loop_factory=default_loop_factory(getattr(settings, "event_loop", "auto")),
        )
    return NotifierApp(
        settings,
        store,
        the_sender,
        log_ring=log_ring,
        clock=clock or store.clock,
        simulator=simulator,
    )
