"""The API's routes: each one a thin translation of JSON to one store call.

Statuses:
    200/201 the result, in exactly the JSON the command line prints with ``--json``;
    401 no or a wrong Bearer token (nothing happens);
    404 an unknown id;
    409 valid input that clashes with stored data (a phone that already exists);
    422 bad input, with the field and the rule: ``{"error": "invalid", "field", "rule"}``
        from the core, or FastAPI's ``{"detail": [...]}`` for a malformed body.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse

from notifier_tui.core import rules
from notifier_tui.core.errors import ConflictError, NotFoundError, RowErrors, ValidationError
from notifier_tui.core.store import Store
from notifier_tui.ops.api.auth import BearerAuth
from notifier_tui.ops.api.docs import mount_docs
from notifier_tui.ops.api.models import ClientIn, ClientPatch, MailingIn, MailingPatch

MAX_PAGE = 1000
"""The largest page of clients one request may ask for."""
MAX_CSV_BYTES = 64 * 1024 * 1024
"""The largest CSV body an import accepts (a few hundred thousand rows)."""

HealthFn = Callable[[], dict[str, Any]]
T = TypeVar("T")


def _error(status: int, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(status_code=status, content=body)


def _install_error_mapping(app: FastAPI) -> None:
    @app.exception_handler(NotFoundError)
    async def not_found(_: Request, exc: NotFoundError) -> JSONResponse:
        return _error(404, {"error": "not_found", "kind": exc.kind, "id": exc.ident})

    @app.exception_handler(ConflictError)
    async def conflict(_: Request, exc: ConflictError) -> JSONResponse:
        return _error(409, {"error": "conflict", "field": exc.field, "rule": exc.rule})

    @app.exception_handler(ValidationError)
    async def invalid(_: Request, exc: ValidationError) -> JSONResponse:
        return _error(422, {"error": "invalid", "field": exc.field, "rule": exc.rule})

    @app.exception_handler(RowErrors)
    async def bad_rows(_: Request, exc: RowErrors) -> JSONResponse:
        rows = [{"line": line, "field": err.field, "rule": err.rule} for line, err in exc.errors]
        return _error(422, {"error": "invalid_rows", "rows": rows})


def _when(text: str | None, name: str, now: datetime) -> datetime | None:
    # The API has no "local time": an ISO time without an offset is UTC.
    return None if text is None else rules.parse_when(text, now, UTC, field=name)


def create_api(
    store: Store, token: str, *, lease_ttl: float = 5.0, health: HealthFn | None = None
) -> FastAPI:
    """The API over ``store``; every route but the docs and ``/healthz`` needs ``token``.

    Args:
        store: the open store; every call runs on its own thread (``Store.run``).
        token: the ``api_token`` callers send as ``Authorization: Bearer ...``.
        lease_ttl: seconds after its last heartbeat that a lease counts as held.
        health: extra figures for ``/healthz`` (the sender's), called on the loop.
    """
    app = FastAPI(
        title="notifier-tui",
        version="1",
        description=(
            "Clients, mailings and their statistics. Send `Authorization: Bearer <api_token>`."
        ),
        docs_url=None,
        redoc_url=None,
    )
    _install_error_mapping(app)
    mount_docs(app)
    api = APIRouter(dependencies=[Depends(BearerAuth(token))])
    run = store.run

    async def write(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        # The daemon's store records its own actions as "daemon"; these are the API's.
        result: T = await store.run(store.acting_as, "api", fn, *args, **kwargs)
        return result

    # --- clients -----------------------------------------------------------

    @api.get("/clients", tags=["clients"], summary="List clients, filtered and paged")
    async def list_clients(
        search: str = "",
        tag: str | None = None,
        operator: str | None = None,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    ) -> dict[str, Any]:
        # Filters are checked like stored values, as `client list` does.
        tag = rules.validate_tag(tag) if tag is not None else None
        operator = rules.validate_operator_code(operator) if operator is not None else None
        records = await run(
            store.list_clients, search, tag=tag, operator=operator, offset=offset, limit=limit
        )
        total = await run(store.count_clients, search, tag=tag, operator=operator)
        return {
            "items": [r.to_json() for r in records],
            "total": total,
            "offset": offset,
            "limit": limit,
        }

    @api.post("/clients", status_code=201, tags=["clients"], summary="Add a client")
    async def create_client(body: ClientIn) -> dict[str, Any]:
        record = await write(
            store.create_client,
            body.phone,
            tag=body.tag,
            timezone=body.timezone,
            operator_code=body.operator_code,
        )
        return record.to_json()

    @api.get("/clients/{client_id}", tags=["clients"], summary="One client")
    async def get_client(client_id: int) -> dict[str, Any]:
        return (await run(store.get_client, client_id)).to_json()

    @api.patch("/clients/{client_id}", tags=["clients"], summary="Change a client")
    async def update_client(client_id: int, body: ClientPatch) -> dict[str, Any]:
        changes = body.model_dump(exclude_none=True)
        if not changes:
            raise ValidationError("body", "nothing to change; give at least one field")
        return (await write(store.update_client, client_id, **changes)).to_json()

    @api.delete("/clients/{client_id}", tags=["clients"], summary="Delete a client")
    async def delete_client(client_id: int) -> dict[str, Any]:
        await write(store.delete_client, client_id)
        return {"deleted": client_id}

    @api.post(
        "/clients/import",
        tags=["clients"],
        summary="Import clients from CSV (header phone,tag,timezone[,operator_code])",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"text/csv": {"schema": {"type": "string"}}},
            }
        },
    )
    async def import_clients(request: Request, skip_invalid: bool = False) -> dict[str, Any]:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "text/csv":
            raise ValidationError("content-type", f"must be text/csv, got {ctype or 'none'!r}")
        # Spooled to a file, not held as one string, and parsed by the very reader
        # `client import` uses, so both report the same rows by the same line numbers.
        fd, path = tempfile.mkstemp(prefix="notifier-import-", suffix=".csv")
        try:
            size = 0
            with os.fdopen(fd, "wb") as fh:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > MAX_CSV_BYTES:
                        raise ValidationError("body", f"larger than {MAX_CSV_BYTES} bytes")
                    fh.write(chunk)
            result = await write(store.import_csv, path, skip_invalid=skip_invalid)
        finally:
            os.unlink(path)
        return result.to_json()

    # --- mailings ----------------------------------------------------------

    @api.get("/mailings", tags=["mailings"], summary="Every mailing with its counts")
    async def list_mailings() -> list[dict[str, Any]]:
        return [r.to_json() for r in await run(store.list_mailings)]

    @api.post("/mailings", status_code=201, tags=["mailings"], summary="Add a mailing")
    async def create_mailing(body: MailingIn) -> dict[str, Any]:
        now = datetime.now(UTC)
        start = _when(body.start_at, "start_at", now)
        end = _when(body.end_at, "end_at", now)
        assert start is not None and end is not None  # both are required by the model
        record = await write(
            store.create_mailing,
            start,
            end,
            body.text,
            operator_codes=body.operator_codes,
            tags=body.tags,
            window=body.window,
        )
        return record.to_json()

    @api.get("/mailings/{mailing_id}", tags=["mailings"], summary="One mailing")
    async def get_mailing(mailing_id: int) -> dict[str, Any]:
        return (await run(store.get_mailing, mailing_id)).to_json()

    @api.patch("/mailings/{mailing_id}", tags=["mailings"], summary="Change a mailing")
    async def update_mailing(mailing_id: int, body: MailingPatch) -> dict[str, Any]:
        changes: dict[str, Any] = body.model_dump(exclude_none=True)
        if not changes:
            raise ValidationError("body", "nothing to change; give at least one field")
        now = datetime.now(UTC)
        for name in ("start_at", "end_at"):
            if name in changes:
                changes[name] = _when(changes[name], name, now)
        return (await write(store.update_mailing, mailing_id, **changes)).to_json()

    @api.delete("/mailings/{mailing_id}", tags=["mailings"], summary="Delete a mailing")
    async def delete_mailing(mailing_id: int) -> dict[str, Any]:
        await write(store.delete_mailing, mailing_id)
        return {"deleted": mailing_id}

    @api.post("/mailings/{mailing_id}/pause", tags=["mailings"], summary="Pause a mailing")
    async def pause_mailing(mailing_id: int) -> dict[str, Any]:
        return (await write(store.pause_mailing, mailing_id)).to_json()

    @api.post("/mailings/{mailing_id}/resume", tags=["mailings"], summary="Resume a mailing")
    async def resume_mailing(mailing_id: int) -> dict[str, Any]:
        return (await write(store.resume_mailing, mailing_id)).to_json()

    @api.post("/mailings/{mailing_id}/cancel", tags=["mailings"], summary="Cancel a mailing")
    async def cancel_mailing(mailing_id: int) -> dict[str, Any]:
        return (await write(store.cancel_mailing, mailing_id)).to_json()

    # --- statistics --------------------------------------------------------

    @api.get("/stats", tags=["stats"], summary="Overall statistics, as `stats --json`")
    async def overall_stats() -> dict[str, Any]:
        return (await run(store.overall_stats)).to_json()

    @api.get("/stats/{mailing_id}", tags=["stats"], summary="One mailing, as `stats ID --json`")
    async def mailing_stats(
        mailing_id: int,
        status: str | None = None,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int | None, Query(ge=1)] = None,
    ) -> dict[str, Any]:
        detail = await run(
            store.mailing_stats, mailing_id, status=status, offset=offset, limit=limit
        )
        return detail.to_json()

    app.include_router(api)

    # --- health (no token: a load balancer or systemd probe has none) ------

    @app.get("/healthz", tags=["health"], summary="Store reachability and the lease holder")
    async def healthz() -> JSONResponse:
        body: dict[str, Any] = {"store": "ok"}
        status = 200
        try:
            holder = await run(store.lease_holder, lease_ttl)
            body["lease_holder"] = holder.describe() if holder is not None else None
        except Exception as exc:  # any failure to read means "unreachable"
            body["store"] = f"unreachable: {type(exc).__name__}"
            status = 503
        if health is not None:
            body.update(health())
        return JSONResponse(status_code=status, content=body)

    return app
