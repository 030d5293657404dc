"""The Prometheus endpoint: scraped over HTTP while the real sender sends to the simulator.

Also: the names and labels of README.md's metrics table are exactly
what the endpoint serves, the endpoint listens on 127.0.0.1 only, and the
daemon serves it with ``--metrics-port``.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from notifier_tui.core import events as ev
from notifier_tui.core.events import BreakerState, GatewayHealth
from notifier_tui.core.sending.sender import Sender, SenderConfig
from notifier_tui.core.store import Store
from notifier_tui.ops.metrics import OUTCOMES, Metrics, start_metrics
from notifier_tui.sim import GatewaySimulator, SimulatorConfig
from tests import waits
from tests.simfixtures import SimulatorFactory, make_simulator  # noqa: F401

pytestmark = pytest.mark.timeout(60)

DOCS = Path(__file__).resolve().parent.parent / "README.md"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of a scrape, keyed by name and labels."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every series of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def documented() -> dict[str, set[str]]:
    """``{metric: label names}`` from the table in README.md."""
    table = {}
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\| `(notifier_\w+)` \| (\w+) \| ([^|]*) \|", line)
        if m:
            # Label names are the backticked words not inside the value lists.
            labels = re.sub(r"\([^)]*\)", "", m[3])
            table[m[1]] = set(re.findall(r"`(\w+)`", labels))
    return table


async def until(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    """The suite's one bounded wait (tests/waits.py), with this module's patience."""
    await waits.until(predicate, timeout=timeout, step=0.02)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def sim(make_simulator: SimulatorFactory) -> GatewaySimulator:  # noqa: F811
    # Slow enough that a scrape lands mid-send, with 5xx answers to retry.
    return await make_simulator(SimulatorConfig(latency_ms=40, fail_rate=0.2, seed=11))


def seed(store: Store, clients: int) -> None:
    store.import_rows(
        (i + 2, {"phone": f"7901{i:07d}", "tag": "", "timezone": "Europe/Moscow"})
        for i in range(clients)
    )
    start = datetime.now(UTC) - timedelta(seconds=1)
    store.create_mailing(start, start + timedelta(minutes=10), "metrics test")


async def test_metrics_move_during_a_send(tmp_path: Path, sim: GatewaySimulator) -> None:
    store = Store(tmp_path / "s.db")
    seed(store, 200)
    sender = Sender(
        store,
        SenderConfig(
            base_url=sim.base_url, token="t", concurrency=8, retry_base=0.05, retry_cap=0.2
        ),
    )
    server = start_metrics(sender)  # port 0: a free one
    task: asyncio.Task[None] | None = None
    try:
        assert server.url == f"http://127.0.0.1:{server.port}/metrics"
        async with httpx.AsyncClient(timeout=5) as http:

            async def scrape() -> Samples:
                response = await http.get(server.url)
                assert response.status_code == 200
                return parse(response.text)

            before = await scrape()
            task = asyncio.create_task(sender.run())
            await until(lambda: sender.sent_total >= 40)
            during = await scrape()
            await until(lambda: sender.sent_total == 200)
            await asyncio.sleep(1.2)  # a snapshot later: the per-second figures caught up
            after = await scrape()
    finally:
        if task is not None:
            await sender.stop()
            await task
        server.close()
        store.close()

    # Before the sender ran: the mailing is there, its audience not yet materialised.
    assert value(before, "notifier_lease_holder") == 0
    assert value(before, "notifier_mailings", state="active") == 1
    assert total(before, "notifier_messages") == 0
    assert value(before, "notifier_store_up") == 1
    assert value(before, "notifier_breaker_state", state="closed") == 1
    for outcome in OUTCOMES:
        assert value(before, "notifier_gateway_requests_total", outcome=outcome) == 0

    # Mid-send: sending, with messages still to go.
    assert value(during, "notifier_lease_holder") == 1
    sent_during = value(during, "notifier_messages", status="sent", mailing_state="active")
    assert 0 < sent_during < 200
    assert total(during, "notifier_messages", status="pending") > 0
    assert total(during, "notifier_messages") == 200
    assert value(during, "notifier_pending_due_messages") > 0

    # All sent: the values moved the whole way.
    assert value(after, "notifier_messages", status="sent", mailing_state="finished") == 200
    assert total(after, "notifier_messages", status="sent") == 200
    assert value(after, "notifier_mailings", state="finished") == 1
    assert value(after, "notifier_mailings", state="active") == 0
    assert value(after, "notifier_pending_due_messages") == 0
    assert value(after, "notifier_requests_in_flight") == 0
    ok = value(after, "notifier_gateway_requests_total", outcome="ok")
    failed = value(after, "notifier_gateway_requests_total", outcome="http_5xx")
    assert ok == 200 == len(sim.accepted)
    assert failed > 0  # fail_rate 0.2
    assert value(after, "notifier_retries_scheduled_total") == failed
    assert value(after, "notifier_gateway_request_duration_seconds_count") == 200
    mean = value(after, "notifier_gateway_request_duration_seconds_sum") / 200
    assert 0.04 <= mean < 1.0  # the simulator's 40 ms latency
    assert value(after, "notifier_gateway_request_duration_seconds_bucket", le="0.025") == 0
    assert value(after, "notifier_gateway_request_duration_seconds_bucket", le="+Inf") == 200
    assert value(after, "notifier_breaker_state", state="closed") == 1
    assert value(after, "notifier_credentials_rejected") == 0

    # Every documented metric is served with its documented labels, and nothing else is.
    table = documented()
    assert len(table) == 11
    served: dict[str, set[str]] = {}
    for name, labels in after:
        served.setdefault(name, set()).update(k for k, _ in labels if k != "le")
    for metric, labels in table.items():
        names = [n for n in served if n == metric or n.startswith(metric + "_")]
        assert names, f"{metric} is documented but not served"
        for name in names:
            assert served[name] == labels, (name, served[name], labels)
    for name in served:
        base = re.sub(r"_(total|created|bucket|count|sum)$", "", name)
        assert name in table or base in table or base + "_total" in table, name


async def test_endpoint_listens_on_loopback_only(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    sender = Sender(store, SenderConfig(base_url="http://127.0.0.1:9/v1", token="t"))
    server = start_metrics(sender, port=0)
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            assert (await http.get(server.url)).status_code == 200
            # Any other address of this host (127.0.0.2 is loopback too) is refused.
            with pytest.raises(httpx.ConnectError):
                await http.get(f"http://127.0.0.2:{server.port}/metrics")
    finally:
        server.close()
        store.close()
    with socket.socket() as probe:  # closed: the port can be listened on again
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT, as servers do
        probe.bind(("127.0.0.1", server.port))
        probe.listen()


def test_events_drive_the_sender_metrics(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    metrics = Metrics(store.path)
    get = metrics.registry.get_sample_value
    try:
        metrics.on_event(ev.LeaseChanged(True, None))
        metrics.on_event(ev.BreakerChanged(BreakerState.OPEN, None, "HTTP 500"))
        metrics.on_event(ev.CredentialsRejected(401, "HTTP 401"))
        metrics.on_event(ev.RetryScheduled(1, 1, 1, 0.5, "HTTP 500"))
        metrics.on_event(ev.MessageSent(2, 1, 0.2))
        assert get("notifier_lease_holder") == 1
        assert get("notifier_breaker_state", {"state": "open"}) == 1
        assert get("notifier_breaker_state", {"state": "closed"}) == 0
        assert get("notifier_credentials_rejected") == 1
        assert get("notifier_retries_scheduled_total") == 1
        assert get("notifier_gateway_request_duration_seconds_count") == 1
        # Snapshots carry running totals; the counter adds only what is new.
        for outcomes in ({"ok": 3, "timeout": 1}, {"ok": 5, "timeout": 1, "brand_new": 2}):
            metrics.on_event(snapshot(outcomes))
        assert get("notifier_gateway_requests_total", {"outcome": "ok"}) == 5
        assert get("notifier_gateway_requests_total", {"outcome": "timeout"}) == 1
        assert get("notifier_gateway_requests_total", {"outcome": "brand_new"}) == 2
        assert get("notifier_breaker_state", {"state": "half-open"}) == 1  # from the snapshot
        assert get("notifier_credentials_rejected") == 0
        assert get("notifier_lease_holder") == 0
        assert get("notifier_requests_in_flight") == 3
    finally:
        metrics.close()
        store.close()


def snapshot(outcomes: dict[str, int]) -> ev.SenderSnapshot:
    return ev.SenderSnapshot(
        at=datetime.now(UTC),
        sending=False,
        holder="daemon pid 1 on host",
        health=GatewayHealth.DOWN,
        breaker=BreakerState.HALF_OPEN,
        next_probe_at=None,
        in_flight=3,
        rate=0.0,
        latency_p50=None,
        latency_p95=None,
        error_rate=0.0,
        sent_total=0,
        failed_total=0,
        retries_total=0,
        credentials_error=None,
        requests_by_outcome=outcomes,
    )


def test_store_read_failure_is_reported_not_raised(tmp_path: Path) -> None:
    metrics = Metrics(tmp_path / "missing" / "s.db")  # no such store file
    try:
        get = metrics.registry.get_sample_value
        assert get("notifier_store_up") == 0
        assert get("notifier_messages", {"status": "sent", "mailing_state": "active"}) is None
    finally:
        metrics.close()


def spawn_daemon(tmp_path: Path, db: Path, port: int, name: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTIFIER_")}
    env.update(
        NOTIFIER_CONFIG_DIR=str(tmp_path / "config"),
        NOTIFIER_LOG_DIR=str(tmp_path / f"log-{name}"),
        NOTIFIER_LEASE_TTL="1",
        NOTIFIER_TOKEN="secret-token-value",
    )
    gateway = f"http://127.0.0.1:{free_port()}/v1"  # never called: there are no mailings
    argv = ["--db", str(db), "--base-url", gateway, "--daemon", "--metrics-port", str(port)]
    return subprocess.Popen(
        [sys.executable, "-m", "notifier_tui", *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


async def test_daemon_serves_metrics_with_metrics_port(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    Store(db).close()
    port = free_port()
    daemon = spawn_daemon(tmp_path, db, port, "a")
    try:
        async with httpx.AsyncClient(timeout=2) as http:

            async def holder() -> float | None:
                try:
                    response = await http.get(f"http://127.0.0.1:{port}/metrics")
                except httpx.TransportError:
                    return None  # not listening yet
                return value(parse(response.text), "notifier_lease_holder")

            deadline = time.monotonic() + 15
            while await holder() != 1:
                assert daemon.poll() is None, daemon.communicate()[1].decode()
                assert time.monotonic() < deadline, "the daemon's metrics never said it sends"
                await asyncio.sleep(0.1)
        # A second daemon cannot have the same port: it says so and exits 1.
        second = spawn_daemon(tmp_path, db, port, "b")
        _, err = second.communicate(timeout=20)
        assert second.returncode == 1
        assert f"cannot serve metrics on 127.0.0.1:{port}" in err.decode()
    finally:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
        _, err_a = daemon.communicate(timeout=20)
    assert daemon.returncode == 0, err_a.decode()
    assert f"metrics endpoint at http://127.0.0.1:{port}/metrics" in err_a.decode()
