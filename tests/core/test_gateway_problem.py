"""What the header says is wrong with the gateway: from the latest failed request, in words.

A table for the pure wording, then a real sender on fake time against a
port where nothing listens (a real refused connection) and against the
simulator (accepted answers clear the problem).
"""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest

from notifier_tui.core import events as ev
from notifier_tui.core.defaults import DEFAULT_BASE_URL
from notifier_tui.core.sending.livestats import LiveWindow
from notifier_tui.core.sending.sender_snapshot import PROBLEM_CHARS, problem_text
from notifier_tui.core.store import Store
from notifier_tui.sim import GatewaySimulator, SimulatorConfig
from tests.core.conftest import FakeClock
from tests.core.test_sender import Running, add_clients, config, ticking
from tests.simfixtures import SimulatorFactory, make_simulator  # noqa: F401

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(
    ("kind", "reason", "text"),
    [
        ("connect", "connect error: name not resolved", "unreachable: name not resolved"),
        ("connect", "connect error: connection refused", "unreachable: connection refused"),
        ("connect", "connection reset", "unreachable: connection reset"),
        ("timeout", "timeout", "timing out"),
        ("http_5xx", "HTTP 503: maintenance", "failing: HTTP 503"),
        ("http_429", "HTTP 429", "throttling: HTTP 429"),
        ("bad_answer", "bad answer: not JSON", "bad answers: not JSON"),
        ("credentials", "HTTP 401", "token rejected"),
        ("other", "HTTP 302", "HTTP 302"),
        # One message's bad phone says nothing about the gateway.
        ("http_4xx", "HTTP 400: invalid phone", None),
        ("ok", "OK", None),
    ],
)
def test_problem_wording(kind: str, reason: str, text: str | None) -> None:
    assert problem_text(kind, reason) == text


def test_a_long_reason_is_cut_to_fit_the_header() -> None:
    text = problem_text("other", "x" * 500)
    assert text is not None and len(text) == PROBLEM_CHARS and text.endswith("…")


def test_the_latest_request_decides_and_an_old_failure_fades() -> None:
    live = LiveWindow()
    live.record(10.0, False, None, "connect", retried=True, reason="connect error: refused")
    assert live.problem(10.5) == ("connect", "connect error: refused")
    assert live.problem(71.0) is None  # older than a minute
    live.record(72.0, False, None, "timeout", retried=True, reason="timeout")
    live.record(72.5, True, 0.01, "ok")
    assert live.problem(73.0) is None  # accepted since


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def sim(make_simulator: SimulatorFactory) -> GatewaySimulator:  # noqa: F811
    return await make_simulator(SimulatorConfig(seed=7))


async def test_an_unreachable_gateway_is_named_not_called_unconfigured(
    store: Store, clock: FakeClock, sim: GatewaySimulator
) -> None:
    add_clients(store, 3)
    store.create_mailing(clock.now, clock.now + timedelta(hours=1), "Hi")
    cfg = config(sim, base_url=f"http://127.0.0.1:{closed_port()}", token="")
    async with Running(store, cfg, clock) as run:
        await ticking(clock, lambda: run.sender.snapshot().gateway_problem is not None)
        snap = run.sender.snapshot()
        assert snap.gateway_problem == "unreachable: connection refused"
        assert snap.health is not ev.GatewayHealth.NOT_CONFIGURED
        # A refused connection's few milliseconds say nothing of the gateway's speed:
        # with no answer yet there is no latency to show (issue 12.12).
        assert snap.latency_p50 is None and snap.latency_p95 is None
        assert all(p.p50 is None for p in snap.latency_history)


def test_not_configured_only_until_a_request_says_more(store: Store, clock: FakeClock) -> None:
    from notifier_tui.core.sending.sender import Sender, SenderConfig

    sender = Sender(store, SenderConfig(base_url=DEFAULT_BASE_URL, token=""), timer=clock)
    assert sender.snapshot().health is ev.GatewayHealth.NOT_CONFIGURED
    now = clock.monotonic()
    sender.live.record(now, False, None, "connect", reason="connect error: name not resolved")
    snap = sender.snapshot()
    assert snap.health is not ev.GatewayHealth.NOT_CONFIGURED
    assert snap.gateway_problem == "unreachable: name not resolved"


async def test_answers_from_the_gateway_clear_the_problem(
    store: Store, clock: FakeClock, sim: GatewaySimulator
) -> None:
    add_clients(store, 3)
    store.create_mailing(clock.now, clock.now + timedelta(hours=1), "Hi")
    async with Running(store, config(sim), clock) as run:
        await ticking(clock, lambda: run.sender.sent_total == 3)
        assert run.sender.snapshot().gateway_problem is None
