"""Prometheus metrics for ``notifier-tui --daemon --metrics-port N``.

Two sources feed one private :class:`~prometheus_client.CollectorRegistry`
(never the library's global one, so two senders in one test process, or a
library user's own metrics, cannot collide):

- the sender's events (:meth:`Metrics.on_event`, registered with
  ``sender.add_listener``): gateway requests by outcome class, the latency of
  accepted requests, retries, the breaker, the lease, requests in flight;
- the store, read when Prometheus scrapes (:class:`StoreCollector`): messages
  by status, mailings by state, the pending messages due now. Reading at
  scrape time keeps the figures fresh and costs nothing when nobody scrapes.
  It runs in the HTTP server's thread on its own read-only connection (WAL
  lets it read beside the sender's writer), so it never waits on, or holds
  up, the store's own thread or the event loop.

The endpoint is prometheus-client's own HTTP server in a daemon thread,
bound to 127.0.0.1 unless ``metrics_host`` says otherwise. The metric names
and labels are listed in docs/operations.md.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import peewee as pw
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from notifier_tui.core import events as ev
from notifier_tui.core import rules, stats
from notifier_tui.core.clock import utcnow
from notifier_tui.core.events import BreakerState
from notifier_tui.core.reasons import ErrorClass
from notifier_tui.core.records import open_count
from notifier_tui.core.rules import ALL_STATUSES, MailingState, MessageStatus
from notifier_tui.core.store.dialect import read_only
from notifier_tui.core.store.location import StoreLocation
from notifier_tui.core.store.sqlutil import execute

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from notifier_tui.core.sending.sender import Sender

log = logging.getLogger("notifier_tui.ops.metrics")

OUTCOMES: tuple[str, ...] = ("ok", *(c.value for c in ErrorClass if c.from_gateway))
"""The values of ``GatewayResult.error_kind``: ``ok`` and the gateway's error classes
(:class:`~notifier_tui.core.reasons.ErrorClass`). Shown at 0 from the start, so a rate()
over a class that has not happened yet is 0, not "no data"."""

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Seconds; the gateway answers in milliseconds when well and in seconds when not."""


