"""The simulator's control endpoints, without auth, so another process can drive it.

- ``GET /stats``: the counters as JSON (``window_s`` = last accept - first accept);
- ``POST /reset``: clear the counters;
- ``POST /config``: a JSON object of :class:`~notifier_tui.sim.config.SimulatorConfig`
  fields to change.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from notifier_tui.sim.config import config_update, shown
from notifier_tui.sim.faults import has_windows, window_at
from notifier_tui.sim.protocol import detail, response

if TYPE_CHECKING:
    from notifier_tui.sim.server import GatewaySimulator

_PATHS = ("/stats", "/reset", "/config")


def stats(sim: GatewaySimulator) -> dict[str, Any]:
    """The counters of ``sim`` as ``GET /stats`` returns them.

    Besides the acceptance counters: ``by_fault`` (answer -> requests, see
    :class:`~notifier_tui.sim.faults.Answer`), ``refused_connections``,
    ``elapsed_s`` since the start and ``down_window``, the time window in force
    (``outage``, ``flap``, ``storm``) or ``None``.
    """
    first, last = sim.first_accept_at, sim.last_accept_at
    window = window_at(sim.config, sim.elapsed) if has_windows(sim.config) else None
    return {
        "requests": sim.requests,
        "accepted_total": sim.accepted_total,
        "unique_accepted": len(sim.accepted),
        "duplicates": len(sim.duplicates),
        "first_accept_at": first,
        "last_accept_at": last,
        "window_s": (last - first) if first is not None and last is not None else 0.0,
        "connections_opened": sim.connections_opened,
        "open_connections": sim.open_connections,
        "by_fault": {str(answer): n for answer, n in sorted(sim.by_fault.items())},
        "refused_connections": sim.refused_connections,
        "elapsed_s": sim.elapsed,
        "down_window": None if window is None else str(window),
    }


def control(sim: GatewaySimulator, method: str, path: str, body: bytes, close: bool) -> bytes:
    """The answer of a request outside ``/send``: a control endpoint, or 404."""
    if path == "/stats" and method == "GET":
        return response(200, json.dumps(stats(sim)).encode(), close=close)
    if path == "/reset" and method == "POST":
        sim.reset()
        return response(200, b'{"reset":true}', close=close)
    if path == "/config" and method == "POST":
        try:
            changes = json.loads(body)
            new = config_update(sim.config, changes)
        except (ValueError, TypeError) as err:
            return detail(422, str(err), close=close)
        sim.config = new
        if "seed" in changes:
            sim.reseed()
        return response(200, json.dumps(shown(new)).encode(), close=close)
    if path in _PATHS:
        return detail(405, "method not allowed", close=close)
    return detail(404, "not found", close=close)
