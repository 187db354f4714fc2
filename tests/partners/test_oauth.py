"""POST /oauth/token (client credentials) and what a partner token opens, over HTTP, on both
engines: the happy paths, every RFC 6749 error, and the wall between partner and member tokens."""

from __future__ import annotations

import base64
import json

import pytest
from strawberry import relay

from adapters.auth.oauth_server import PARTNER_AUDIENCE
from domain.ports import InvalidToken
from tests.api.org import build_world, ward_gid
from tests.partners.support import basic, make_partner, partner_gql, partner_token

TOKEN = "/oauth/token"
VIEWER = "{ partnerViewer { clientId name scopes wards { id code name } } }"


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def assert_no_store(response) -> None:
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    assert response.headers["content-type"].startswith("application/json")


@pytest.fixture
async def world(container):
    return await build_world(container.organisation)


@pytest.fixture
async def partner(container, world):
    return await make_partner(container, world.wards["A"])


# The happy paths


async def test_http_basic_gets_an_hour_long_bearer_token(api, world, partner) -> None:
    client, secret = partner
    response = await api.client.post(
        TOKEN, data={"grant_type": "client_credentials"}, headers=basic(client.client_id, secret)
    )
    assert response.status_code == 200, response.text
    assert_no_store(response)
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "tips:read"
    claims = claims_of(body["access_token"])
    assert claims["sub"] == client.client_id
    assert claims["token_use"] == "partner"
    assert claims["aud"] == PARTNER_AUDIENCE
    assert claims["scope"] == "tips:read"
    assert claims["wards"] == [str(world.wards["A"].id)]
    assert claims["exp"] - claims["iat"] == 3600


