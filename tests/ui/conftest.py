"""Fixtures and helpers for the UI tests: a temp SQLite store, a fixed clock, an app factory.

``make_app()`` builds the app exactly as the command line does
(:func:`notifier_tui.ui.app.create_app`), on a store in ``tmp_path`` whose
clock stands still at :data:`T0` unless a test moves it. No sender runs
unless asked for, so nothing on screen depends on timing. The helpers below
(``settle``, ``go``, ``fill``, ``form_errors``, ``cell``, ``screen_text``) are
the one copy every UI test file uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, TextArea
from textual.worker import WorkerCancelled, WorkerFailed

from notifier_tui.core.store import Store
from notifier_tui.settings.config import Settings
from notifier_tui.ui.app import NotifierApp, create_app
from notifier_tui.ui.widgets.field import FormField
from tests.fakeclock import FakeClock as _FakeClock

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
"""The fixed "now" of every UI test: 13:00 in Moscow, a Tuesday."""

SIZE = (80, 24)
"""The smallest supported terminal, the size most tests run at."""


class FakeClock(_FakeClock):
    """The shared fake clock, starting at this suite's :data:`T0`."""

    def __init__(self, now: datetime = T0) -> None:
        super().__init__(now)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings pointing into ``tmp_path``: never the user's store, log or gateway."""
    return replace(
        Settings(),
        db=tmp_path / "store.db",
        log_file=tmp_path / "notifier.log",
        default_timezone="Europe/Moscow",
        display_timezone="Europe/Moscow",
        lease_ttl=2.0,
    )


@pytest.fixture
def store(settings: Settings, clock: FakeClock) -> Iterator[Store]:
    s = Store(settings.db, default_timezone=settings.default_timezone, clock=clock)
    yield s
    s.close()


AppFactory = Callable[..., NotifierApp]


@pytest.fixture
def make_app(settings: Settings, store: Store, clock: FakeClock) -> AppFactory:
    """``make_app(sender=False, **create_app_kwargs)``: the app on the test store."""

    def make(*, sender: bool = False, **kwargs: Any) -> NotifierApp:
        kwargs.setdefault("settings", settings)
        kwargs.setdefault("store", store)
        kwargs.setdefault("clock", clock)
        app = create_app(kwargs.pop("settings"), sender=sender, **kwargs)
        app.animation_level = "none"
        # Log lines carry the writing machine's local time: here, as if written in Moscow,
        # so what the log screen shows does not depend on the machine running the tests.
        app.log_zone = ZoneInfo("Europe/Moscow")
        return app

    return make


def phone(n: int) -> str:
    """A distinct valid phone for ``n`` (operator 900)."""
    return f"7900{n:07d}"


def add_clients(store: Store, n: int, *, tag: str = "", tz: str = "Europe/Moscow") -> None:
    """``n`` clients in one bulk insert (the import path: fast for thousands)."""
    rows = [(i + 2, {"phone": phone(i), "tag": tag, "timezone": tz}) for i in range(n)]
    store.import_rows(rows)


async def settle(pilot: Pilot[Any]) -> None:
    """Let workers finish and the screen repaint; stop cursors blinking for snapshots."""
    app = pilot.app
    for _ in range(3):
        # The sender's worker runs until quit: wait for everything else.
        for worker in [w for w in app.workers if w.group != "sender"]:
            # A superseded exclusive worker is cancelled, a failed one is reported by the app.
            with contextlib.suppress(WorkerCancelled, WorkerFailed):
                await asyncio.wait_for(worker.wait(), 10)
        await pilot.pause()
    for widget in app.screen.query("Input, TextArea"):
        assert isinstance(widget, Input | TextArea)
        widget.cursor_blink = False
    await pilot.pause()


async def wait_for(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Pause until ``condition()`` holds; fail after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await pilot.pause(0.02)


async def go(pilot: Pilot[Any], *keys: str) -> None:
    """Settle, then press each key and settle after it."""
    await settle(pilot)
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


def fill(pilot: Pilot[Any], **values: str) -> None:
    """Set form controls by id: ``fill(pilot, phone="7900...", text="Hi")``."""
    for name, value in values.items():
        widget = pilot.app.screen.query_one(f"#{name}")
        if isinstance(widget, TextArea):
            widget.text = value
        else:
            assert isinstance(widget, Input)
            widget.value = value


def form_errors(pilot: Pilot[Any]) -> dict[str, str]:
    """The error shown under each invalid field of the current form, by field name."""
    return {f.field_name: f.error for f in pilot.app.screen.query(FormField) if f.error is not None}


def cell(table: DataTable[Any], row: int | str, column: str) -> str:
    """What a cell shows, as text."""
    value = table.get_cell(str(row), column)
    return getattr(value, "plain", str(value))


def screen_text(app: App[Any]) -> str:
    """The current screen as plain text, as a user would read it."""
    console = Console(
        width=app.size.width,
        height=app.size.height,
        file=io.StringIO(),
        record=True,
        legacy_windows=False,
        color_system=None,
    )
    console.print(
        app.screen._compositor.render_update(
            full=True, screen_stack=app._background_screens, simplify=True
        )
    )
    return console.export_text()


def notices(app: App[Any]) -> list[str]:
    """The messages of the notifications shown so far."""
    return [n.message for n in app._notifications]
