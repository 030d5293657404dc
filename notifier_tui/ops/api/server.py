"""uvicorn inside an event loop that already runs (the daemon's, or ``serve``'s).

uvicorn's ``Server.serve`` installs its own SIGINT/SIGTERM handlers for the
duration and re-raises the signal when it ends; inside the daemon, which owns
its signals (SIGHUP too), that would fight the daemon's handlers. The subclass
here leaves signals alone, and :meth:`ApiServer.stop` ends it within a bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator

import uvicorn
from fastapi import FastAPI

log = logging.getLogger("notifier_tui.api")


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # The process's owner handles signals and calls ApiServer.stop().
        yield


class ApiServer:
    """Serve ``app`` on ``host:port`` from the running loop until :meth:`stop`."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,  # request lines could carry query strings; our log says enough
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        self._server = _QuietServer(config)
        self._task: asyncio.Task[None] | None = None
        self._sock: socket.socket | None = None
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.bound_port}"

    @property
    def bound_port(self) -> int:
        """The port actually bound (``port=0`` asks the OS for a free one)."""
        if self._sock is not None:
            return int(self._sock.getsockname()[1])
        return self.port

    async def start(self) -> None:
        """Bind and start serving; raises ``OSError`` if the address cannot be bound."""
        # Bound here, not by uvicorn: uvicorn answers a bind failure with sys.exit(),
        # which inside a task would take the whole daemon down.
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        sock.set_inheritable(True)
        self._sock = sock
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="notifier-api")
        for _ in range(500):  # up to 5 s for the socket to be bound
            if self._server.started:
                log.info("HTTP API on %s (docs at /docs)", self.url)
                return
            if self._task.done():
                break
            await asyncio.sleep(0.01)
        if self._task.done():
            exc = self._task.exception()
            raise OSError(f"the API could not listen on {self.host}:{self.port}") from exc
        raise OSError(f"the API did not start listening on {self.host}:{self.port} in time")

    async def stop(self, timeout: float = 3.0) -> None:
        """Stop accepting, let requests in flight end, and give up after ``timeout``."""
        if self._task is None:
            return
        self._server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except (TimeoutError, asyncio.CancelledError):
            self._server.force_exit = True
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        self._task = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
