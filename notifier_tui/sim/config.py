"""How the simulated gateway behaves: :class:`SimulatorConfig` and its runtime updates."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

RATE_FIELDS = (
    "fail_rate",
    "garbage_rate",
    "nonzero_code_rate",
    "throttle_rate",
    "slow_rate",
    "permanent_rate",
    "huge_rate",
)
_NON_NEGATIVE_FIELDS = (
    "latency_ms",
    "jitter_ms",
    "retry_after_s",
    "slow_ms",
    "storm_start_s",
    "storm_s",
    "storm_retry_after_s",
    "outage_start_s",
    "outage_s",
    "flap_up_s",
    "flap_down_s",
)
RETRY_AFTER_STYLES = ("seconds", "huge", "negative", "nan", "garbage", "date", "mixed")
"""How a 429 writes its ``Retry-After``: ``seconds`` is the well-formed number, the others
are the odd values a client must survive (see :func:`~notifier_tui.sim.faults.retry_after`)."""
DOWN_MODES = ("refuse", "503")
"""How the gateway is down in an outage or a flapping down period: connections refused
(the listener closed, open connections reset) or every ``/send`` answered 503."""
MAX_HUGE_MB = 1024.0


@dataclass
class SimulatorConfig:
    """How the simulated gateway behaves; mutable, read afresh for every request.

    The fault shares are drawn from one uniform number per request, in the order
    fail, throttle, garbage, nonzero code, permanent, huge, slow; if they add up
    to more than 1 the later ones get what is left.

    The time windows (storm, outage, flapping) count seconds from the simulator's
    first :meth:`~notifier_tui.sim.server.GatewaySimulator.start` on its clock. An
    outage wins over flapping, and both over a storm; a request they answer draws
    nothing, so the seeded fault sequence is the same with or without them.

    Attributes:
        latency_ms: Delay added before every ``/send`` answer.
        jitter_ms: Uniform +- jitter on ``latency_ms`` (never below zero).
        fail_rate: Share answered HTTP 500.
        garbage_rate: Share answered 200 with a body that is not JSON.
        nonzero_code_rate: Share answered 200 ``{"code": 1, "message": "rejected"}``.
        throttle_rate: Share answered 429 with ``Retry-After: retry_after_s``.
        retry_after_s: The ``Retry-After`` of throttled answers, in seconds.
        slow_rate: Share answered (accepted) only after ``slow_ms``, to exceed a client timeout.
        slow_ms: Delay of the slow answers.
        permanent_rate: Share answered 400 ``{"detail": "bad phone"}``.
        huge_rate: Share answered 200 with a ``{"code": 0, ...}`` body of ``huge_mb``
            MiB; counted as accepted (the gateway acted), though a client that reads
            only a few KB cannot see that.
        huge_mb: Size of the huge bodies, in MiB (at most 1024).
        retry_after_style: How 429 answers write ``Retry-After``, one of
            :data:`RETRY_AFTER_STYLES`.
        storm_start_s: When the 429 storm starts.
        storm_s: How long it lasts; 0 = no storm. Meanwhile every ``/send`` is
            answered 429 with ``Retry-After: storm_retry_after_s``.
        storm_retry_after_s: The ``Retry-After`` of the storm's answers, in seconds.
        outage_start_s: When the outage starts.
        outage_s: How long it lasts; 0 = no outage.
        outage_mode: ``refuse`` or ``503`` (see :data:`DOWN_MODES`).
        flap_up_s: Flapping: the length of each up period (the first starts at 0).
        flap_down_s: The length of each down period; 0 = no flapping.
        flap_mode: ``refuse`` or ``503`` during the down periods.
        token: When set, a missing or different bearer token is answered 401.
        seed: Seed of the fault draws, for reproducible runs.
        prefix: Path prefix before ``/send/{msgId}``.
    """

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    fail_rate: float = 0.0
    garbage_rate: float = 0.0
    nonzero_code_rate: float = 0.0
    throttle_rate: float = 0.0
    retry_after_s: float = 1.0
    slow_rate: float = 0.0
    slow_ms: float = 10_000.0
    permanent_rate: float = 0.0
    huge_rate: float = 0.0
    huge_mb: float = 8.0
    retry_after_style: str = "seconds"
    storm_start_s: float = 0.0
    storm_s: float = 0.0
    storm_retry_after_s: float = 1.0
    outage_start_s: float = 0.0
    outage_s: float = 0.0
    outage_mode: str = "refuse"
    flap_up_s: float = 0.0
    flap_down_s: float = 0.0
    flap_mode: str = "refuse"
    token: str | None = None
    seed: int | None = None
    prefix: str = "/v1"

    def __post_init__(self) -> None:
        for name in RATE_FIELDS:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
        for name in _NON_NEGATIVE_FIELDS:
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if not (math.isfinite(self.huge_mb) and 0 < self.huge_mb <= MAX_HUGE_MB):
            raise ValueError(f"huge_mb must be > 0 and <= {MAX_HUGE_MB:g}, got {self.huge_mb!r}")
        if self.retry_after_style not in RETRY_AFTER_STYLES:
            raise ValueError(
                f"retry_after_style must be one of {', '.join(RETRY_AFTER_STYLES)}, "
                f"got {self.retry_after_style!r}"
            )
        for name in ("outage_mode", "flap_mode"):
            if getattr(self, name) not in DOWN_MODES:
                raise ValueError(f"{name} must be refuse or 503, got {getattr(self, name)!r}")

    def __repr__(self) -> str:
        # The token is a secret even in a simulator: say only whether one is set.
        fields = [
            f"{f.name}={'<set>' if getattr(self, f.name) else None}"
            if f.name == "token"
            else f"{f.name}={getattr(self, f.name)!r}"
            for f in dataclasses.fields(self)
        ]
        return f"SimulatorConfig({', '.join(fields)})"


def config_update(config: SimulatorConfig, changes: object) -> SimulatorConfig:
    """A copy of ``config`` with ``changes`` (a decoded ``POST /config`` body) applied.

    Raises:
        ValueError: not an object, an unknown field, a value of the wrong type or range.
    """
    if not isinstance(changes, dict):
        raise ValueError("body must be a JSON object")
    types = {f.name: f.type for f in dataclasses.fields(SimulatorConfig)}
    for name, value in changes.items():
        kind = types.get(name)
        if kind is None:
            raise ValueError(f"unknown field {name!r}")
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        ok = {
            "float": is_number,
            "str": isinstance(value, str),
            "str | None": value is None or isinstance(value, str),
            "int | None": value is None or (isinstance(value, int) and not isinstance(value, bool)),
        }[str(kind)]
        if not ok:
            raise ValueError(f"{name} must be {kind}, got {type(value).__name__}")
    return dataclasses.replace(config, **changes)


def shown(config: SimulatorConfig) -> dict[str, object]:
    """``config`` as ``POST /config`` echoes it: the token only as whether one is set."""
    fields = dataclasses.asdict(config)
    fields["token"] = config.token is not None  # never echo a secret
    return fields
