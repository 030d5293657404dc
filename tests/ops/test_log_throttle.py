"""The repeat throttle on fake time: one line, then a summary every few seconds."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from notifier_tui.settings.log_throttle import RepeatThrottle, install_throttle
from notifier_tui.settings.logs import LogRing, remove_handlers, setup_logging


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Lines(logging.Handler):
    """Keeps the formatted messages it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime()


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    log = logging.getLogger("tests.ops.throttle")
    log.propagate = False
    log.setLevel(logging.DEBUG)
    yield log
    for handler in list(log.handlers):
        log.removeHandler(handler)


def attach(logger: logging.Logger, clock: FakeTime, count: int = 1) -> list[Lines]:
    handlers = [Lines() for _ in range(count)]
    install_throttle(handlers, RepeatThrottle(5.0, clock=clock))
    for handler in handlers:
        logger.addHandler(handler)
    return handlers


def test_first_line_then_a_summary_every_interval(logger: logging.Logger, clock: FakeTime) -> None:
    (out,) = attach(logger, clock)
    for _ in range(50):  # ten a second for five seconds, then one more
        logger.error("lease heartbeat failed: %r", OSError(28, "No space left on device"))
        clock.now += 0.1
    logger.error("lease heartbeat failed: %r", OSError(28, "No space left on device"))
    assert len(out.lines) == 2
    assert out.lines[0] == "lease heartbeat failed: OSError(28, 'No space left on device')"
    assert out.lines[1] == (
        "lease heartbeat failed: OSError(28, 'No space left on device')"
        " [repeated 49 more time(s) in the last 5 s]"
    )


def test_a_flood_like_the_disk_full_one_shrinks_to_a_line_per_interval(
    logger: logging.Logger, clock: FakeTime
) -> None:
    (out,) = attach(logger, clock)
    # 6,287 failures in 40 s, as the daemon logged on a full disk.
    for i in range(6287):
        clock.now = 1000.0 + 40.0 * i / 6287
        logger.error("recording outcomes failed: %s", "database or disk is full")
    assert 8 <= len(out.lines) <= 9
    reported = sum(
        int(line.split("[repeated ")[1].split(" ")[0]) for line in out.lines if "[repeated" in line
    )
    assert len(out.lines) + reported <= 6287  # the summaries never overcount


def test_the_template_is_the_key_not_the_text(logger: logging.Logger, clock: FakeTime) -> None:
    (out,) = attach(logger, clock)
    logger.warning("dispatch step failed: %s", "database is locked")
    logger.warning("dispatch step failed: %s", "disk I/O error")  # same template: dropped
    logger.warning("lease heartbeat failed: %s", "database is locked")  # another key
    logger.error("dispatch step failed: %s", "database is locked")  # another level
    # Another logger's line of the same template (it propagates to these handlers).
    logging.getLogger("tests.ops.throttle.other").warning("dispatch step failed: %s", "x")
    assert out.lines == [
        "dispatch step failed: database is locked",
        "lease heartbeat failed: database is locked",
        "dispatch step failed: database is locked",
        "dispatch step failed: x",
    ]


def test_info_and_debug_lines_are_never_merged(logger: logging.Logger, clock: FakeTime) -> None:
    (out,) = attach(logger, clock)
    for i in range(20):
        logger.info("retry scheduled mailing=1 message=%d attempt=1", i)
        logger.debug("claimed mailing=1 message=%d", i)
    assert len(out.lines) == 40


def test_a_quiet_key_starts_afresh_and_owes_its_count(
    logger: logging.Logger, clock: FakeTime
) -> None:
    (out,) = attach(logger, clock)
    logger.error("store write failed")
    clock.now += 1
    logger.error("store write failed")  # dropped
    clock.now += 60  # quiet for a long time
    logger.error("store write failed")
    clock.now += 60
    logger.error("store write failed")
    assert out.lines == [
        "store write failed",
        "store write failed [repeated 1 more time(s) in the last 61 s]",
        "store write failed",
    ]


def test_every_handler_sees_the_same_lines_counted_once(
    logger: logging.Logger, clock: FakeTime
) -> None:
    handlers = attach(logger, clock, count=3)
    for _ in range(10):
        logger.error("flush failed")
        clock.now += 1
    expected = [
        "flush failed",
        "flush failed [repeated 4 more time(s) in the last 5 s]",
    ]
    assert [h.lines for h in handlers] == [expected] * 3


def test_keys_are_bounded(logger: logging.Logger, clock: FakeTime) -> None:
    throttle = RepeatThrottle(5.0, clock=clock, max_keys=10)
    out = Lines()
    install_throttle([out], throttle)
    logger.addHandler(out)
    for i in range(100):
        logger.error(f"distinct {i}")
    assert len(throttle._seen) == 10
    assert len(out.lines) == 100


def test_setup_logging_installs_it() -> None:
    ring = LogRing()
    handlers = setup_logging("INFO", None, ring=ring)
    try:
        log = logging.getLogger("notifier_tui.ops.daemon")
        for _ in range(100):
            log.error("heartbeat failed: %s", "database or disk is full")
    finally:
        remove_handlers(handlers)
    lines = [line for line in ring.snapshot() if "heartbeat failed" in line]
    assert len(lines) == 1
