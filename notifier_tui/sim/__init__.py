"""The gateway simulator: a real HTTP server on loopback with fault knobs.

It imports nothing else of notifier_tui, so it can run as a separate process in
benchmarks (``python -m notifier_tui.sim --help``) and be reused by any project
that speaks the same gateway contract (docs/gateway.md).

Modules: :mod:`~notifier_tui.sim.protocol` (HTTP/1.1), :mod:`~notifier_tui.sim.config`
(the knobs), :mod:`~notifier_tui.sim.faults` (which answer a request gets, pure and
seeded), :mod:`~notifier_tui.sim.answers` (their bytes), :mod:`~notifier_tui.sim.contract`
(request checks), :mod:`~notifier_tui.sim.server` (the asyncio server),
:mod:`~notifier_tui.sim.control` (``/stats``, ``/reset``, ``/config``),
:mod:`~notifier_tui.sim.runner` (on a thread of its own) and :mod:`~notifier_tui.sim.cli`
(the ``gateway-sim`` command).
"""

from notifier_tui.sim.cli import run_cli
from notifier_tui.sim.config import SimulatorConfig
from notifier_tui.sim.runner import ThreadedSimulator, start_in_thread
from notifier_tui.sim.server import GatewaySimulator

__all__ = [
    "GatewaySimulator",
    "SimulatorConfig",
    "ThreadedSimulator",
    "run_cli",
    "start_in_thread",
]