async def test_form_credentials_with_a_scope_work_too(api, world, partner) -> None:
    client, secret = partner
    response = await api.client.post(
        TOKEN,
        data={
            "grant_type": "client_credentials",
            "client_id": client.client_id,
            "client_secret": secret,
            "scope": "tips:read",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "tips:read"


async def test_the_token_identifies_the_partner_and_its_units(api, world, partner) -> None:
    client, secret = partner
    token = await partner_token(api.client, client, secret)
    body = await partner_gql(api.client, token, VIEWER)
    assert body.get("errors") is None, body
    viewer = body["data"]["partnerViewer"]
    assert viewer["clientId"] == client.client_id
    assert viewer["scopes"] == ["TIPS_READ"]
    ward = world.wards["A"]
    assert viewer["wards"] == [{"id": ward_gid(ward), "code": ward.code, "name": ward.name}]


# Every error


async def _refused(api, data: dict, headers: dict | None = None, content=None):
    if content is not None:
        response = await api.client.post(TOKEN, content=content, headers=headers or {})
    else:
        response = await api.client.post(TOKEN, data=data, headers=headers or {})
    assert_no_store(response)
    assert "access_token" not in response.json()
    return response


@pytest.mark.parametrize(
    "how",
    ["wrong secret by basic", "wrong secret by form", "unknown client", "no credentials"],
)
async def test_a_client_that_cannot_authenticate_is_invalid_client_401(
    api, world, partner, how: str
) -> None:
    client, secret = partner
    data: dict = {"grant_type": "client_credentials"}
    headers: dict = {}
    if how == "wrong secret by basic":
        headers = basic(client.client_id, secret[:-2] + "xx")
    elif how == "wrong secret by form":
        data |= {"client_id": client.client_id, "client_secret": "gds_guess"}
    elif how == "unknown client":
        headers = basic("gdp_nobody", secret)
    response = await _refused(api, data, headers)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic ")


async def test_a_revoked_client_gets_no_token_and_its_tokens_stop(api, world, partner) -> None:
    client, secret = partner
    token = await partner_token(api.client, client, secret)
    admin = world.actors["admin_d"]
    revoked = await api.gql(
        """mutation ($id: ID!) { partnerClientRevoke(input: {id: $id}) {
             partnerClient { active revokedAt } userErrors { code } } }""",
        {"id": _client_gid(client)},
        as_=admin.id,
    )
    assert revoked["partnerClientRevoke"]["partnerClient"]["active"] is False
    response = await _refused(
        api, {"grant_type": "client_credentials"}, basic(client.client_id, secret)
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    # A token issued before the revocation is refused from then on.
    used = await api.client.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {token}"}
    )
    assert used.status_code == 401
    assert used.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("grant_type", ["password", "authorization_code", "refresh_token", "x"])
async def test_another_grant_is_unsupported_grant_type(
    api, world, partner, grant_type: str
) -> None:
    client, secret = partner
    response = await _refused(api, {"grant_type": grant_type}, basic(client.client_id, secret))
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize("scope", ["tips:write", "tips:read admin", "openid"])
async def test_a_scope_beyond_the_clients_is_invalid_scope(api, world, partner, scope: str) -> None:
    client, secret = partner
    response = await _refused(
        api, {"grant_type": "client_credentials", "scope": scope}, basic(client.client_id, secret)
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


@pytest.mark.parametrize(
    "case",
    [
        "no grant_type",
        "json body",
        "repeated parameter",
        "basic and form together",
        "body too large",
        "not utf-8",
    ],
)
async def test_a_malformed_request_is_invalid_request(api, world, partner, case: str) -> None:
    client, secret = partner
    form = "application/x-www-form-urlencoded"
    if case == "no grant_type":
        response = await _refused(api, {"scope": "tips:read"}, basic(client.client_id, secret))
    elif case == "json body":
        response = await _refused(
            api,
            {},
            {**basic(client.client_id, secret), "Content-Type": "application/json"},
            content=b'{"grant_type": "client_credentials"}',
        )
    elif case == "repeated parameter":
        response = await _refused(
            api,
            {},
            {**basic(client.client_id, secret), "Content-Type": form},
            content=b"grant_type=client_credentials&grant_type=client_credentials",
        )
    elif case == "basic and form together":
        response = await _refused(
            api,
            {"grant_type": "client_credentials", "client_secret": secret},
            basic(client.client_id, secret),
        )
    elif case == "body too large":
        response = await _refused(
            api,
            {},
            {**basic(client.client_id, secret), "Content-Type": form},
            content=b"grant_type=client_credentials&pad=" + b"x" * 10_000,
        )
    else:
        response = await _refused(
            api,
            {},
            {**basic(client.client_id, secret), "Content-Type": form},
            content=b"grant_type=client_credentials&scope=\xff\xfe",
        )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_only_post_is_served(api) -> None:
    response = await api.client.get(TOKEN)
    assert response.status_code == 405


# Partner tokens and member tokens never stand in for each other


async def test_a_partner_token_opens_no_staff_query_or_mutation(api, world, partner) -> None:
    client, secret = partner
    token = await partner_token(api.client, client, secret)
    me = await partner_gql(api.client, token, "{ me { fullName } }")
    assert me == {"data": {"me": None}}
    for query in (
        "{ wards(first: 5) { totalCount } }",
        "{ tips(first: 5) { totalCount } }",
        '{ node(id: "V2FyZDox") { id } }',
    ):
        body = await partner_gql(api.client, token, query)
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", (query, body)
        assert not any((body.get("data") or {}).values()), body
    created = await partner_gql(
        api.client,
        token,
        """mutation ($w: ID!) { partnerClientCreate(input: {name: "x", wardIds: [$w]}) {
             clientSecret userErrors { code } } }""",
        {"w": ward_gid(world.wards["A"])},
    )
    assert created["data"]["partnerClientCreate"] == {
        "clientSecret": None,
        "userErrors": [{"code": "UNAUTHENTICATED"}],
    }


async def test_a_member_token_is_not_a_partner(api, world) -> None:
    body = await api.post(VIEWER, as_=world.actors["admin_d"].id)
    assert body.json()["data"]["partnerViewer"] is None


async def test_a_member_token_claiming_to_be_a_partner_is_refused(api, world, partner) -> None:
    client, _ = partner
    assert api.container.dev_tokens is not None
    forged = api.container.dev_tokens.issue(
        client.client_id, token_use="partner", scope="tips:read", wards=[str(world.wards["A"].id)]
    )
    response = await api.client.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {forged}"}
    )
    assert response.status_code == 401


async def test_a_partner_token_is_not_a_member_token(api, world, partner) -> None:
    client, secret = partner
    token = await partner_token(api.client, client, secret)
    with pytest.raises(InvalidToken):
        await api.container.tokens.verify(token)


async def test_an_expired_partner_token_is_refused(api, container, world, partner) -> None:
    client, secret = partner
    token = await partner_token(api.client, client, secret)
    container.clock.advance(hours=1, minutes=1)
    response = await api.client.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401


async def test_a_tampered_partner_token_is_refused(api, world, partner) -> None:
    client, secret = partner
    token = await partner_token(api.client, client, secret)
    head, _payload, signature = token.split(".")
    claims = claims_of(token) | {"wards": [str(world.wards["B"].id)]}
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    response = await api.client.post(
        "/graphql",
        json={"query": VIEWER},
        headers={"Authorization": f"Bearer {head}.{forged_payload}.{signature}"},
    )
    assert response.status_code == 401


def _client_gid(client) -> str:
    return str(relay.GlobalID("PartnerClient", str(client.id)))
