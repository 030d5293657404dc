"""Live figures read from the store, for when this process does not send.

Attached to a daemon (or with no sender at all) the UI shows the figures of
whoever sends, read once a second from the worker registry the senders
publish to (core/store/workers.py, written by core/sending/fleet.py): rate,
latency of answered requests, errors by class, breaker, in flight, retries,
labelled with who sends. Never zeros of its own: when no live sender has
published (nobody sends, or an older program does), the rate is the change
in the store's ``sent`` count and the gateway figures are left unknown.
Rows whose heartbeat is stale are ignored. The result has the shape of the
sender's own :class:`SenderSnapshot` so the screens need not care where it
came from, the charts' series included (10 s steps as published; a row of an
older sender without them gives empty series).
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from notifier_tui.core.events import (
    BreakerState,
    GatewayHealth,
    LatencyPoint,
    OutcomeRates,
    SenderSnapshot,
    WorkerView,
)
from notifier_tui.core.sending.fleet import stale_after
from notifier_tui.core.sending.sender_snapshot import PROBLEM_CHARS
from notifier_tui.core.store import Store
from notifier_tui.core.store import control as store_control
from notifier_tui.core.store import workers as registry
from notifier_tui.core.store.workers import WorkerStatus

E = TypeVar("E", BreakerState, GatewayHealth)
_P = TypeVar("_P", OutcomeRates, LatencyPoint)

HISTORY = 300
"""Seconds of send-rate history kept, like the sender's."""

_BREAKER_ORDER = (BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED)
_HEALTH_ORDER = (
    GatewayHealth.CREDENTIALS,
    GatewayHealth.DOWN,
    GatewayHealth.DEGRADED,
    GatewayHealth.OK,
    GatewayHealth.NOT_CONFIGURED,
    GatewayHealth.UNKNOWN,
)


def _enum(kind: type[E], value: object, default: E) -> E:
    try:
        return kind(str(value))
    except ValueError:
        return default


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | float) else 0


def _requests(figures: dict[str, object]) -> int:
    outcomes = figures.get("requests_by_outcome")
    return sum(_int(v) for v in outcomes.values()) if isinstance(outcomes, dict) else 0


def _view(row: WorkerStatus, now: datetime) -> WorkerView:
    return WorkerView(
        host=row.host,
        pid=row.pid,
        role=row.role,
        leader=row.leader,
        sending=row.sending,
        rate=_float(row.figures.get("rate")) or 0.0,
        breaker=_enum(BreakerState, row.figures.get("breaker"), BreakerState.CLOSED),
        in_flight=_int(row.figures.get("in_flight")),
        age=max(0.0, (now - row.heartbeat_at).total_seconds()),
    )


def label(senders: list[WorkerStatus]) -> str:
    """Who the figures are of: ``daemon pid 4242 on host``, or the count and the leader."""
    if len(senders) == 1:
        return senders[0].describe()
    leader = next((s for s in senders if s.leader), senders[0])
    return f"{len(senders)} workers (leader {leader.describe()})"


