"""Settings: flags, then environment, then the TOML config file, then defaults.

:class:`Settings` is frozen and passed explicitly to whatever needs it; no
module reads the environment on its own. Each field's source is remembered so
``notifier-tui config show`` can say where a value came from.
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from notifier_tui.core.defaults import DEFAULT_BASE_URL
from notifier_tui.core.errors import ValidationError
from notifier_tui.core.secret import Secret, mask_urls
from notifier_tui.settings import coerce, paths, secret_files
from notifier_tui.settings.errors import ConfigError

if TYPE_CHECKING:
    from notifier_tui.core.sending.sender import SenderConfig

ENV_PREFIX = "NOTIFIER_"
UI_NEVER_SENDS_ENV = "NOTIFIER_UI_NEVER_SENDS"
"""Set to 1 for a UI that must never send (each browser session of ``serve``)."""

log = logging.getLogger("notifier_tui.settings")


@dataclass(frozen=True)
class Settings:
    """Everything the program can be told. Env name: ``NOTIFIER_`` + upper-case field."""

    db: Path | str = field(default_factory=paths.default_db)
    """The store: the SQLite file (a Path), or a ``sqlite:``/``postgresql:`` URL (a str).

    A URL's password is a secret: show it only through ``mask_url``."""
    base_url: str = DEFAULT_BASE_URL
    """The gateway's base URL; requests go to ``{base_url}/send/{id}``."""
    token: Secret = field(default_factory=lambda: Secret(""))
    """The gateway's bearer token. Never printed, logged or shown unmasked."""
    token_file: str = ""
    """A file holding the gateway token (mode 0600); safer than a flag, which shows in `ps`."""
    concurrency: int = 32
    """Gateway requests in flight at most."""
    rate_limit: float = 0.0
    """Messages per second at most; 0 means unlimited."""
    timeout: float = 5.0
    """Seconds allowed for one gateway request (connect, write, read)."""
    default_timezone: str = "Europe/Moscow"
    """Timezone of a client added without one."""
    display_timezone: str = ""
    """The zone every readable time is shown in (IANA name); empty: the machine's own."""
    retry_base: float = 1.0
    """First retry delay in seconds; doubles each attempt, with full jitter."""
    retry_cap: float = 300.0
    """Longest retry delay in seconds."""
    breaker_window: int = 100
    """The circuit breaker judges the gateway on this many latest answers (and 30 s at most)."""
    breaker_min_calls: int = 30
    """Answers the window needs before its failure rate can open the breaker."""
    breaker_failure_rate: float = 0.6
    """Share of transient failures in the window that opens the breaker."""
    breaker_consecutive_failures: int = 25
    """Transient failures in a row that open it at once (a dead gateway); 0 turns this off."""
    breaker_probe_interval: float = 1.0
    """While open, one real message probes the gateway every this many seconds."""
    breaker_max_probe_interval: float = 2.0
    """Cap on the probe interval: sending resumes within about this long of a recovery."""
    breaker_half_open_calls: int = 4
    """Probes of one half-open trial: the first alone, the rest together once it succeeds."""
    breaker_close_share: float = 0.5
    """Share of a half-open trial's probes that must be accepted to close the breaker."""
    credentials_probe_interval: float = 30.0
    """While the gateway refuses the token, one message tries it every this many seconds."""
    lease_ttl: float = 5.0
    """Seconds without a heartbeat after which another process may take over sending."""
    stop_timeout: float = 8.0
    """Seconds the daemon's stop may take; past it, it exits and leaves the rest to recovery."""
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
    api_port: int = 0
    """Port of the HTTP API (on the daemon and on ``serve``); 0 disables it."""
    api_host: str = "127.0.0.1"
    """Address the HTTP API binds to: loopback unless you say otherwise."""
    api_token: Secret = field(default_factory=lambda: Secret(""))
    """The Bearer token API callers send; separate from the gateway token, treated like it."""
    event_loop: str = "auto"
    """``auto`` (uvloop when installed), ``uvloop`` or ``asyncio``: the sender's event loop."""
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)
    """Where each field's value came from: flag, env, file or default."""

    def describe(self) -> list[tuple[str, str, str]]:
        """``(name, shown value, source)`` for every setting, secrets masked.

        Secrets show as ``********``; a URL's password (``http://u:pw@host``) too.
        """
        out = []
        for f in fields(self):
            if f.name == "sources":
                continue
            shown = mask_urls(str(getattr(self, f.name)))
            out.append((f.name, shown, self.sources.get(f.name, "default")))
        return out


SETTING_NAMES = tuple(f.name for f in fields(Settings) if f.name != "sources")
_TYPES = {f.name: str(f.type) for f in fields(Settings)}


def _warn_by_log(line: str) -> None:
    log.warning("%s", line)


