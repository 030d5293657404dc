"""The network fronts a sending process may carry: the HTTP API and the web UI.

The daemon starts them after the sender is built and stops them before the
sender, each within a bound, so a slow browser or API client never holds up
a stop. Both bind to loopback unless the user says otherwise.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from notifier_tui.core.errors import ValidationError

if TYPE_CHECKING:
    from notifier_tui.core.sending.sender import Sender
    from notifier_tui.core.store import Store
    from notifier_tui.settings.config import Settings

log = logging.getLogger("notifier_tui.ops")

DEFAULT_WEB_PORT = 8566


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``: addresses only this machine reaches."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Front(Protocol):
    """A server running on the daemon's loop."""

    @property
    def url(self) -> str: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True)
class WebOptions:
    """``notifier-tui serve``'s own options."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_WEB_PORT
    allow_remote: bool = False
    public_url: str | None = None


def check_web_options(options: WebOptions) -> None:
    """Refuse a non-loopback address without ``--allow-remote`` (the page has no login)."""
    if not is_loopback(options.host) and not options.allow_remote:
        raise ValidationError(
            "--host",
            f"{options.host} is reachable from other machines and the web UI has no login;"
            " add --allow-remote (behind an authenticating proxy) or use an SSH tunnel",
        )


def check_api_settings(settings: Settings) -> None:
    """An API port needs an API token: without one, anybody on the host could write."""
    if settings.api_port and not settings.api_token.reveal():
        raise ValidationError(
            "api_token",
            "the HTTP API needs a token: set NOTIFIER_API_TOKEN or api_token in the config file",
        )


def build_fronts(
    settings: Settings, store: Store, sender: Sender, web: WebOptions | None = None
) -> list[Front]:
    """The API (when ``api_port`` is set) and the web UI (for ``serve``), not yet started."""
    fronts: list[Front] = []
    if settings.api_port:
        check_api_settings(settings)
        from notifier_tui.ops.api.app import create_api
        from notifier_tui.ops.api.server import ApiServer

        def health() -> dict[str, object]:
            return {
                "this_process_sends": sender.is_holder,
                "credentials_rejected": sender.credentials_error is not None,
                "breaker": str(sender.breaker.state),
            }

        app = create_api(
            store, settings.api_token.reveal(), lease_ttl=settings.lease_ttl, health=health
        )
        fronts.append(ApiServer(app, settings.api_host, settings.api_port))
    if web is not None:
        check_web_options(web)
        from notifier_tui.ops.webui import WebUiServer

        env = {"NOTIFIER_DB": str(settings.db)}
        config = settings.sources.get("config_path")
        if config:
            env["NOTIFIER_CONFIG"] = config
        fronts.append(WebUiServer(web.host, web.port, session_env=env, public_url=web.public_url))
    return fronts
