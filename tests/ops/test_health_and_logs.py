"""Probes, request ids, structured logs and masked unexpected errors."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from api.app import create_app
from api.bootstrap import Container, bootstrap
from api.config import Settings
from tests.fakes.logs import JsonLines

HEX_ID = re.compile(r"^[0-9a-f]{32}$")


# --- probes -------------------------------------------------------------------------------------


async def test_healthz_is_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_ok_with_the_database_up(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "up"}


@pytest.fixture(
    params=[
        "postgresql+asyncpg://postgres@127.0.0.1:1/none",
        "sqlite+aiosqlite:///{tmp}/no/such/directory/gandan.db",
    ],
    ids=["postgresql-refused", "sqlite-missing-directory"],
)
async def app_without_database(request: pytest.FixtureRequest, tmp_path: Path):
    url = request.param.format(tmp=tmp_path)
    settings = Settings(database_url=url, var_dir=tmp_path / "var")
    container: Container = bootstrap(settings)
    try:
        yield create_app(container=container)
    finally:
        await container.aclose()


async def test_readyz_is_503_when_the_database_is_unreachable(
    app_without_database: Starlette, json_logs: JsonLines
) -> None:
    transport = httpx.ASGITransport(app=app_without_database)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.json() == {"status": "unavailable", "database": "down"}
        assert response.headers["x-request-id"]
        # Liveness does not depend on the database: the process itself is fine.
        assert (await client.get("/healthz")).status_code == 200
    warnings = [line for line in json_logs.lines if line["level"] == "warning"]
    assert any("readiness check failed" in line["message"] for line in warnings)


# --- request ids --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("GET", "/healthz", {}, 200),
        ("GET", "/readyz", {}, 200),
        ("POST", "/graphql", {}, 200),
        ("GET", "/no-such-page", {}, 404),
        ("POST", "/graphql", {"Authorization": "Bearer not-a-token"}, 401),
        ("POST", "/graphql", {"Authorization": "Basic dXNlcjpwYXNz"}, 401),
    ],
)
async def test_every_response_carries_a_request_id(
    client: httpx.AsyncClient, method: str, path: str, headers: dict, status: int
) -> None:
    body = {"query": "{ __typename }"} if method == "POST" else None
    response = await client.request(method, path, json=body, headers=headers)
    assert response.status_code == status
    assert HEX_ID.match(response.headers["x-request-id"])


async def test_each_request_gets_its_own_id(client: httpx.AsyncClient) -> None:
    ids = {(await client.get("/healthz")).headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5


@pytest.mark.parametrize(
    "incoming", ["req-7f3c2a", "a" * 64, "0b9e6a1c-2d4f-4b8e-9c3a-5e7f1d2c4b6a"]
)
async def test_a_sane_incoming_request_id_is_echoed(
    client: httpx.AsyncClient, incoming: str
) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": incoming})
    assert response.headers["x-request-id"] == incoming


@pytest.mark.parametrize("incoming", ["a" * 65, "x" * 4000, ""], ids=["65", "4000", "empty"])
async def test_an_absurd_incoming_request_id_is_replaced(
    client: httpx.AsyncClient, incoming: str
) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": incoming})
    assert HEX_ID.match(response.headers["x-request-id"])
    assert response.headers.get_list("x-request-id") == [response.headers["x-request-id"]]


# --- logs ---------------------------------------------------------------------------------------


async def test_graphql_request_is_logged_as_json_with_id_status_and_duration(
    client: httpx.AsyncClient, json_logs: JsonLines
) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"X-Request-ID": "req-logs-1"}
    )
    assert response.status_code == 200
    [line] = json_logs.of("gandan.http")
    assert line["request_id"] == "req-logs-1"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], int | float)
    assert line["duration_ms"] >= 0
    assert line["level"] == "info"
    assert line["message"] == "POST /graphql 200"
    assert line["time"].endswith("+00:00")


async def test_log_lines_outside_a_request_carry_no_request_id(
    client: httpx.AsyncClient, json_logs: JsonLines
) -> None:
    import logging

    await client.get("/healthz", headers={"X-Request-ID": "req-before"})
    logging.getLogger("gandan.test").info("between requests")
    line = json_logs.of("gandan.test")[0]
    assert "request_id" not in line


# --- unexpected errors --------------------------------------------------------------------------

WARD_CREATE = """
mutation { wardCreate(input: {code: "HM-TM", name: "Phường Tân Mai"}) {
  ward { id } userErrors { code message } } }
"""


async def test_unexpected_error_is_masked_and_logged_with_an_incident_id(
    client: httpx.AsyncClient,
    container: Container,
    json_logs: JsonLines,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(*_args, **_kwargs):
        raise RuntimeError("connection string postgres://secret@10.0.0.5 leaked")

    monkeypatch.setattr(container.organisation, "create_ward", broken)
    response = await client.post(
        "/graphql", json={"query": WARD_CREATE}, headers={"X-Request-ID": "req-boom-1"}
    )
    assert response.status_code == 200
    assert "secret" not in response.text
    [error] = response.json()["errors"]
    assert error["message"] == "Unexpected error."
    assert error["path"] == ["wardCreate"]
    assert error["extensions"]["code"] == "INTERNAL"
    incident = error["extensions"]["incident"]
    assert re.fullmatch(r"[0-9a-f]{12}", incident)

    [logged] = [line for line in json_logs.of("gandan.graphql") if incident in line["message"]]
    assert logged["level"] == "error"
    assert logged["request_id"] == "req-boom-1"
    assert "RuntimeError" in logged["exception"]
    assert "secret" in logged["exception"], "the log keeps what the response hides"


async def test_client_errors_are_not_masked(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json={"query": '{ node(id: "not-a-global-id") { id } }'}
    )
    [error] = response.json()["errors"]
    assert error["message"] != "Unexpected error."
    assert error.get("extensions", {}).get("code") != "INTERNAL"