def read_config_file(path: Path, *, explicit: bool = False) -> dict[str, Any]:
    """The settings in a TOML file; unknown keys are an error, a missing file is empty.

    Args:
        path: the TOML file.
        explicit: the path was given with ``--config``: a path that cannot be
            read (a directory) is then bad input, not a broken setup.

    Raises:
        ConfigError: the file is not TOML, not UTF-8, or names unknown settings.
        ValidationError: an explicit path cannot be read (ConfigError otherwise).
    """
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as err:
        raise ConfigError("config", f"{path} is not valid TOML: {err}") from None
    except UnicodeDecodeError:
        raise ConfigError("config", f"cannot read {path}: not UTF-8 text") from None
    except OSError as err:
        error = ValidationError if explicit else ConfigError
        raise error("config", f"cannot read {path}: {err.strerror}") from None
    unknown = sorted(set(data) - set(SETTING_NAMES))
    if unknown:
        raise ConfigError("config", f"{path}: unknown setting(s) {', '.join(unknown)}")
    return data


def load_settings(
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    config_path: Path | None = None,
    *,
    warn: Callable[[str], None] | None = None,
) -> Settings:
    """Resolve every setting: flags > env > config file > defaults.

    The token may come from ``token_file`` instead: the file is read when
    ``token_file`` comes from a source at least as strong as ``token`` (a
    ``--token-file`` flag beats ``NOTIFIER_TOKEN``); both from the same source
    is an error.

    Args:
        flags: values given on the command line (``None`` values are ignored).
        env: the environment; ``os.environ`` when omitted.
        config_path: the TOML file given with ``--config``; the user config
            file when omitted.
        warn: gets one line per exposed secret file (a config file or token
            file the group or others can read); logged as a warning when omitted.

    Raises:
        ValidationError: a flag's value is bad (usage, exit 2).
        ConfigError: a value from the environment or the config file is bad (exit 78).
    """
    env = os.environ if env is None else env
    warn = warn or _warn_by_log
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    path = config_path or paths.config_file()
    from_file = read_config_file(path, explicit=config_path is not None)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name in SETTING_NAMES:
        env_name = ENV_PREFIX + name.upper()
        if name in flags:
            sources[name] = coerce.FLAG
            raw = flags[name]
        elif env.get(env_name):
            sources[name] = coerce.ENV + env_name
            raw = env[env_name]
        elif name in from_file:
            sources[name] = coerce.FILE + str(path)
            raw = from_file[name]
        else:
            continue
        values[name] = coerce.coerce(name, _TYPES[name], raw, sources[name])
    exposed = secret_files.secrets_in(from_file)
    if exposed and secret_files.readable_by_others(path):
        warn(secret_files.exposure_warning(path, exposed))
    _token_from_file(values, sources, warn)
    defaults = Settings()
    coerce.check({**{n: getattr(defaults, n) for n in SETTING_NAMES}, **values}, sources)
    return replace(defaults, **values, sources=sources)


def _token_from_file(
    values: dict[str, Any], sources: dict[str, str], warn: Callable[[str], None]
) -> None:
    """Put the token file's content in ``values["token"]`` when ``token_file`` wins."""
    text = values.get("token_file")
    if not text:
        return
    file_source = sources["token_file"]
    token_level = coerce.level(sources.get("token"))
    file_level = coerce.level(file_source)
    if token_level == file_level:
        raise coerce.refuse("token_file", "give the token or a token file, not both", file_source)
    if token_level > file_level:
        return  # a stronger source gave the token itself
    values["token"] = secret_files.read_token_file(text, file_source)
    where = secret_files.token_path(text)
    sources["token"] = f"token_file {where}"
    if secret_files.readable_by_others(where):
        warn(secret_files.exposure_warning(where, ["token"]))


def sender_config(settings: Settings, *, role: str, auto_takeover: bool = True) -> SenderConfig:
    """The sender's knobs out of the settings (the token revealed only here)."""
    # Imported here so reading settings (every CLI call) does not load httpx/aiohttp.
    from notifier_tui.core.sending.breaker import BreakerConfig
    from notifier_tui.core.sending.sender import SenderConfig

    return SenderConfig(
        base_url=settings.base_url,
        token=settings.token.reveal(),
        concurrency=settings.concurrency,
        rate_limit=settings.rate_limit,
        timeout=settings.timeout,
        retry_base=settings.retry_base,
        retry_cap=settings.retry_cap,
        breaker=BreakerConfig(
            window_calls=settings.breaker_window,
            min_calls=settings.breaker_min_calls,
            failure_rate=settings.breaker_failure_rate,
            consecutive_failures=settings.breaker_consecutive_failures,
            probe_interval=settings.breaker_probe_interval,
            max_probe_interval=settings.breaker_max_probe_interval,
            half_open_calls=settings.breaker_half_open_calls,
            close_share=settings.breaker_close_share,
        ),
        credentials_probe_interval=settings.credentials_probe_interval,
        stop_timeout=settings.stop_timeout,
        lease_ttl=settings.lease_ttl,
        role=role,
        auto_takeover=auto_takeover,
    )