class StoreCollector(Collector):
    """Message and mailing figures read from the store file at each scrape.

    Args:
        path: the SQLite store file, or the store's location (a PostgreSQL store's URL).
        clock: the instant mailing states and due messages are judged at.
    """

    def __init__(self, path: Path | StoreLocation, clock: Callable[[], datetime] = utcnow) -> None:
        self.location = path if isinstance(path, StoreLocation) else StoreLocation.parse(path)
        self.path = self.location.masked()  # what log lines may show
        self._clock = clock
        self._db: pw.Database | None = None
        # The HTTP server handles each scrape in its own thread; one at a time reads.
        self._lock = threading.Lock()

    def describe(self) -> Iterable[GaugeMetricFamily]:
        # Names only, so registering does not read the store.
        return self._families()

    def _families(self) -> list[GaugeMetricFamily]:
        return [
            GaugeMetricFamily(
                "notifier_messages",
                "Messages in the store by status and by the state of their mailing.",
                labels=["status", "mailing_state"],
            ),
            GaugeMetricFamily(
                "notifier_mailings", "Mailings in the store by state.", labels=["state"]
            ),
            GaugeMetricFamily(
                "notifier_pending_due_messages",
                "Pending messages of live mailings whose next attempt is due: the send queue.",
            ),
            GaugeMetricFamily(
                "notifier_store_up", "1 if this scrape could read the store, else 0."
            ),
        ]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        messages, mailings, due, up = self._families()
        try:
            with self._lock:
                by_status_state, by_state, due_now = self._read()
        except (sqlite3.Error, pw.DatabaseError) as err:
            log.warning("metrics: cannot read the store %s: %s", self.path, err)
            with self._lock:
                self._drop()  # a fresh connection next scrape
            up.add_metric([], 0)
            yield up
            return
        # Every combination, zeros included, so a series never vanishes from a graph.
        for status in ALL_STATUSES:
            for state in MailingState:
                count = by_status_state.get((status, state.value), 0)
                messages.add_metric([status, state.value], count)
        for state in MailingState:
            mailings.add_metric([state.value], by_state.get(state.value, 0))
        due.add_metric([], due_now)
        up.add_metric([], 1)
        yield from (messages, mailings, due, up)

    def _connect(self) -> pw.Database:
        if self._db is not None and self.location.is_postgres:
            # Per scrape thread a connection of its own: each is made read-only.
            self._db.connect(reuse_if_open=True)
            read_only(self._db)
        if self._db is None and self.location.is_postgres:
            # Its own connection, made read-only, so a scrape can never write.
            db = self.location.open_database()
            db.connect(reuse_if_open=True)
            read_only(db)
            self._db = db
        if self._db is None:
            assert self.location.path is not None
            # Read-only: the metrics endpoint can never change or lock the store for
            # writing. One connection for every scrape thread (thread_safe=False),
            # used under self._lock, so no thread leaves a connection behind.
            self._db = pw.SqliteDatabase(
                f"{self.location.path.resolve().as_uri()}?mode=ro",
                uri=True,
                pragmas={"busy_timeout": 2000},
                check_same_thread=False,
                thread_safe=False,
            )
        return self._db

    def _read(self) -> tuple[dict[tuple[str, str], int], dict[str, int], int]:
        db = self._connect()
        now = self._clock()
        ts = now.timestamp()
        by_status_state: dict[tuple[str, str], int] = {}
        by_state: dict[str, int] = {}
        # One read transaction for all three figures, so they agree with each other.
        with db.atomic():
            # The statistics' own query (one scan of the (mailing_id, status) index).
            counts = stats.counts_by_mailing(db)
            for mailing_id, start_at, end_at, paused, cancelled in execute(
                db, "SELECT id, start_at, end_at, paused, cancelled FROM mailing"
            ):
                mine = counts.get(mailing_id, {})
                state = rules.mailing_state(
                    start_at=datetime.fromtimestamp(start_at, UTC),
                    end_at=datetime.fromtimestamp(end_at, UTC),
                    paused=bool(paused),
                    cancelled=bool(cancelled),
                    now=now,
                    total=sum(mine.values()),
                    open_count=open_count(mine),
                ).value
                by_state[state] = by_state.get(state, 0) + 1
                for status, n in mine.items():
                    key = (status, state)
                    by_status_state[key] = by_status_state.get(key, 0) + n
            due = execute(
                db,
                "SELECT COUNT(*) FROM message m JOIN mailing g ON g.id = m.mailing_id"
                " WHERE m.status = ? AND m.next_attempt_at <= ?"
                " AND g.paused = 0 AND g.cancelled = 0 AND g.start_at <= ? AND g.end_at > ?",
                (MessageStatus.PENDING.value, ts, ts, ts),
            ).fetchone()[0]
        return by_status_state, by_state, int(due)

    def _drop(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def close(self) -> None:
        """Close the read connection (a later scrape opens a new one)."""
        with self._lock:
            self._drop()


class Metrics:
    """Every metric of the daemon, in a registry of its own.

    Args:
        store_path: the store file the message and mailing figures are read from.
        clock: the instant store figures are judged at.
    """

    def __init__(
        self, store_path: Path | StoreLocation, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "notifier_gateway_requests",
            "Gateway requests made by this process, by outcome class.",
            ["outcome"],
            registry=r,
        )
        self.latency = Histogram(
            "notifier_gateway_request_duration_seconds",
            "Latency of gateway requests the gateway accepted.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.retries = Counter(
            "notifier_retries_scheduled",
            "Retries scheduled after transient gateway failures.",
            registry=r,
        )
        self.breaker = Gauge(
            "notifier_breaker_state",
            "1 for the circuit breaker's current state, 0 for the others.",
            ["state"],
            registry=r,
        )
        self.lease = Gauge(
            "notifier_lease_holder", "1 while this process holds the sender lease.", registry=r
        )
        self.in_flight = Gauge(
            "notifier_requests_in_flight", "Gateway requests awaiting an answer.", registry=r
        )
        self.credentials = Gauge(
            "notifier_credentials_rejected",
            "1 while the gateway refuses the token and all dispatch is stopped.",
            registry=r,
        )
        self.store = StoreCollector(store_path, clock)
        r.register(self.store)
        for outcome in OUTCOMES:
            self.requests.labels(outcome=outcome)
        self._set_breaker(BreakerState.CLOSED)
        self._outcomes_seen: dict[str, int] = {}

    def attach(self, sender: Sender) -> None:
        """Follow ``sender``'s events from now on, starting from its current state."""
        self.lease.set(1 if sender.is_holder else 0)
        self._set_breaker(sender.breaker.state)
        sender.add_listener(self.on_event)

    def on_event(self, event: ev.Event) -> None:
        """Update the metrics from one sender event (called on the sender's loop)."""
        match event:
            case ev.MessageSent(latency=latency):
                self.latency.observe(latency)
            case ev.RetryScheduled():
                self.retries.inc()
            case ev.BreakerChanged(state=state):
                self._set_breaker(state)
            case ev.LeaseChanged(ours=ours):
                self.lease.set(1 if ours else 0)
            case ev.CredentialsRejected():
                self.credentials.set(1)
            case ev.DispatchResumed():
                self.credentials.set(0)
            case ev.SenderSnapshot():
                self._snapshot(event)

    def _snapshot(self, snap: ev.SenderSnapshot) -> None:
        self.in_flight.set(snap.in_flight)
        self.lease.set(1 if snap.sending else 0)
        self.credentials.set(0 if snap.credentials_error is None else 1)
        self._set_breaker(snap.breaker)
        # The snapshot carries running totals; a Prometheus counter wants the increments.
        for outcome, total in snap.requests_by_outcome.items():
            seen = self._outcomes_seen.get(outcome, 0)
            if total > seen:
                self.requests.labels(outcome=outcome).inc(total - seen)
            self._outcomes_seen[outcome] = total

    def _set_breaker(self, state: BreakerState) -> None:
        for s in BreakerState:
            self.breaker.labels(state=s.value).set(1 if s is state else 0)

    def close(self) -> None:
        self.store.close()


@dataclass
class MetricsServer:
    """A running ``/metrics`` endpoint; :meth:`close` stops it."""

    metrics: Metrics
    host: str
    port: int
    """The bound port (the real one when 0 was asked for)."""
    _server: WSGIServer
    _thread: threading.Thread

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving and release the port and the store connection."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self.metrics.close()
        log.info("metrics endpoint %s closed", self.url)


def start_metrics(sender: Sender, *, host: str = "127.0.0.1", port: int = 0) -> MetricsServer:
    """Serve ``sender``'s metrics on ``http://host:port/metrics`` from a daemon thread.

    Args:
        sender: the sender whose events feed the metrics; its store is read at each scrape.
        host: the address to bind; loopback unless exposing it is intended.
        port: the port; 0 picks a free one (see :attr:`MetricsServer.port`).

    Raises:
        OSError: the address cannot be bound (in use, not local).
    """
    metrics = Metrics(sender.store.location, clock=sender.store.clock)
    metrics.attach(sender)
    server, thread = start_http_server(port, addr=host, registry=metrics.registry)
    bound = MetricsServer(metrics, host, server.server_port, server, thread)
    log.info("metrics endpoint at %s", bound.url)
    return bound
