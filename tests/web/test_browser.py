"""The UI in a real headless browser: Debian's chromium driven by Playwright.

``notifier-tui serve`` runs as a real process on a free loopback port; each
browser session is a real ``python -m notifier_tui`` UI process that
textual-serve starts, and that never sends: serve itself holds the lease.
The test opens the page, sees the Clients screen, presses ``2`` and sees the
Mailings screen, and saves a PNG for the README.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from notifier_tui.core.store import Store

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOT = Path(__file__).resolve().parents[2] / "screenshots" / "browser.png"

pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="needs Debian's chromium (.ci/run installs it)",
)

# The flags this machine's closed network needs: no background connections that
# would be refused, no sandbox as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Served:
    url: str
    db: Path


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """``notifier-tui serve`` as a real process on a free port, on a store with two clients."""
    db = tmp_path / "web.db"
    store = Store(db, default_timezone="Europe/Moscow")
    store.create_client("79001234567", tag="vip")
    store.create_client("79511234567", tag="web")
    store.close()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTIFIER_")}
    for name in ("NOTIFIER_CONFIG_DIR", "NOTIFIER_LOG_DIR", "NOTIFIER_DATA_DIR"):
        env[name] = str(tmp_path / name.lower())
    proc = subprocess.Popen(
        [sys.executable, "-m", "notifier_tui", "--db", str(db), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline, "serve did not listen"
            time.sleep(0.1)
        yield Served(f"http://127.0.0.1:{port}", db)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0


class ScreenFeed:
    """What the UI process sent the browser, as text, gathered from the page's websocket.

    The browser draws the terminal with WebGL, so the page's DOM holds no text;
    the frames the page receives are the terminal output it draws. Escape
    sequences stay in, but Textual writes each run of cells as plain text.
    """

    def __init__(self) -> None:
        self.text = ""

    def attach(self, page: Any) -> None:
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload: str | bytes) -> None:
        if isinstance(payload, bytes):
            payload = payload.decode("utf-8", errors="replace")
        self.text += payload

    async def wait_for(self, text: str, timeout: float = 30.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if text in self.text:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"{text!r} never reached the browser; last: {self.text[-1500:]!r}")


async def test_browser_shows_clients_then_mailings(served: Served) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            feed = ScreenFeed()
            feed.attach(page)
            await page.goto(served.url, timeout=20_000)
            await feed.wait_for("79001234567")  # a client's phone: the Clients screen
            seen = len(feed.text)
            await page.click("#terminal")
            await page.keyboard.press("2")
            await feed.wait_for("No mailings yet")  # the Mailings screen of an empty store
            assert "No mailings yet" in feed.text[seen:]
            await asyncio.sleep(1.0)  # let the frame settle for the picture
            SCREENSHOT.parent.mkdir(exist_ok=True)
            await page.screenshot(path=str(SCREENSHOT))
        finally:
            await browser.close()
    assert SCREENSHOT.stat().st_size > 10_000
    # serve itself holds the lease and sends; the browser session only looks.
    store = Store(served.db)
    try:
        holder = store.lease_holder(30.0)
        assert holder is not None and holder.pid != os.getpid()
        assert holder.role == "daemon"
    finally:
        store.close()
