"""The UI in a real headless browser: Debian's chromium driven by Playwright.

The web UI server runs in this test's loop on a free loopback port; each
browser session is a real ``python -m notifier_tui`` process that textual-serve
starts. The test opens the page, sees the Clients screen, presses ``2`` and
sees the Mailings screen, and saves a PNG for the README.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from notifier_tui.core.store import Store
from notifier_tui.ops.webui import WebUiServer

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


@pytest.fixture
async def web_ui(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[WebUiServer]:
    db = tmp_path / "web.db"
    store = Store(db, default_timezone="Europe/Moscow")
    store.create_client("79001234567", tag="vip")
    store.create_client("79511234567", tag="web")
    store.close()
    for name in ("NOTIFIER_CONFIG_DIR", "NOTIFIER_LOG_DIR", "NOTIFIER_DATA_DIR"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.delenv("NOTIFIER_TOKEN", raising=False)
    server = WebUiServer("127.0.0.1", 0, session_env={"NOTIFIER_DB": str(db)})
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


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


async def test_browser_shows_clients_then_mailings(web_ui: WebUiServer) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            feed = ScreenFeed()
            feed.attach(page)
            await page.goto(web_ui.url, timeout=20_000)
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
