"""The sender on its own thread: sender code runs only there, and typing arrives intact.

The app runs with the real sender (its own loop, its own thread) sending 5,000
messages to the simulator, which runs on yet another thread so its work never
lands on the UI's loop either. Meanwhile a user types into the client form.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from textual.widgets import Input

from notifier_tui.core.secret import Secret
from notifier_tui.core.sending.sender import Sender
from notifier_tui.core.sending.sender_thread import SenderThread
from notifier_tui.core.store import Store
from notifier_tui.settings.config import Settings
from notifier_tui.sim.simulator import SimulatorConfig, start_in_thread
from notifier_tui.ui.app import NotifierApp, create_app
from tests import waits
from tests.ui.conftest import SIZE, add_clients

pytestmark = pytest.mark.timeout(120)

CLIENTS = 5000
ENTRY_POINTS = ("snapshot", "take_over", "resume_dispatch", "set_token", "run", "stop")


@pytest.fixture
def live_store(settings: Settings) -> Iterator[Store]:
    store = Store(settings.db, default_timezone=settings.default_timezone)
    yield store
    store.close()


@pytest.fixture
def entry_threads(monkeypatch: pytest.MonkeyPatch) -> dict[str, set[int]]:
    """Record the thread every call into the sender's entry points runs on."""
    seen: dict[str, set[int]] = {name: set() for name in ENTRY_POINTS}

    def spy(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self: Sender, *args: Any, **kwargs: Any) -> Any:
            seen[name].add(threading.get_ident())
            return original(self, *args, **kwargs)

        return wrapper

    for name in ENTRY_POINTS:
        monkeypatch.setattr(Sender, name, spy(name, getattr(Sender, name)))
    return seen


async def _sent(store: Store) -> int:
    return (await store.run(store.overall_stats)).by_status.get("sent", 0)


async def _until(condition: Callable[[], Any], timeout: float, what: str) -> None:
    await waits.until(condition, timeout=timeout, what=what)


async def test_typing_is_intact_while_5000_messages_go_out_from_the_sender_thread(
    settings: Settings, live_store: Store, entry_threads: dict[str, set[int]]
) -> None:
    add_clients(live_store, CLIENTS)
    now = datetime.now(UTC)
    live_store.create_mailing(now - timedelta(minutes=1), now + timedelta(hours=1), "Hello")
    sim = start_in_thread(SimulatorConfig(seed=5))
    app: NotifierApp = create_app(
        replace(settings, base_url=sim.base_url, token=Secret("t"), concurrency=64),
        store=live_store,
        sender=True,
    )
    app.animation_level = "none"
    ui_thread = threading.get_ident()
    typed_phone, typed_tag = "8 (916) 777-66-55", "under-load"
    try:
        async with app.run_test(size=SIZE) as pilot:
            handle = app.sender
            assert isinstance(handle, SenderThread)
            await _until(lambda: _ge(live_store, 300), 30, "sending did not start")
            await pilot.press("n")
            await pilot.pause()
            phone_box = app.screen.query_one("#phone", Input)
            phone_box.focus()
            # Typed key by key as a terminal delivers them, with corrections.
            for key in [*typed_phone, "x", "backspace"]:
                await pilot.press(key)
            await pilot.press("tab")
            await pilot.pause()
            tag_box = app.screen.query_one("#tag", Input)
            for key in [*typed_tag, "z", "z", "backspace", "backspace"]:
                await pilot.press(key)
            await pilot.pause()
            assert phone_box.value == typed_phone
            assert tag_box.value == typed_tag
            sent_while_typing = await _sent(live_store)
            await pilot.press("escape")
            await _until(lambda: _ge(live_store, CLIENTS), 60, "not everything went out")
            await pilot.press("q")
            await _until(lambda: _not_running(app), 15, "q did not quit")
    finally:
        sim.stop()
    assert 300 <= sent_while_typing <= CLIENTS
    assert handle.thread_id is not None and handle.thread_id != ui_thread
    called = {name: threads for name, threads in entry_threads.items() if threads}
    assert {"run", "snapshot", "stop"} <= set(called)
    assert all(threads == {handle.thread_id} for threads in called.values()), called
    assert live_store.lease_holder(settings.lease_ttl) is None


async def _ge(store: Store, n: int) -> bool:
    return await _sent(store) >= n


async def _not_running(app: NotifierApp) -> bool:
    return not app.is_running


def test_controls_from_another_thread_run_on_the_sender_thread(
    settings: Settings, live_store: Store, entry_threads: dict[str, set[int]]
) -> None:
    """take_over / resume / set_token called from here are handed to the sender's loop."""
    handle = SenderThread(Sender(live_store, _config(settings)))
    handle.start()
    try:
        handle.take_over()
        handle.resume_dispatch("test")
        handle.set_token("new-token")
        deadline = time.monotonic() + 5
        while not all(entry_threads[n] for n in ("take_over", "resume_dispatch", "set_token")):
            assert time.monotonic() < deadline, entry_threads
            time.sleep(0.01)
    finally:
        asyncio.run(handle.stop(timeout=10))
    here = threading.get_ident()
    for name in ("take_over", "resume_dispatch", "set_token", "run", "stop"):
        assert entry_threads[name] == {handle.thread_id}, (name, entry_threads[name], here)


def _config(settings: Settings) -> Any:
    from notifier_tui.settings.config import sender_config

    return sender_config(settings, role="ui", auto_takeover=False)
