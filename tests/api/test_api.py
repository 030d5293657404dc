"""The HTTP API against a real uvicorn server on a free loopback port and a real store file.

Every route is driven with httpx over TCP: the auth failures, 404, 409, a 422
for each validation rule the core enforces, and the JSON shapes shared with
``stats --json``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from notifier_tui.core.store import Store
from notifier_tui.ops.api.app import create_api
from notifier_tui.ops.api.server import ApiServer

TOKEN = "api-secret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Store]]:
    store = Store(tmp_path / "api.db", default_timezone="Europe/Moscow")
    server = ApiServer(create_api(store, TOKEN), "127.0.0.1", 0)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url, headers=AUTH, timeout=10) as client:
            yield client, store
    finally:
        await server.stop()
        store.close()


async def _client(http: httpx.AsyncClient, phone: str, **extra: Any) -> dict[str, Any]:
    response = await http.post("/clients", json={"phone": phone, **extra})
    assert response.status_code == 201, response.text
    return dict(response.json())


# --- auth -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}],
    ids=["missing", "wrong", "not-bearer"],
)
async def test_no_or_wrong_token_gets_401_and_writes_nothing(
    api: tuple[httpx.AsyncClient, Store], headers: dict[str, str]
) -> None:
    http, store = api
    async with httpx.AsyncClient(base_url=str(http.base_url), headers=headers) as anon:
        response = await anon.post("/clients", json={"phone": "79001234567"})
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert TOKEN not in response.text
        for path in ("/clients", "/mailings", "/stats"):
            assert (await anon.get(path)).status_code == 401
    assert store.count_clients() == 0


async def test_healthz_and_docs_need_no_token(api: tuple[httpx.AsyncClient, Store]) -> None:
    http, _ = api
    async with httpx.AsyncClient(base_url=str(http.base_url)) as anon:
        health = await anon.get("/healthz")
        assert health.status_code == 200
        assert health.json() == {"store": "ok", "lease_holder": None}
        docs = await anon.get("/docs")
        assert docs.status_code == 200
        assert "/docs/assets/swagger-ui-bundle.js" in docs.text
        assert "cdn" not in docs.text.lower()
        asset = await anon.get("/docs/assets/swagger-ui-bundle.js")
        assert asset.status_code == 200 and len(asset.content) > 100_000


async def test_openapi_document_validates_and_lists_every_route(
    api: tuple[httpx.AsyncClient, Store],
) -> None:
    http, _ = api
    spec = (await http.get("/openapi.json")).json()
    validate(spec)
    expected = {
        ("/clients", "get"),
        ("/clients", "post"),
        ("/clients/{client_id}", "get"),
        ("/clients/{client_id}", "patch"),
        ("/clients/{client_id}", "delete"),
        ("/clients/import", "post"),
        ("/mailings", "get"),
        ("/mailings", "post"),
        ("/mailings/{mailing_id}", "get"),
        ("/mailings/{mailing_id}", "patch"),
        ("/mailings/{mailing_id}", "delete"),
        ("/mailings/{mailing_id}/pause", "post"),
        ("/mailings/{mailing_id}/resume", "post"),
        ("/mailings/{mailing_id}/cancel", "post"),
        ("/stats", "get"),
        ("/stats/{mailing_id}", "get"),
        ("/healthz", "get"),
    }
    listed = {(path, method) for path, item in spec["paths"].items() for method in item}
    assert expected <= listed
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "text/csv" in spec["paths"]["/clients/import"]["post"]["requestBody"]["content"]


# --- clients --------------------------------------------------------------------


async def test_client_crud(api: tuple[httpx.AsyncClient, Store]) -> None:
    http, store = api
    created = await _client(http, "+7 900 123-45-67", tag="vip", timezone="Asia/Novosibirsk")
    assert created["phone"] == "79001234567"
    assert created["operator_code"] == "900"
    assert (await http.get(f"/clients/{created['id']}")).json() == created

    patched = await http.patch(f"/clients/{created['id']}", json={"tag": "gold"})
    assert patched.status_code == 200 and patched.json()["tag"] == "gold"
    assert store.get_client(created["id"]).tag == "gold"

    deleted = await http.delete(f"/clients/{created['id']}")
    assert deleted.json() == {"deleted": created["id"]}
    assert (await http.get(f"/clients/{created['id']}")).status_code == 404


async def test_client_list_filters_and_pages(api: tuple[httpx.AsyncClient, Store]) -> None:
    http, _ = api
    for i in range(5):
        await _client(http, f"7900000000{i}", tag="a" if i % 2 else "b")
    await _client(http, "79510000000", tag="a")
    page = (await http.get("/clients", params={"limit": 2, "offset": 1})).json()
    assert page["total"] == 6 and page["offset"] == 1 and page["limit"] == 2
    assert [c["phone"] for c in page["items"]] == ["79000000001", "79000000002"]
    tagged = (await http.get("/clients", params={"tag": "a", "operator": "951"})).json()
    assert [c["phone"] for c in tagged["items"]] == ["79510000000"]
    assert (await http.get("/clients", params={"limit": 0})).status_code == 422
    assert (await http.get("/clients", params={"operator": "95"})).status_code == 422


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"phone": "79001234567", "timezone": "Mars/Olympus"}, "timezone"),
        ({"phone": "79001234567", "operator_code": "9x9"}, "operator_code"),
        ({"phone": "79001234567", "tag": "t" * 65}, "tag"),
    ],
)
async def test_bad_client_gets_422_naming_the_field(
    api: tuple[httpx.AsyncClient, Store], body: dict[str, str], field: str
) -> None:
    http, store = api
    response = await http.post("/clients", json=body)
    assert response.status_code == 422
    error = response.json()
    assert error["error"] == "invalid" and error["field"] == field and error["rule"]
    assert store.count_clients() == 0


async def test_malformed_body_gets_422(api: tuple[httpx.AsyncClient, Store]) -> None:
    http, store = api
    for body in ({}, {"phone": 79001234567, "colour": "red"}):
        response = await http.post("/clients", json=body)
        assert response.status_code == 422
        assert response.json()["detail"]
    assert (await http.patch("/clients/1", json={})).status_code in (404, 422)
    assert store.count_clients() == 0


async def test_duplicate_phone_is_a_conflict(api: tuple[httpx.AsyncClient, Store]) -> None:
    http, store = api
    await _client(http, "79001234567")
    response = await http.post("/clients", json={"phone": "8 (900) 1234567"})
    assert response.status_code == 409
    assert response.json()["field"] == "phone"
    assert store.count_clients() == 1


async def test_unknown_ids_get_404(api: tuple[httpx.AsyncClient, Store]) -> None:
    http, _ = api
    for method, path in (
        ("GET", "/clients/99"),
        ("DELETE", "/clients/99"),
        ("GET", "/mailings/99"),
        ("POST", "/mailings/99/pause"),
        ("GET", "/stats/99"),
    ):
        response = await http.request(method, path)
        assert response.status_code == 404, (method, path)
        assert response.json()["error"] == "not_found"


async def test_csv_import_reports_bad_rows_by_line(api: tuple[httpx.AsyncClient, Store]) -> None:
    http, store = api
    bad = "phone,tag,timezone\n79001234567,a,Europe/Moscow\nnope,b,Europe/Moscow\n"
    response = await http.post("/clients/import", content=bad, headers={"Content-Type": "text/csv"})
    assert response.status_code == 422
    assert response.json()["rows"][0]["line"] == 3
    assert store.count_clients() == 0  # atomic: one bad row and nothing is written

    good = "phone,tag,timezone\n79001234567,a,Europe/Moscow\n79001234568,b,Asia/Omsk\n"
    response = await http.post(
        "/clients/import", content=good, headers={"Content-Type": "text/csv; charset=utf-8"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["imported"] == 2
    wrong_type = await http.post("/clients/import", content=good)
    assert wrong_type.status_code == 422 and wrong_type.json()["field"] == "content-type"


# --- mailings and stats -----------------------------------------------------------


async def test_mailing_crud_and_actions(api: tuple[httpx.AsyncClient, Store]) -> None:
    http, store = api
    body = {
        "start_at": "2030-01-01T09:00:00+03:00",
        "end_at": "2030-01-01T18:00",
        "text": "Hello",
        "tags": ["vip"],
        "window": "09:00-21:00",
    }
    created = (await http.post("/mailings", json=body)).json()
    assert created["start_at"] == "2030-01-01T06:00:00+00:00"
    assert created["end_at"] == "2030-01-01T18:00:00+00:00"  # no offset: UTC
    assert created["state"] == "scheduled" and created["tags"] == ["vip"]
    mid = created["id"]

    listed = (await http.get("/mailings")).json()
    assert [m["id"] for m in listed] == [mid]
    patched = await http.patch(f"/mailings/{mid}", json={"text": "Hi", "window": ""})
    assert patched.json()["text"] == "Hi" and patched.json()["window"] is None

    assert (await http.post(f"/mailings/{mid}/pause")).json()["paused"] is True
    assert (await http.post(f"/mailings/{mid}/resume")).json()["paused"] is False
    assert (await http.post(f"/mailings/{mid}/cancel")).json()["state"] == "cancelled"
    assert store.get_mailing(mid).cancelled

    assert (await http.delete(f"/mailings/{mid}")).json() == {"deleted": mid}
    assert (await http.get("/mailings")).json() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"start_at": "2030-01-02T00:00Z", "end_at": "2030-01-01T00:00Z", "text": "x"}, "end_at"),
        ({"start_at": "tomorrow", "end_at": "2030-01-01T00:00Z", "text": "x"}, "start_at"),
        ({"start_at": "now", "end_at": "+1h", "text": ""}, "text"),
        ({"start_at": "now", "end_at": "+1h", "text": "x" * 2001}, "text"),
        ({"start_at": "now", "end_at": "+1h", "text": "x", "window": "25:00-26:00"}, "window"),
        ({"start_at": "now", "end_at": "+1h", "text": "x", "operator_codes": ["1"]}, "operator"),
    ],
)
async def test_bad_mailing_gets_422_naming_the_field(
    api: tuple[httpx.AsyncClient, Store], body: dict[str, Any], field: str
) -> None:
    http, store = api
    response = await http.post("/mailings", json=body)
    assert response.status_code == 422, response.text
    assert field in response.json()["field"]
    assert store.list_mailings() == []


async def test_stats_have_the_cli_json_shapes(api: tuple[httpx.AsyncClient, Store]) -> None:
    http, store = api
    await _client(http, "79001234567")
    mailing = (
        await http.post("/mailings", json={"start_at": "now", "end_at": "+1h", "text": "Hi"})
    ).json()
    overall = (await http.get("/stats")).json()
    assert overall == store.overall_stats().to_json()
    assert set(overall) == {"mailings", "totals"}
    detail = (await http.get(f"/stats/{mailing['id']}")).json()
    assert detail == store.mailing_stats(mailing["id"]).to_json()
    assert {"mailing", "by_status", "messages"} <= set(detail)
    bad = await http.get(f"/stats/{mailing['id']}", params={"status": "lost"})
    assert bad.status_code == 422 and bad.json()["field"] == "status"


async def test_api_writes_are_audited_as_the_api(api: tuple[httpx.AsyncClient, Store]) -> None:
    http, store = api
    created = await _client(http, "79001234567")
    await http.delete(f"/clients/{created['id']}")
    entries = store.audit_entries()
    assert [(e.surface, e.action) for e in entries][-2:] == [
        ("api", "client.create"),
        ("api", "client.delete"),
    ]
