"""Managing partner clients: admins register them for their units (the secret shown once, only
its hash kept), see and revoke them; `gandan partner-client create` does it without GraphQL.
Both engines."""

from __future__ import annotations

import asyncio
import re

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from adapters.persistence.partner_tables import PartnerClientRow
from api.cli import main
from domain.access import Role
from tests.api.org import build_world, make_member, ward_gid
from tests.partners.support import basic, partner_gql

CREATE = """mutation ($name: String!, $wards: [ID!]!, $scopes: [PartnerScope!]) {
  partnerClientCreate(input: {name: $name, wardIds: $wards, scopes: $scopes}) {
    partnerClient { id clientId name scopes active wards { code } }
    clientSecret
    userErrors { field code message messageEn }
  }
}"""
LIST = """{ partnerClients(first: 20) {
  totalCount nodes { clientId name active wards { code } webhooks { id } } } }"""
REVOKE = """mutation ($id: ID!) { partnerClientRevoke(input: {id: $id}) {
  partnerClient { active } userErrors { code } } }"""


@pytest.fixture
async def world(container):
    return await build_world(container.organisation)


async def test_an_admin_registers_a_partner_and_sees_its_secret_once(api, container, world):
    admin = world.actors["admin_d"].id
    made = await api.gql(
        CREATE,
        {"name": "Cổng tin Hà Nội", "wards": [ward_gid(world.wards["A"])]},
        as_=admin,
    )
    payload = made["partnerClientCreate"]
    assert payload["userErrors"] == []
    client, secret = payload["partnerClient"], payload["clientSecret"]
    assert client["scopes"] == ["TIPS_READ"] and client["active"] is True
    assert client["wards"] == [{"code": "A"}]
    assert secret.startswith("gds_")
    async with container.engine.connect() as conn:
        stored = (
            await conn.execute(
                sa.select(PartnerClientRow.__table__).where(
                    PartnerClientRow.__table__.c.client_id == client["clientId"]
                )
            )
        ).one()
    assert secret not in stored.secret_hash and stored.secret_hash.startswith("scrypt$")
    # Nothing reads it back: the type has no secret, the list shows none.
    listed = await api.gql(LIST, as_=admin)
    assert "gds_" not in str(listed)
    token = await api.client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers=basic(client["clientId"], secret),
    )
    assert token.status_code == 200


async def test_only_an_admin_of_every_unit_may_register(api, container, world):
    a, b = world.wards["A"], world.wards["B"]
    admin_of_a = await make_member(container.organisation, a, "Lý Thị Quản", roles=(Role.ADMIN,))

    async def errors(as_, wards, **extra):
        variables = {"name": "Đối tác", "wards": [ward_gid(w) for w in wards], **extra}
        made = await api.gql(CREATE, variables, as_=as_)
        assert made["partnerClientCreate"]["clientSecret"] is None
        return [(e["code"], e["field"]) for e in made["partnerClientCreate"]["userErrors"]]

    assert await errors(world.actors["commander_a"].id, [a]) == [("FORBIDDEN", ["wardIds", "0"])]
    assert await errors(world.actors["officer_b"].id, [a]) == [("NOT_FOUND", ["wardIds", "0"])]
    assert await errors(admin_of_a.id, [a, b]) == [("NOT_FOUND", ["wardIds", "1"])]
    assert await errors(admin_of_a.id, []) == [("REQUIRED", ["wardIds"])]
    assert await errors(admin_of_a.id, [a], scopes=[]) == [("REQUIRED", ["scopes"])]
    blank = await api.gql(
        CREATE, {"name": " ", "wards": [ward_gid(a)]}, as_=world.actors["admin_d"].id
    )
    assert [e["field"] for e in blank["partnerClientCreate"]["userErrors"]] == [["name"]]
    anonymous = await api.gql(CREATE, {"name": "x", "wards": [ward_gid(a)]})
    assert anonymous["partnerClientCreate"]["userErrors"][0]["code"] == "UNAUTHENTICATED"


