"""Settings: flags, then environment, then the TOML config file, then defaults.

:class:`Settings` is frozen and passed explicitly to whatever needs it; no
module reads the environment on its own. Each field's source is remembered so
``notifier-tui config show`` can say where a value came from.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from notifier_tui.core.defaults import DEFAULT_BASE_URL
from notifier_tui.core.errors import ValidationError
from notifier_tui.core.rules import validate_timezone
from notifier_tui.core.secret import Secret
from notifier_tui.settings import paths

if TYPE_CHECKING:
    from notifier_tui.core.sending.sender import SenderConfig

ENV_PREFIX = "NOTIFIER_"


@dataclass(frozen=True)
class Settings:
    """Everything the program can be told. Env name: ``NOTIFIER_`` + upper-case field."""

    db: Path = field(default_factory=paths.default_db)
    """The SQLite store file."""
    base_url: str = DEFAULT_BASE_URL
    """The gateway's base URL; requests go to ``{base_url}/send/{id}``."""
    token: Secret = field(default_factory=lambda: Secret(""))
    """The gateway's bearer token. Never printed, logged or shown unmasked."""
    concurrency: int = 32
    """Gateway requests in flight at most."""
    rate_limit: float = 0.0
    """Messages per second at most; 0 means unlimited."""
    timeout: float = 5.0
    """Seconds allowed for one gateway request (connect, write, read)."""
    default_timezone: str = "Europe/Moscow"
    """Timezone of a client added without one."""
    retry_base: float = 1.0
    """First retry delay in seconds; doubles each attempt, with full jitter."""
    retry_cap: float = 300.0
    """Longest retry delay in seconds."""
    breaker_threshold: int = 10
    """Consecutive transient failures that open the circuit breaker."""
    breaker_cooldown: float = 5.0
    """Seconds the breaker stays open before its first probe; doubles up to the max."""
    breaker_max_cooldown: float = 120.0
    """Longest breaker cool-down in seconds."""
    lease_ttl: float = 5.0
    """Seconds without a heartbeat after which another process may take over sending."""
    log_file: Path = field(default_factory=paths.default_log_file)
    """The rotating log file."""
    log_level: str = "INFO"
    """Log level for the log file and stderr."""
    metrics_host: str = "127.0.0.1"
    """Address the Prometheus endpoint binds to."""
    metrics_port: int = 0
    """Port of the Prometheus endpoint; 0 disables it."""
    report_time: str = ""
    """Local time (HH:MM) to send the daily report; empty disables it."""
    report_to: str = ""
    """Comma-separated recipients of the daily report."""
    smtp_host: str = ""
    """SMTP server for the daily report."""
    smtp_port: int = 587
    """SMTP port."""
    smtp_security: str = "starttls"
    """``starttls``, ``ssl`` or ``none``."""
    smtp_user: str = ""
    """SMTP login; empty for none."""
    smtp_password: Secret = field(default_factory=lambda: Secret(""))
    """SMTP password; treated like the token."""
    smtp_from: str = ""
    """Sender address of the daily report."""
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)
    """Where each field's value came from: flag, env, file or default."""

    def describe(self) -> list[tuple[str, str, str]]:
        """``(name, shown value, source)`` for every setting, secrets masked."""
        out = []
        for f in fields(self):
            if f.name == "sources":
                continue
            out.append((f.name, str(getattr(self, f.name)), self.sources.get(f.name, "default")))
        return out


SETTING_NAMES = tuple(f.name for f in fields(Settings) if f.name != "sources")
_TYPES = {f.name: f.type for f in fields(Settings)}


def _coerce(name: str, value: Any) -> Any:
    kind = _TYPES[name]
    try:
        if kind in ("Path",):
            return Path(os.path.expanduser(str(value)))
        if kind == "Secret":
            return value if isinstance(value, Secret) else Secret(str(value))
        if isinstance(value, bool):
            raise TypeError("a boolean is not a number")
        if kind == "int":
            number = float(value)
            if not number.is_integer():
                raise ValueError("not a whole number")
            return int(number)
        if kind == "float":
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise ValidationError(name, f"must be a {kind}, got {value!r}") from None


def _check(settings: Settings) -> Settings:
    if settings.concurrency < 1 or settings.concurrency > 2000:
        raise ValidationError("concurrency", "must be between 1 and 2000")
    if settings.rate_limit < 0:
        raise ValidationError("rate_limit", "must be 0 (unlimited) or positive")
    if settings.timeout <= 0:
        raise ValidationError("timeout", "must be positive")
    if not settings.base_url.startswith(("http://", "https://")):
        raise ValidationError("base_url", "must start with http:// or https://")
    if settings.smtp_security not in ("starttls", "ssl", "none"):
        raise ValidationError("smtp_security", "must be starttls, ssl or none")
    if settings.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValidationError("log_level", "must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
    if not 0 <= settings.metrics_port <= 65535:
        raise ValidationError("metrics_port", "must be 0 (off) or a port number up to 65535")
    try:
        validate_timezone(settings.default_timezone)
    except ValidationError as err:
        raise ValidationError("default_timezone", err.rule) from None
    return settings


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings in a TOML file; unknown keys are an error, a missing file is empty."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as err:
        raise ValidationError("config", f"{path} is not valid TOML: {err}") from None
    except UnicodeDecodeError:
        raise ValidationError("config", f"cannot read {path}: not UTF-8 text") from None
    except OSError as err:
        raise ValidationError("config", f"cannot read {path}: {err.strerror}") from None
    unknown = sorted(set(data) - set(SETTING_NAMES))
    if unknown:
        raise ValidationError("config", f"{path}: unknown setting(s) {', '.join(unknown)}")
    return data


def load_settings(
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    config_path: Path | None = None,
) -> Settings:
    """Resolve every setting: flags > env > config file > defaults.

    Args:
        flags: values given on the command line (``None`` values are ignored).
        env: the environment; ``os.environ`` when omitted.
        config_path: the TOML file; the user config file when omitted.
    """
    env = os.environ if env is None else env
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    path = config_path or paths.config_file()
    from_file = read_config_file(path)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name in SETTING_NAMES:
        env_name = ENV_PREFIX + name.upper()
        if name in flags:
            values[name], sources[name] = _coerce(name, flags[name]), "flag"
        elif env.get(env_name):
            values[name], sources[name] = _coerce(name, env[env_name]), f"env {env_name}"
        elif name in from_file:
            values[name], sources[name] = _coerce(name, from_file[name]), f"file {path}"
    return _check(replace(Settings(), **values, sources=sources))


def sender_config(settings: Settings, *, role: str, auto_takeover: bool = True) -> SenderConfig:
    """The sender's knobs out of the settings (the token revealed only here)."""
    # Imported here so reading settings (every CLI call) does not load httpx/aiohttp.
    from notifier_tui.core.sending.sender import SenderConfig

    return SenderConfig(
        base_url=settings.base_url,
        token=settings.token.reveal(),
        concurrency=settings.concurrency,
        rate_limit=settings.rate_limit,
        timeout=settings.timeout,
        retry_base=settings.retry_base,
        retry_cap=settings.retry_cap,
        breaker_threshold=settings.breaker_threshold,
        breaker_cooldown=settings.breaker_cooldown,
        breaker_max_cooldown=settings.breaker_max_cooldown,
        lease_ttl=settings.lease_ttl,
        role=role,
        auto_takeover=auto_takeover,
    )
