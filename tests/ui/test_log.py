"""The log screen: the ring's lines, new lines from any thread in batches, the filter."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Log

from notifier_tui.core.store import Store
from notifier_tui.settings.logs import LogRing
from notifier_tui.ui.screens import log as log_screen
from notifier_tui.ui.screens.log import LogScreen, compact, compile_filter
from tests.ui.conftest import AppFactory, screen_text, settle, wait_for
from tests.ui.stats_harness import FakeClock, StatsTestApp


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "store.db", clock=FakeClock())
    yield s
    s.close()


@pytest.fixture
def ring() -> Iterator[LogRing]:
    """A ring fed by its own logger, like the app's."""
    ring = LogRing(capacity=500)
    logger = logging.getLogger("notifier_tui.test_log_screen")
    logger.addHandler(ring)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield ring
    logger.removeHandler(ring)


def emit(count: int, start: int = 0) -> None:
    logger = logging.getLogger("notifier_tui.test_log_screen")
    for i in range(start, start + count):
        logger.info("answer mailing=1 message=%d client=%d accepted", i, i)


def shown(pilot: Pilot[None]) -> list[str]:
    return list(pilot.app.screen.query_one(Log).lines)


async def flushed(pilot: Pilot[None]) -> None:
    """Long enough for one batch of new lines to be written."""
    await pilot.pause(log_screen.FLUSH_SECONDS + 0.15)


def test_compact_drops_what_every_line_repeats() -> None:
    line = "2026-03-02 09:00:13,042 WARNING notifier_tui.core.sender: breaker opened"
    assert compact(line) == "09:00:13 WARNING core.sender: breaker opened"
    assert compact("some other format") == "some other format"


def test_filter_words_and_key_values() -> None:
    match = compile_filter("message=12")
    assert match is not None
    assert match("x mailing=1 message=12 client=3")
    assert not match("x mailing=1 message=123 client=3")
    assert not match("x mailing=1 message=112 client=3")
    both = compile_filter("ANSWER  client=3")
    assert both is not None
    assert both("answer mailing=1 message=12 client=3")
    assert not both("breaker mailing=1 message=12 client=3")
    partial = compile_filter("acc")
    assert partial is not None and partial("answer accepted")
    assert compile_filter("   ") is None


async def test_shows_the_ring_then_new_lines(store: Store, ring: LogRing) -> None:
    emit(3)
    app = StatsTestApp(store, FakeClock(), log_ring=ring, mode="log")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        lines = shown(pilot)
        assert len(lines) == 3
        assert lines[0].endswith(" test_log_screen: answer mailing=1 message=0 client=0 accepted")
        emit(2, start=3)
        await flushed(pilot)
        assert [line.split("message=")[1].split()[0] for line in shown(pilot)] == [
            "0",
            "1",
            "2",
            "3",
            "4",
        ]
        assert "5 lines" in screen_text(app)


