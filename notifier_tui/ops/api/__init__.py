"""The HTTP API: JSON over the same core operations and validation as the command line.

``--api-port N`` on the daemon and on ``serve`` starts it (0, the default, means
off). It is a FastAPI application served by uvicorn inside the caller's event
loop; FastAPI derives the OpenAPI document and the 422 bodies from the same
type annotations that validate requests, so the published spec cannot drift
from the handlers. The domain rules themselves stay in the core: a handler only
translates JSON to a :class:`~notifier_tui.core.store.Store` call and the core's
errors to HTTP statuses.

Modules:
    app: the routes and the error mapping.
    models: request bodies.
    auth: the Bearer token check.
    docs: the interactive docs at ``/docs``, from packaged assets (no CDN).
    server: uvicorn inside an existing loop, with a bounded stop.
"""
