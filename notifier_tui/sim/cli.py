"""``gateway-sim``: the simulator as a process, until SIGINT or SIGTERM.

Its one stdout line says where it listens; its counters go to stderr every few
seconds (``--stats-every``), so a person watching a run sees what the gateway got.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import math
import signal
import sys
from typing import Any

from notifier_tui.sim.config import DOWN_MODES, RETRY_AFTER_STYLES, SimulatorConfig
from notifier_tui.sim.server import GatewaySimulator

LISTENING = "gateway-sim listening on "
"""How the one stdout line starts, whatever the program is called: callers parse it."""
_DEFAULT_STATS_EVERY = 5.0


def _parser(prog: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Run the gateway simulator, an HTTP server speaking the sending "
        "gateway's contract (docs/gateway.md), until SIGINT or SIGTERM.",
        epilog="Control endpoints, without auth: GET /stats (the counters), POST /reset, "
        "POST /config (a JSON object of settings to change). The time windows "
        "(storm, outage, flapping) count from the start.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port to bind; 0 = a free one (default)")
    knobs = (
        ("--latency-ms", "latency_ms", "delay before each answer"),
        ("--jitter-ms", "jitter_ms", "uniform +- jitter on the latency"),
        ("--fail-rate", "fail_rate", "share answered HTTP 500"),
        ("--garbage-rate", "garbage_rate", "share answered 200 with a non-JSON body"),
        ("--nonzero-code-rate", "nonzero_code_rate", 'share answered 200 {"code": 1}'),
        ("--throttle-rate", "throttle_rate", "share answered 429 with Retry-After"),
        ("--retry-after", "retry_after_s", "Retry-After seconds of the 429 answers"),
        ("--slow-rate", "slow_rate", "share answered only after --slow-ms"),
        ("--slow-ms", "slow_ms", "delay of the slow answers"),
        ("--permanent-rate", "permanent_rate", "share answered 400 bad phone"),
        ("--huge-rate", "huge_rate", 'share answered 200 {"code": 0} with a --huge-mb body'),
        ("--huge-mb", "huge_mb", "size of the huge bodies in MiB"),
        ("--storm-start-s", "storm_start_s", "seconds after the start a 429 storm begins"),
        ("--storm-s", "storm_s", "length of the 429 storm; 0 = none"),
        ("--storm-retry-after-s", "storm_retry_after_s", "Retry-After seconds in the storm"),
        ("--outage-start-s", "outage_start_s", "seconds after the start an outage begins"),
        ("--outage-s", "outage_s", "length of the outage; 0 = none"),
        ("--flap-up-s", "flap_up_s", "flapping: length of each up period"),
        ("--flap-down-s", "flap_down_s", "flapping: length of each down period; 0 = none"),
    )
    defaults = SimulatorConfig()
    for flag, dest, text in knobs:
        default = getattr(defaults, dest)
        p.add_argument(
            flag, dest=dest, type=float, default=default, help=f"{text} (default {default:g})"
        )
    p.add_argument(
        "--retry-after-style",
        choices=RETRY_AFTER_STYLES,
        default=defaults.retry_after_style,
        help="how 429 answers write Retry-After: as the seconds, or an odd value "
        "(1e20, negative, NaN, words, an HTTP date, or those in turn) (default seconds)",
    )
    for flag, dest in (("--outage-mode", "outage_mode"), ("--flap-mode", "flap_mode")):
        p.add_argument(
            flag,
            dest=dest,
            choices=DOWN_MODES,
            default="refuse",
            help="refuse connections, or answer 503 (default refuse)",
        )
    p.add_argument("--token", default=None, help="bearer token to require (401 otherwise)")
    p.add_argument("--seed", type=int, default=None, help="seed of the fault draws")
    p.add_argument(
        "--stats-every",
        type=float,
        default=_DEFAULT_STATS_EVERY,
        metavar="SECONDS",
        help="print the counters to stderr this often; 0 = never "
        f"(default {_DEFAULT_STATS_EVERY:g})",
    )
    return p


def counters_line(prog: str, stats: dict[str, Any]) -> str:
    """One line of counters from a :meth:`GatewaySimulator.stats` snapshot."""
    faults = " ".join(f"{name}={n}" for name, n in stats["by_fault"].items()) or "none"
    down = f" down={stats['down_window']}" if stats["down_window"] else ""
    return (
        f"{prog}: at {stats['elapsed_s']:.0f}s{down} requests={stats['requests']} "
        f"accepted={stats['accepted_total']} unique={stats['unique_accepted']} "
        f"duplicates={stats['duplicates']} refused_connections={stats['refused_connections']} "
        f"by fault: {faults}"
    )


async def _print_counters(sim: GatewaySimulator, prog: str, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        print(counters_line(prog, sim.stats()), file=sys.stderr, flush=True)


async def _serve(
    config: SimulatorConfig, host: str, port: int, prog: str, stats_every: float
) -> int:
    sim = GatewaySimulator(config, host, port)
    try:
        await sim.start()
    except OSError as err:
        print(f"{prog}: cannot listen on {host}:{port}: {err.strerror}", file=sys.stderr)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    print(f"{LISTENING}{sim.base_url}", flush=True)
    printer = None
    if stats_every > 0:
        printer = asyncio.create_task(_print_counters(sim, prog, stats_every))
    try:
        await stop.wait()
    finally:
        if printer is not None:
            printer.cancel()
        await sim.stop()
    return 0


def run_cli(argv: list[str] | None = None, prog: str = "gateway-sim") -> int:
    """``gateway-sim``: run the simulator until SIGINT/SIGTERM.

    Prints exactly one line on stdout, ``gateway-sim listening on
    http://HOST:PORT/v1``, once bound (callers parse it to learn the port), and
    the counters on stderr every ``--stats-every`` seconds. The token is never
    printed.

    Args:
        argv: The arguments; ``None`` reads ``sys.argv``.
        prog: The program name in usage and error lines, e.g.
            ``notifier-tui gateway-sim`` when run as a subcommand.

    Returns:
        0 after a signal, 1 if the address cannot be bound.
    """
    parser = _parser(prog)
    args = parser.parse_args(argv)
    if not (math.isfinite(args.stats_every) and args.stats_every >= 0):
        parser.error(f"--stats-every must be a finite number >= 0, got {args.stats_every:g}")
    knobs = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(SimulatorConfig)
        if f.name != "prefix"
    }
    try:
        config = SimulatorConfig(**knobs)
    except ValueError as err:
        parser.error(str(err))
    try:
        return asyncio.run(_serve(config, args.host, args.port, prog, args.stats_every))
    except KeyboardInterrupt:  # where signal handlers are unavailable
        return 0