class StandbyFigures:
    """Turns successive store reads into snapshots."""

    def __init__(self) -> None:
        self._last: tuple[datetime, int] | None = None
        self._history: deque[float] = deque(maxlen=HISTORY)
        self._registry: registry.WorkerRegistry | None = None
        self._control: store_control.SenderControl | None = None

    def read(self, store: Store, lease_ttl: float, holder: str | None) -> SenderSnapshot:
        """Build a snapshot; call on the store's thread (``await store.run(figures.read, ...)``).

        Args:
            store: the store to read.
            lease_ttl: the sender lease's time to live, to tell a live holder from a dead one.
            holder: who sends, when the caller already knows (a standby sender does).
        """
        if self._registry is None or self._control is None:
            self._registry = registry.for_store(store)
            self._control = store_control.for_store(store)
        now = store.clock()
        rows = self._registry.live(stale_after(lease_ttl), now)
        flag = self._control.credentials_stop()
        senders = [row for row in rows if row.sending]
        if holder is None:
            lease = store.lease_holder(lease_ttl, now)
            holder = lease.describe() if lease is not None else None
        if holder is None and senders:
            holder = label(senders)
        views = tuple(_view(row, now) for row in rows)
        if senders:
            return self._from_rows(now, senders, holder, flag, views)
        return self._from_counts(store, now, holder, flag, views)

    def _from_rows(
        self,
        now: datetime,
        senders: list[WorkerStatus],
        holder: str | None,
        flag: store_control.CredentialsFlag | None,
        views: tuple[WorkerView, ...],
    ) -> SenderSnapshot:
        figures = [s.figures for s in senders]
        by_outcome: Counter[str] = Counter()
        for f in figures:
            outcomes = f.get("requests_by_outcome")
            if isinstance(outcomes, dict):
                by_outcome.update({str(k): _int(v) for k, v in outcomes.items()})
        rate = sum(_float(f.get("rate")) or 0.0 for f in figures)
        self._history.append(rate)
        # One sender: its own quantiles. Several: the slowest one's, a bound
        # that never flatters (quantiles do not add up across processes).
        p50s = [v for f in figures if (v := _float(f.get("latency_p50"))) is not None]
        p95s = [v for f in figures if (v := _float(f.get("latency_p95"))) is not None]
        # Each sender's error rate weighted by its requests: the store-wide share.
        weights = [
            sum(_int(v) for v in (f.get("requests_by_outcome") or {}).values()) for f in figures
        ]
        total = sum(weights)
        error_rate = (
            sum(
                w * (_float(f.get("error_rate")) or 0.0)
                for w, f in zip(weights, figures, strict=True)
            )
            / total
            if total
            else 0.0
        )
        breakers = {_enum(BreakerState, f.get("breaker"), BreakerState.CLOSED) for f in figures}
        breaker = next(b for b in _BREAKER_ORDER if b in breakers or b is BreakerState.CLOSED)
        healths = {_enum(GatewayHealth, f.get("health"), GatewayHealth.UNKNOWN) for f in figures}
        health = next(h for h in _HEALTH_ORDER if h in healths or h is GatewayHealth.UNKNOWN)
        probes = [v for f in figures if (v := _float(f.get("next_probe_at"))) is not None]
        credentials = next(
            (str(c) for f in figures if (c := f.get("credentials_error"))),
            flag.reason if flag is not None else None,
        )
        if credentials is not None:
            health = GatewayHealth.CREDENTIALS
        # The problem of a sender whose health is the one shown (the worst), in its words.
        problem = next(
            (
                str(p)[:PROBLEM_CHARS]
                for f in figures
                if (p := f.get("gateway_problem"))
                and _enum(GatewayHealth, f.get("health"), GatewayHealth.UNKNOWN) is health
            ),
            None,
        )
        series = _series(figures)
        return SenderSnapshot(
            at=now,
            sending=False,
            holder=holder,
            health=health,
            breaker=breaker,
            next_probe_at=datetime.fromtimestamp(min(probes), now.tzinfo) if probes else None,
            in_flight=sum(_int(f.get("in_flight")) for f in figures),
            rate=rate,
            latency_p50=max(p50s) if p50s else None,
            latency_p95=max(p95s) if p95s else None,
            error_rate=error_rate,
            sent_total=sum(_int(f.get("sent")) for f in figures),
            failed_total=sum(_int(f.get("failed")) for f in figures),
            retries_total=sum(_int(f.get("retries")) for f in figures),
            credentials_error=credentials,
            rate_history=_summed_history(figures) or tuple(self._history),
            requests_by_outcome=dict(by_outcome),
            figures_of=label(senders),
            workers=views,
            outcome_history=series.outcome_history,
            outcome_step=series.outcome_step,
            latency_history=series.latency_history,
            latency_step=series.latency_step,
            errors_by_class=series.errors_by_class,
            series_window=series.series_window,
            gateway_problem=problem,
        )

    def _from_counts(
        self,
        store: Store,
        now: datetime,
        holder: str | None,
        flag: store_control.CredentialsFlag | None,
        views: tuple[WorkerView, ...],
    ) -> SenderSnapshot:
        by_status = store.overall_stats().by_status
        sent = by_status.get("sent", 0)
        rate = 0.0
        if self._last is not None:
            elapsed = (now - self._last[0]).total_seconds()
            if elapsed > 0:
                rate = max(0.0, (sent - self._last[1]) / elapsed)
            self._history.append(rate)
        self._last = (now, sent)
        return SenderSnapshot(
            at=now,
            sending=False,
            holder=holder,
            health=GatewayHealth.CREDENTIALS if flag is not None else GatewayHealth.UNKNOWN,
            breaker=BreakerState.CLOSED,
            next_probe_at=None,
            in_flight=by_status.get("sending", 0),
            rate=rate,
            latency_p50=None,
            latency_p95=None,
            error_rate=0.0,
            sent_total=sent,
            failed_total=by_status.get("failed", 0),
            retries_total=0,
            credentials_error=flag.reason if flag is not None else None,
            rate_history=tuple(self._history),
            requests_by_outcome={},
            workers=views,
        )