async def test_a_burst_from_threads_is_written_in_few_batches(
    store: Store, ring: LogRing, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = StatsTestApp(store, FakeClock(), log_ring=ring, mode="log")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        view = app.screen.query_one(Log)
        writes: list[int] = []
        original = view.write_lines

        def counting(lines: list[str], scroll_end: bool | None = None) -> Log:
            writes.append(len(lines))
            return original(lines, scroll_end)

        monkeypatch.setattr(view, "write_lines", counting)
        threads = [threading.Thread(target=emit, args=(1000, n * 1000)) for n in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        await flushed(pilot)
        await flushed(pilot)
        assert sum(writes) == 3000
        # Thousands of lines, a handful of writes: one per flush, not one per line.
        assert len(writes) <= 5
        assert len(view.lines) == 3000


async def test_memory_is_bounded(
    store: Store, ring: LogRing, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(log_screen, "MAX_LINES", 50)
    app = StatsTestApp(store, FakeClock(), log_ring=ring, mode="log")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        emit(400)
        await flushed(pilot)
        lines = shown(pilot)
        assert len(lines) == 50
        assert "message=399 " in lines[-1]
        assert "50 lines" in screen_text(app)


async def test_the_filter_narrows_old_and_new_lines(store: Store, ring: LogRing) -> None:
    emit(30)
    app = StatsTestApp(store, FakeClock(), log_ring=ring, mode="log")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"message=12")
        await pilot.pause()
        lines = shown(pilot)
        assert len(lines) == 1 and "message=12 " in lines[0]
        assert "1 matching line  filter: message=12" in screen_text(app)

        emit(1, start=12)  # matches
        emit(1, start=120)  # does not
        await flushed(pilot)
        assert len(shown(pilot)) == 2

        await pilot.press("enter")
        assert isinstance(app.focused, Log)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.query_one(Input).value == ""
        assert len(shown(pilot)) == 32


async def test_lines_while_hidden_show_on_return(store: Store, ring: LogRing) -> None:
    app = StatsTestApp(store, FakeClock(), log_ring=ring, mode="log")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LogScreen)
        await pilot.press("3")
        await pilot.pause()
        emit(5)
        await flushed(pilot)
        await pilot.press("4")
        await pilot.pause()
        assert app.screen is screen
        assert len(shown(pilot)) == 5


async def test_the_listener_goes_with_the_screen(store: Store, ring: LogRing) -> None:
    app = StatsTestApp(store, FakeClock(), log_ring=ring, mode="log")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert len(ring._listeners) == 1
    assert ring._listeners == []
    emit(3)  # nothing listens, nothing breaks


async def test_in_the_app_4_shows_the_log(make_app: AppFactory, ring: LogRing) -> None:
    emit(2)
    app = make_app(log_ring=ring)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        assert isinstance(app.screen, LogScreen)
        # The lines have the focus, not the filter: a key pressed as the screen
        # opens (1 to go back) must not be typed into the filter box.
        assert isinstance(app.focused, Log)
        emit(1, start=2)
        await wait_for(pilot, lambda: len(shown(pilot)) == 3)
        assert "message=2 " in shown(pilot)[-1]


async def test_a_line_reaching_the_listener_after_a_snapshot_shows_once(
    store: Store, ring: LogRing
) -> None:
    """logging hands a line to listeners after the ring keeps it: a snapshot taken in
    between already has it, and the late listener call must not show it again."""
    app = StatsTestApp(store, FakeClock(), log_ring=ring, mode="log")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        # Hold the screen's listener calls back, as a thread pre-empted between
        # the ring's append and its listener call would.
        late: list[tuple[int, str]] = []
        ring.remove_listener(screen._on_line)
        ring.add_listener(lambda number, line: late.append((number, line)))
        emit(1)
        screen.render_from_ring()  # the snapshot has the line
        for number, line in late:
            screen._on_line(number, line)  # ... and now the listener call arrives
        await flushed(pilot)
        assert sum("message=0 " in line for line in shown(pilot)) == 1


async def test_level_filter_and_wrap(make_app: AppFactory) -> None:
    ring = LogRing()
    ring.lines.extend(
        [
            "2026-12-01 13:00:00,000 INFO    notifier_tui.ui: quiet",
            "2026-12-01 13:00:01,000 WARNING notifier_tui.core.sender: breaker open " + "x" * 150,
            "2026-12-01 13:00:02,000 ERROR   notifier_tui.core.sender: credentials rejected",
        ]
    )
    app = make_app(log_ring=ring)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        assert len(shown(pilot)) == 3
        levels = []
        for _ in range(4):
            await pilot.press("l")
            await pilot.pause()
            levels.append(len(shown(pilot)))
        assert levels == [3, 2, 1, 3], "INFO and up, WARNING and up, ERROR, then all again"
        await pilot.press("l", "l")
        await pilot.pause()
        assert "level: WARNING and up" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert len(shown(pilot)) == 3, "escape clears the level too"
        # Cut at the edge by default; w wraps the long line onto the next ones, indented.
        await pilot.press("w")
        await pilot.pause()
        lines = shown(pilot)
        assert len(lines) > 3 and all(len(line) <= 80 for line in lines)
        assert lines[2].startswith(" " * 9) and lines[2].strip().startswith("x")
        assert "wrapped" in screen_text(app)
        await pilot.press("w")
        await pilot.pause()
        assert len(shown(pilot)) == 3
