"""The Textual UI in browsers (``notifier-tui serve``), through textual-serve.

textual-serve starts one UI process per browser session and relays its screen
over a websocket. Here its aiohttp application runs inside the loop of the
process that sends (``serve`` is a daemon with a web front), so closing a tab
never stops a mailing: each session is a UI that never sends, attached to the
store the way a terminal UI attaches to a daemon.

Nothing secret travels on a session's command line (``ps`` would show it): the
store and the config file reach the session through the environment it
inherits, and a session needs no gateway token because it never sends.
"""

from __future__ import annotations

import logging
import os
import shlex
import sys
from collections.abc import Mapping

from aiohttp import web
from textual_serve.server import Server

from notifier_tui.ops.fronts import DEFAULT_WEB_PORT
from notifier_tui.settings.config import UI_NEVER_SENDS_ENV

log = logging.getLogger("notifier_tui.serve")


def session_command(python: str = sys.executable) -> str:
    """The shell command textual-serve runs for each browser session."""
    return shlex.join([python, "-m", "notifier_tui"])


class WebUiServer:
    """Serve the UI to browsers on ``host:port`` from the running loop.

    Args:
        host: the address to bind; the caller refuses a non-loopback one unless
            the user said ``--allow-remote``.
        port: the port; 0 picks a free one (tests).
        session_env: variables every session gets on top of this process's
            environment (``NOTIFIER_DB``, ``NOTIFIER_CONFIG``).
        public_url: the URL browsers use, when a reverse proxy fronts this server.
    """

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_WEB_PORT,
        *,
        session_env: Mapping[str, str] | None = None,
        public_url: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self._session_env = {**(session_env or {}), UI_NEVER_SENDS_ENV: "1"}
        self._public_url = public_url
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self.bound_port = port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.bound_port}"

    async def start(self) -> None:
        """Bind and serve; raises ``OSError`` when the address cannot be bound."""
        # textual-serve copies os.environ into every session it starts.
        os.environ.update(self._session_env)
        server = Server(
            session_command(),
            host=self.host,
            port=self.port,
            title="notifier-tui",
            public_url=self._public_url,
        )
        # Server.serve() would own the loop and the signals (web.run_app); its
        # application is built by _make_app, which we run with our own runner.
        app = await server._make_app()
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, self.host, self.port)
        await self._site.start()
        sockets = self._runner.addresses
        if sockets:
            self.bound_port = int(sockets[0][1])
        if self._public_url is None:
            # The page tells the browser where the websocket is: it must name the bound port.
            server.public_url = self.url
        log.info("web UI on %s", self.url)

    async def stop(self) -> None:
        """Close every session and the listening socket."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
