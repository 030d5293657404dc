"""The simulator's former single module, kept so old imports and ``-m`` still work.

New code imports from :mod:`notifier_tui.sim` and runs ``python -m notifier_tui.sim``.
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

if __name__ == "__main__":
    raise SystemExit(run_cli())
