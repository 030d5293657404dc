"""Render the HTTP API's /docs page with headless chromium into screenshots/api-docs.png.

The browser UI's PNG (screenshots/browser.png) is saved by tests/web/test_browser.py.
Run: ``.venv/bin/python screenshots/make_web_screenshots.py`` (needs Debian's chromium).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from playwright.async_api import async_playwright

from notifier_tui.core.store import Store
from notifier_tui.ops.api.app import create_api
from notifier_tui.ops.api.server import ApiServer

OUT = Path(__file__).resolve().parent
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "docs.db")
        server = ApiServer(create_api(store, "screenshot-token"), "127.0.0.1", 0)
        await server.start()
        try:
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(
                    executable_path=shutil.which("chromium"), args=ARGS
                )
                page = await browser.new_page(viewport={"width": 1280, "height": 1100})
                await page.goto(f"{server.url}/docs")
                await page.wait_for_selector(".opblock", timeout=20_000)
                await page.screenshot(path=str(OUT / "api-docs.png"), full_page=False)
                await browser.close()
        finally:
            await server.stop()
            store.close()


if __name__ == "__main__":
    asyncio.run(main())
