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
)
_NON_NEGATIVE_FIELDS = ("latency_ms", "jitter_ms", "retry_after_s", "slow_ms")


@dataclass
class SimulatorConfig:
    """How the simulated gateway behaves; mutable, read afresh for every request.

    The fault shares are drawn from one uniform number per request, in the order
    fail, throttle, garbage, nonzero code, permanent, slow; if they add up to
    more than 1 the later ones get what is left.

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
