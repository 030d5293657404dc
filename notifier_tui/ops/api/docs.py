"""Interactive API docs at ``/docs``, served from the fastapi-offline package's assets.

FastAPI's own ``/docs`` page loads Swagger UI from a CDN; an operator's server
may have no route to one, so Swagger UI 5 (which renders OpenAPI 3.1, as
FastAPI writes it) is served from the installed fastapi-offline package and the
page works offline. Only its asset directory is used.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"
"""The directory holding swagger-ui-bundle.js and swagger-ui.css."""


def mount_docs(app: FastAPI, prefix: str = "/docs") -> None:
    """Serve Swagger UI at ``prefix`` with its assets under ``prefix``/assets."""
    app.mount(f"{prefix}/assets", StaticFiles(directory=ASSETS), name="docs-assets")

    async def docs_page() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title}: API",
            swagger_js_url=f"{prefix}/assets/swagger-ui-bundle.js",
            swagger_css_url=f"{prefix}/assets/swagger-ui.css",
            swagger_favicon_url=f"{prefix}/assets/favicon.png",
        )

    app.add_api_route(prefix, docs_page, methods=["GET"], include_in_schema=False)