def _summed_history(figures: list[dict[str, object]]) -> tuple[float, ...]:
    """The senders' published per-second rates added up, aligned on the newest second."""
    series = [
        [float(v) for v in h if isinstance(v, int | float)]
        for f in figures
        if isinstance(h := f.get("rate_history"), list)
    ]
    width = max((len(s) for s in series), default=0)
    if not width:
        return ()
    total = [0.0] * width
    for s in series:
        for i, v in enumerate(s):
            total[width - len(s) + i] += v
    return tuple(total)


def _step(figures: dict[str, object], key: str) -> float | None:
    value = _float(figures.get(key))
    return value if value is not None and value > 0 else None


def _outcomes(value: object) -> list[OutcomeRates] | None:
    """A published outcome series, or None when it is missing or malformed."""
    if not isinstance(value, list):
        return None
    out: list[OutcomeRates] = []
    for point in value:
        if not (isinstance(point, list) and len(point) == 3):
            return None
        numbers = [_float(v) for v in point]
        out.append(OutcomeRates(*(v or 0.0 for v in numbers)))
    return out


def _latencies(value: object) -> list[LatencyPoint] | None:
    if not isinstance(value, list):
        return None
    out: list[LatencyPoint] = []
    for point in value:
        if isinstance(point, list) and len(point) == 2:
            out.append(LatencyPoint(_float(point[0]), _float(point[1])))
        else:
            out.append(LatencyPoint(None, None))
    return out


def _newest_aligned(series: list[list[_P]]) -> list[list[_P]]:
    """Each position's points across senders, the series aligned on their newest point."""
    width = max((len(s) for s in series), default=0)
    columns: list[list[_P]] = [[] for _ in range(width)]
    for s in series:
        for i, point in enumerate(s):
            columns[width - len(s) + i].append(point)
    return columns


@dataclass(frozen=True, slots=True)
class _Series:
    """The charts' series of a snapshot (SenderSnapshot's defaults: none)."""

    outcome_history: tuple[OutcomeRates, ...] = ()
    outcome_step: float = 1.0
    latency_history: tuple[LatencyPoint, ...] = ()
    latency_step: float = 10.0
    errors_by_class: dict[str, int] = field(default_factory=dict)
    series_window: float = 300.0


def _series(figures: list[dict[str, object]]) -> _Series:
    """The charts' series of the senders, combined; senders publishing none add nothing.

    Rates add up; latency takes the slowest sender's percentiles per step (they
    do not add up); errors by class add up. Only senders that publish the same
    step as the first are combined (every sender of one version does).
    """
    windows = [w for f in figures if (w := _step(f, "series_window")) is not None]
    outcomes = [
        (step, s)
        for f in figures
        if (step := _step(f, "outcome_step")) is not None
        and (s := _outcomes(f.get("outcomes"))) is not None
    ]
    outcome_step = 1.0
    outcome_history: tuple[OutcomeRates, ...] = ()
    if outcomes:
        outcome_step = outcomes[0][0]
        outcome_history = tuple(
            OutcomeRates(*(sum(values) for values in zip(*column, strict=True)))
            for column in _newest_aligned([s for st, s in outcomes if st == outcome_step])
        )
    latencies = [
        (step, points)
        for f in figures
        if (step := _step(f, "latency_step")) is not None
        and (points := _latencies(f.get("latency_history"))) is not None
    ]
    latency_step = 10.0
    latency_history: tuple[LatencyPoint, ...] = ()
    if latencies:
        latency_step = latencies[0][0]
        latency_history = tuple(
            _slowest(column)
            for column in _newest_aligned([p for st, p in latencies if st == latency_step])
        )
    errors: Counter[str] = Counter()
    for f in figures:
        by_class = f.get("errors_by_class")
        if isinstance(by_class, dict):
            errors.update({str(k): _int(v) for k, v in by_class.items()})
    return _Series(
        outcome_history=outcome_history,
        outcome_step=outcome_step,
        latency_history=latency_history,
        latency_step=latency_step,
        errors_by_class={k: v for k, v in errors.items() if v > 0},
        series_window=max(windows, default=300.0),
    )


def _slowest(points: list[LatencyPoint]) -> LatencyPoint:
    p50s = [p.p50 for p in points if p.p50 is not None]
    p95s = [p.p95 for p in points if p.p95 is not None]
    return LatencyPoint(max(p50s) if p50s else None, max(p95s) if p95s else None)