async def test_admins_see_and_revoke_the_partners_of_their_units(api, container, world):
    a, b = world.wards["A"], world.wards["B"]
    admin_of_a = await make_member(container.organisation, a, "Lý Thị Quản", roles=(Role.ADMIN,))
    made = await api.gql(
        CREATE,
        {"name": "Hai phường", "wards": [ward_gid(a), ward_gid(b)]},
        as_=world.actors["admin_d"].id,
    )
    client = made["partnerClientCreate"]["partnerClient"]
    by_district = (await api.gql(LIST, as_=world.actors["admin_d"].id))["partnerClients"]
    assert by_district["totalCount"] == 1
    assert by_district["nodes"][0]["wards"] == [{"code": "A"}, {"code": "B"}]
    # An admin of A sees the client, and of its units only A.
    by_a = (await api.gql(LIST, as_=admin_of_a.id))["partnerClients"]
    assert by_a["nodes"][0]["wards"] == [{"code": "A"}]
    # Not admins see nothing, and cannot revoke.
    for role in ("commander_a", "officer_b"):
        listed = await api.gql(LIST, as_=world.actors[role].id)
        assert listed["partnerClients"]["totalCount"] == 0
        refused = await api.gql(REVOKE, {"id": client["id"]}, as_=world.actors[role].id)
        assert refused["partnerClientRevoke"]["userErrors"] == [{"code": "NOT_FOUND"}]
    node = await api.gql(
        "query ($id: ID!) { node(id: $id) { ... on PartnerClient { clientId } } }",
        {"id": client["id"]},
        as_=world.actors["commander_a"].id,
    )
    assert node["node"] is None
    revoked = await api.gql(REVOKE, {"id": client["id"]}, as_=admin_of_a.id)
    assert revoked["partnerClientRevoke"] == {"partnerClient": {"active": False}, "userErrors": []}
    again = await api.gql(REVOKE, {"id": client["id"]}, as_=admin_of_a.id)
    assert again["partnerClientRevoke"]["userErrors"] == [{"code": "INVALID_TRANSITION"}]


async def test_the_command_line_registers_a_partner(api, container, settings, world) -> None:
    env = {
        "GANDAN_DATABASE_URL": settings.database_url,
        "GANDAN_VAR_DIR": str(settings.var_dir),
        "GANDAN_LOG_JSON": "false",
    }
    args = ["partner-client", "create", "--name", "Báo CAND", "--wards", "A,B"]
    result = await asyncio.to_thread(
        CliRunner().invoke, main, [*args, "--scopes", "tips:read"], env=env
    )
    assert result.exit_code == 0, result.output
    client_id = re.search(r"client_id:\s+(gdp_\S+)", result.output).group(1)
    secret = re.search(r"client_secret:\s+(gds_\S+)", result.output).group(1)
    token = await api.client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers=basic(client_id, secret)
    )
    assert token.status_code == 200, token.text
    viewer = await partner_gql(
        api.client, token.json()["access_token"], "{ partnerViewer { wards { code } } }"
    )
    assert viewer["data"]["partnerViewer"]["wards"] == [{"code": "A"}, {"code": "B"}]
    unknown = await asyncio.to_thread(
        CliRunner().invoke,
        main,
        ["partner-client", "create", "--name", "x", "--wards", "ZZ"],
        env=env,
    )
    assert unknown.exit_code != 0 and "no unit with code 'ZZ'" in unknown.output
    bad_scope = await asyncio.to_thread(
        CliRunner().invoke, main, [*args, "--scopes", "tips:write"], env=env
    )
    assert bad_scope.exit_code != 0 and "Unknown scope" in bad_scope.output
    revoked = await asyncio.to_thread(
        CliRunner().invoke, main, ["partner-client", "revoke", client_id], env=env
    )
    assert revoked.exit_code == 0, revoked.output
    refused = await api.client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers=basic(client_id, secret)
    )
    assert refused.status_code == 401
