"""The security matrix over HTTP: every role × operation × own ward (A) or another ward (B).

District D holds wards A and B. The acting members are a resident, an officer and a commander of A,
an admin of D (and so of every unit below it) and an officer of B, plus anonymous callers.
Another ward's object answers exactly as if it did not exist; a too-low role in one's own ward is
FORBIDDEN; anonymous queries are UNAUTHENTICATED errors, anonymous mutations UNAUTHENTICATED
userErrors. One refinement: residents cannot see other members at all, so a resident changing a
member of its own ward gets NOT_FOUND (as node answers null), not FORBIDDEN.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from strawberry import relay

from adapters.auth.tokens import DevTokens
from domain.access import Role
from domain.channels import ChannelKind
from domain.group import Group
from domain.member import Member
from domain.phone import normalise_phone
from domain.services.organisation import MemberCreate
from tests.api.org import (
    LEVELS,
    ROLES,
    SYSTEM,
    World,
    build_world,
    gid,
    group_gid,
    load_group,
    load_member,
    load_ward,
    make_group,
    make_member,
    make_ward,
    member_gid,
    roles_of,
    unique,
    unique_phone,
    ward_by_code,
    ward_gid,
)

WARDS = "query { wards(first: 50) { totalCount nodes { code } } }"
WARD_BY_ID = "query ($id: ID!) { ward(id: $id) { id code } }"
WARD_BY_CODE = "query ($code: String!) { ward(code: $code) { id code } }"
GROUPS = "query { groups(first: 50) { totalCount nodes { id name ward { code } } } }"
MEMBERS = "query { members(first: 50) { totalCount nodes { fullName ward { code } } } }"
NODE = """
query ($id: ID!) {
  node(id: $id) {
    __typename
    id
    ... on Ward { code }
    ... on Group { name }
    ... on Member { fullName }
  }
}
"""
NODES = "query ($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"
ME = "query { me { id fullName ward { code } roles { role ward { code } } } }"

USER_ERRORS = "userErrors { field code message messageEn }"
WARD_CREATE = f"""
mutation ($input: WardCreateInput!) {{
  wardCreate(input: $input) {{ ward {{ id code name parent {{ code }} }} {USER_ERRORS} }}
}}
"""
WARD_UPDATE = f"""
mutation ($input: WardUpdateInput!) {{
  wardUpdate(input: $input) {{ ward {{ id name }} {USER_ERRORS} }}
}}
"""
GROUP_CREATE = f"""
mutation ($input: GroupCreateInput!) {{
  groupCreate(input: $input) {{ group {{ id externalId ward {{ code }} }} {USER_ERRORS} }}
}}
"""
GROUP_UPDATE = f"""
mutation ($input: GroupUpdateInput!) {{
  groupUpdate(input: $input) {{ group {{ id name }} {USER_ERRORS} }}
}}
"""
GROUP_ARCHIVE = f"""
mutation ($input: GroupArchiveInput!) {{
  groupArchive(input: $input) {{ group {{ id archived }} {USER_ERRORS} }}
}}
"""
MEMBER_CREATE = f"""
mutation ($input: MemberCreateInput!) {{
  memberCreate(input: $input) {{ member {{ id phone ward {{ code }} }} {USER_ERRORS} }}
}}
"""
MEMBER_UPDATE = f"""
mutation ($input: MemberUpdateInput!) {{
  memberUpdate(input: $input) {{ member {{ id fullName }} {USER_ERRORS} }}
}}
"""
MEMBER_REMOVE = f"""
mutation ($input: MemberRemoveInput!) {{
  memberRemove(input: $input) {{ member {{ id }} {USER_ERRORS} }}
}}
"""
ROLE_ASSIGN = f"""
mutation ($input: RoleChangeInput!) {{
  roleAssign(input: $input) {{ member {{ id roles {{ role ward {{ code }} }} }} {USER_ERRORS} }}
}}
"""
ROLE_REVOKE = f"""
mutation ($input: RoleChangeInput!) {{
  roleRevoke(input: $input) {{ member {{ id roles {{ role ward {{ code }} }} }} {USER_ERRORS} }}
}}
"""


def sees(role: str, letter: str, at_least: Role = Role.RESIDENT) -> bool:
    held = LEVELS[role].get(letter)
    return held is not None and held.rank >= at_least.rank


@pytest.fixture(scope="class")
async def world(shared_api) -> World:
    return await build_world(shared_api.container.organisation)


# Queries. One arranged world per class; nothing here changes it.


class TestQueries:
    @pytest.mark.parametrize("role", ROLES)
    async def test_wards_lists_only_units_with_a_role(self, shared_api, world, role):
        # given a caller with roles in some units
        # when it lists wards
        response = await shared_api.post(WARDS, as_=world.actor_id(role))

        # then it sees exactly those units; anonymous callers must sign in
        body = response.json()
        if role == "anonymous":
            assert_unauthenticated(body, "wards")
            return
        expected = {world.wards[letter].code for letter in LEVELS[role]}
        assert {n["code"] for n in body["data"]["wards"]["nodes"]} == expected
        assert body["data"]["wards"]["totalCount"] == len(expected)

    @pytest.mark.parametrize("letter", ["A", "B", "D"])
    @pytest.mark.parametrize("role", ROLES)
    async def test_ward_by_id_and_by_code(self, shared_api, world, role, letter):
        # given a unit the caller may or may not reach
        ward = world.wards[letter]

        # when it asks for it by id and by code
        by_id = (
            await shared_api.post(WARD_BY_ID, {"id": ward_gid(ward)}, as_=world.actor_id(role))
        ).json()
        by_code = (
            await shared_api.post(WARD_BY_CODE, {"code": ward.code}, as_=world.actor_id(role))
        ).json()

        # then it gets the unit, or null as for a code that does not exist
        if role == "anonymous":
            assert_unauthenticated(by_id, "ward")
            assert_unauthenticated(by_code, "ward")
            return
        expected = {"id": ward_gid(ward), "code": ward.code} if sees(role, letter) else None
        assert by_id == {"data": {"ward": expected}}
        assert by_code == {"data": {"ward": expected}}

    @pytest.mark.parametrize("role", [r for r in ROLES if r != "anonymous"])
    async def test_ward_by_unknown_code_or_id_is_null(self, shared_api, world, role):
        # when a caller asks for units that do not exist
        by_code = await shared_api.gql(WARD_BY_CODE, {"code": "KHONG-CO"}, as_=world.actor_id(role))
        by_id = await shared_api.gql(
            WARD_BY_ID, {"id": gid("Ward", uuid.uuid4())}, as_=world.actor_id(role)
        )

        # then both are null, just like another ward's unit
        assert by_code == {"ward": None}
        assert by_id == {"ward": None}

    @pytest.mark.parametrize("role", ROLES)
    async def test_groups_lists_only_own_wards_groups(self, shared_api, world, role):
        # when a caller lists groups
        body = (await shared_api.post(GROUPS, as_=world.actor_id(role))).json()

        # then it sees the groups of the wards it holds any role in
        if role == "anonymous":
            assert_unauthenticated(body, "groups")
            return
        expected = {
            (world.groups[letter].name, world.wards[letter].code)
            for letter in "AB"
            if sees(role, letter)
        }
        nodes = body["data"]["groups"]["nodes"]
        assert {(n["name"], n["ward"]["code"]) for n in nodes} == expected
        assert body["data"]["groups"]["totalCount"] == len(expected)

    @pytest.mark.parametrize("role", ROLES)
    async def test_members_lists_members_of_wards_where_officer(self, shared_api, world, role):
        # when a caller lists members
        body = (await shared_api.post(MEMBERS, as_=world.actor_id(role))).json()

        # then officers and above see their wards' members; residents see an empty list
        if role == "anonymous":
            assert_unauthenticated(body, "members")
            return
        letters = [letter for letter in "DAB" if sees(role, letter, Role.OFFICER)]
        expected = world.members_of(*letters)
        names = [n["fullName"] for n in body["data"]["members"]["nodes"]]
        assert sorted(names) == sorted(expected)
        assert body["data"]["members"]["totalCount"] == len(expected)
        if role == "resident_a":
            assert names == []

    @pytest.mark.parametrize("letter", ["A", "B"])
    @pytest.mark.parametrize("kind", ["Ward", "Group", "Member"])
    @pytest.mark.parametrize("role", ROLES)
    async def test_node(self, shared_api, world, role, kind, letter):
        # given a ward, a group or a (resident) member of ward A or B
        obj, expected_field = {
            "Ward": (world.wards[letter], {"code": world.wards[letter].code}),
            "Group": (world.groups[letter], {"name": world.groups[letter].name}),
            "Member": (world.targets[letter], {"fullName": world.targets[letter].full_name}),
        }[kind]
        node_id = gid(kind, obj.id)

        # when the caller asks for it by global id
        body = (await shared_api.post(NODE, {"id": node_id}, as_=world.actor_id(role))).json()

        # then it gets it only when it may see it: members need an officer of their ward
        if role == "anonymous":
            assert_unauthenticated(body, "node")
            return
        visible = sees(role, letter, Role.OFFICER if kind == "Member" else Role.RESIDENT)
        expected = {"__typename": kind, "id": node_id, **expected_field} if visible else None
        assert body == {"data": {"node": expected}}

    @pytest.mark.parametrize("role", ROLES)
    async def test_nodes(self, shared_api, world, role):
        # given a mix of objects of both wards and one that never existed
        objects = [
            ("Ward", world.wards["A"].id, sees(role, "A")),
            ("Group", world.groups["A"].id, sees(role, "A")),
            ("Member", world.targets["A"].id, sees(role, "A", Role.OFFICER)),
            ("Ward", world.wards["B"].id, sees(role, "B")),
            ("Group", world.groups["B"].id, sees(role, "B")),
            ("Member", world.targets["B"].id, sees(role, "B", Role.OFFICER)),
            ("Group", uuid.uuid4(), False),
        ]
        ids = [gid(kind, id_) for kind, id_, _ in objects]

        # when the caller asks for all of them at once
        body = (await shared_api.post(NODES, {"ids": ids}, as_=world.actor_id(role))).json()

        # then each is returned in order, or null when not visible
        if role == "anonymous":
            assert_unauthenticated(body, "nodes")
            return
        expected = [
            {"__typename": kind, "id": node_id} if visible else None
            for (kind, _, visible), node_id in zip(objects, ids, strict=True)
        ]
        assert body == {"data": {"nodes": expected}}

    @pytest.mark.parametrize("role", ROLES)
    async def test_me(self, shared_api, world, role):
        # when a caller asks who it is
        data = await shared_api.gql(ME, as_=world.actor_id(role))

        # then it gets itself with its roles, or null without a token
        if role == "anonymous":
            assert data == {"me": None}
            return
        member = world.actors[role]
        home = next(code for code, w in world.wards.items() if w.id == member.ward_id)
        assert data["me"]["id"] == member_gid(member)
        assert data["me"]["fullName"] == member.full_name
        assert data["me"]["ward"] == {"code": home}
        assert {(r["role"], r["ward"]["code"]) for r in data["me"]["roles"]} == {
            ("RESIDENT", home),  # every member is a resident of its ward
            (LEVELS[role][home].name, home),
        }

    async def test_resident_sees_itself_but_no_other_member(self, shared_api, world):
        # given a resident of A and another resident of A in the same group
        resident = world.actors["resident_a"]
        neighbour = world.targets["A"]

        # when the resident asks for itself, its neighbour and the members list
        me = await shared_api.gql(ME, as_=resident.id)
        itself = await shared_api.gql(NODE, {"id": member_gid(resident)}, as_=resident.id)
        other = await shared_api.gql(NODE, {"id": member_gid(neighbour)}, as_=resident.id)
        members = await shared_api.gql(MEMBERS, as_=resident.id)

        # then it sees itself via me and node, and nobody else
        assert me["me"]["fullName"] == "Nguyễn Thị Dân"
        assert itself == {
            "node": {
                "__typename": "Member",
                "id": member_gid(resident),
                "fullName": "Nguyễn Thị Dân",
            }
        }
        assert other == {"node": None}
        assert members == {"members": {"totalCount": 0, "nodes": []}}

    async def test_done_when_commander_lists_own_groups_and_not_another_wards(
        self, shared_api, world
    ):
        # given the commander of ward A
        commander = world.actors["commander_a"]
        token = shared_api.token_for(commander.id)

        # when it lists groups and asks for ward B's group by global id, with its bearer token
        listed = await shared_api.client.post(
            "/graphql",
            json={"query": GROUPS},
            headers={"Authorization": f"Bearer {token}"},
        )
        foreign = await shared_api.client.post(
            "/graphql",
            json={"query": NODE, "variables": {"id": group_gid(world.groups["B"])}},
            headers={"Authorization": f"Bearer {token}"},
        )

        # then it sees A's group only, and B's group is null as if it did not exist
        assert listed.status_code == 200
        assert listed.json()["data"]["groups"] == {
            "totalCount": 1,
            "nodes": [
                {
                    "id": group_gid(world.groups["A"]),
                    "name": "Tổ dân phố 1 Tân Mai",
                    "ward": {"code": "A"},
                }
            ],
        }
        assert foreign.status_code == 200
        assert foreign.json() == {"data": {"node": None}}


def assert_unauthenticated(body: dict, field: str) -> None:
    """An anonymous query: a GraphQL error, no data."""
    assert body.get("data") in (None, {field: None}), body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert error["message"] == "You need to sign in."
    assert error["extensions"]["messageVi"] == "Bạn cần đăng nhập."


# Mutations. Each test arranges its own target in the class's world, so none depends on another.


@dataclass(frozen=True)
class Op:
    """One mutation: the role it needs, how to arrange a target and whether the change happened."""

    name: str
    document: str
    needed: Role
    arrange: Callable[[Any, World, str], Awaitable[dict]]
    variables: Callable[[World, str, dict], dict]
    stored: Callable[[Any, World, str, dict], Awaitable[bool]]
    not_found_field: tuple[str, ...]
    forbidden_field: tuple[str, ...] = ()
    visible: Role = Role.RESIDENT  # below this, the target itself is hidden
    hidden_field: tuple[str, ...] = ()

    def expected(self, role: str, letter: str) -> tuple[str | None, list[str]]:
        """The userError (code, field) a role gets in ward `letter`; (None, []) when allowed."""
        if role == "anonymous":
            return "UNAUTHENTICATED", []
        if not sees(role, letter):
            return "NOT_FOUND", list(self.not_found_field)
        if not sees(role, letter, self.visible):
            return "NOT_FOUND", list(self.hidden_field or self.not_found_field)
        if not sees(role, letter, self.needed):
            return "FORBIDDEN", list(self.forbidden_field)
        return None, []

    def __str__(self) -> str:
        return self.name


async def _nothing(_api: Any, _world: World, _letter: str) -> dict:
    return {}


async def _fresh_code(_api: Any, _world: World, _letter: str) -> dict:
    return {"code": unique("KP"), "name": unique("Tên mới ")}


async def _group(api: Any, world: World, letter: str) -> dict:
    group = await make_group(api.container.organisation, world.wards[letter], unique("Tổ "))
    return {"group": group, "name": unique("Tổ đổi tên ")}


async def _phone(_api: Any, _world: World, _letter: str) -> dict:
    return {"phone": unique_phone()}


def _member_with(*roles: Role) -> Callable[[Any, World, str], Awaitable[dict]]:
    async def arrange(api: Any, world: World, letter: str) -> dict:
        svc = api.container.organisation
        member = await make_member(svc, world.wards[letter], unique("Người "), roles=roles)
        return {"member": member, "name": unique("Tên đổi ")}

    return arrange


def _role_change(role: Role) -> Callable[[World, str, dict], dict]:
    def variables(world: World, letter: str, t: dict) -> dict:
        return {
            "input": {
                "memberId": member_gid(t["member"]),
                "wardId": ward_gid(world.wards[letter]),
                "role": role.name,
            }
        }

    return variables


def _holds(role: Role, *, assigned: bool) -> Callable[[Any, World, str, dict], Awaitable[bool]]:
    async def stored(api: Any, world: World, letter: str, t: dict) -> bool:
        holds = (world.wards[letter].id, role) in await roles_of(api.container, t["member"].id)
        return holds if assigned else not holds

    return stored


async def _ward_created(api: Any, _w: World, _l: str, t: dict) -> bool:
    return await ward_by_code(api.container, t["code"]) is not None


async def _ward_renamed(api: Any, world: World, letter: str, t: dict) -> bool:
    ward = await load_ward(api.container, world.wards[letter].id)
    return ward is not None and ward.name == t["name"]


async def _group_created(api: Any, _w: World, _l: str, t: dict) -> bool:
    async with api.container.uow() as uow:
        return await uow.groups.by_external_id(ChannelKind.ZALO_GROUP, t["phone"]) is not None


async def _group_renamed(api: Any, _w: World, _l: str, t: dict) -> bool:
    group: Group | None = await load_group(api.container, t["group"].id)
    return group is not None and group.name == t["name"]


async def _group_archived(api: Any, _w: World, _l: str, t: dict) -> bool:
    group = await load_group(api.container, t["group"].id)
    return group is not None and group.archived


async def _member_created(api: Any, world: World, letter: str, t: dict) -> bool:
    async with api.container.uow() as uow:
        found = await uow.members.by_phone(world.wards[letter].id, normalise_phone(t["phone"]))
    return found is not None


async def _member_renamed(api: Any, _w: World, _l: str, t: dict) -> bool:
    member: Member | None = await load_member(api.container, t["member"].id)
    return member is not None and member.full_name == t["name"]


async def _member_removed(api: Any, _w: World, _l: str, t: dict) -> bool:
    member = await load_member(api.container, t["member"].id)
    return member is not None and member.removed


OPS = [
    Op(
        "wardCreate",
        WARD_CREATE,
        Role.ADMIN,
        _fresh_code,
        lambda w, x, t: {
            "input": {"code": t["code"], "name": t["name"], "parentId": ward_gid(w.wards[x])}
        },
        _ward_created,
        not_found_field=("parentId",),
        forbidden_field=("parentId",),
    ),
    Op(
        "wardUpdate",
        WARD_UPDATE,
        Role.ADMIN,
        _fresh_code,
        lambda w, x, t: {"input": {"id": ward_gid(w.wards[x]), "name": t["name"]}},
        _ward_renamed,
        not_found_field=("id",),
    ),
    Op(
        "groupCreate",
        GROUP_CREATE,
        Role.OFFICER,
        _phone,  # any unique digits make a valid channel id
        lambda w, x, t: {
            "input": {
                "wardId": ward_gid(w.wards[x]),
                "channel": "ZALO_GROUP",
                "externalId": t["phone"],
                "name": "Tổ dân phố mới",
            }
        },
        _group_created,
        not_found_field=("wardId",),
        forbidden_field=("wardId",),
    ),
    Op(
        "groupUpdate",
        GROUP_UPDATE,
        Role.OFFICER,
        _group,
        lambda w, x, t: {"input": {"id": group_gid(t["group"]), "name": t["name"]}},
        _group_renamed,
        not_found_field=("id",),
    ),
    Op(
        "groupArchive",
        GROUP_ARCHIVE,
        Role.COMMANDER,
        _group,
        lambda w, x, t: {"input": {"id": group_gid(t["group"])}},
        _group_archived,
        not_found_field=("id",),
    ),
    Op(
        "memberCreate",
        MEMBER_CREATE,
        Role.OFFICER,
        _phone,
        lambda w, x, t: {
            "input": {
                "wardId": ward_gid(w.wards[x]),
                "fullName": "Mai Văn Mới",
                "phone": t["phone"],
            }
        },
        _member_created,
        not_found_field=("wardId",),
        forbidden_field=("wardId",),
    ),
    Op(
        "memberUpdate",
        MEMBER_UPDATE,
        Role.OFFICER,
        _member_with(),
        lambda w, x, t: {"input": {"id": member_gid(t["member"]), "fullName": t["name"]}},
        _member_renamed,
        not_found_field=("id",),
        visible=Role.OFFICER,
    ),
    Op(
        "memberRemove",
        MEMBER_REMOVE,
        Role.OFFICER,
        _member_with(),
        lambda w, x, t: {"input": {"id": member_gid(t["member"])}},
        _member_removed,
        not_found_field=("id",),
        visible=Role.OFFICER,
    ),
    *(
        Op(
            f"roleAssign-{role.name}",
            ROLE_ASSIGN,
            needed,
            _member_with(),
            _role_change(role),
            _holds(role, assigned=True),
            not_found_field=("wardId",),
            forbidden_field=("role",),
            visible=Role.OFFICER,
            hidden_field=("memberId",),
        )
        for role, needed in [
            (Role.OFFICER, Role.COMMANDER),
            (Role.COMMANDER, Role.ADMIN),
            (Role.ADMIN, Role.ADMIN),
        ]
    ),
    *(
        Op(
            f"roleRevoke-{role.name}",
            ROLE_REVOKE,
            needed,
            _member_with(*([role] if role is not Role.RESIDENT else [])),
            _role_change(role),
            _holds(role, assigned=False),
            not_found_field=("wardId",),
            forbidden_field=("role",),
            visible=Role.OFFICER,
            hidden_field=("memberId",),
        )
        for role, needed in [
            (Role.RESIDENT, Role.COMMANDER),
            (Role.OFFICER, Role.COMMANDER),
            (Role.COMMANDER, Role.ADMIN),
        ]
    ),
]


class TestMutations:
    @pytest.mark.parametrize("letter", ["A", "B"])
    @pytest.mark.parametrize("role", ROLES)
    @pytest.mark.parametrize("op", OPS, ids=str)
    async def test_mutation_matrix(self, shared_api, world, op, role, letter):
        # given a target of the operation in ward A or B
        target = await op.arrange(shared_api, world, letter)

        # when the role attempts the operation
        data = await shared_api.gql(
            op.document, op.variables(world, letter, target), as_=world.actor_id(role)
        )
        (payload,) = data.values()

        # then it is done, or refused with exactly the expected userError and nothing stored
        code, field = op.expected(role, letter)
        stored = await op.stored(shared_api, world, letter, target)
        if code is None:
            assert payload["userErrors"] == []
            assert next(v for k, v in payload.items() if k != "userErrors") is not None
            assert stored is True
        else:
            assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [(code, field)]
            assert all(e["message"] and e["messageEn"] for e in payload["userErrors"])
            assert next(v for k, v in payload.items() if k != "userErrors") is None
            assert stored is False

    @pytest.mark.parametrize(
        "op", [op for op in OPS if op.not_found_field != ("parentId",)], ids=str
    )
    async def test_another_wards_object_answers_like_a_missing_one(self, shared_api, world, op):
        # given a target in ward B, and the same request naming objects that never existed
        target = await op.arrange(shared_api, world, "B")
        foreign = op.variables(world, "B", target)
        missing = {"input": {k: _missing_like(k, v) for k, v in foreign["input"].items()}}

        # when the officer of ward A sends both
        as_ = world.actors["officer_a"].id
        (foreign_payload,) = (await shared_api.gql(op.document, foreign, as_=as_)).values()
        (missing_payload,) = (await shared_api.gql(op.document, missing, as_=as_)).values()

        # then the two answers cannot be told apart
        assert foreign_payload["userErrors"][0]["code"] == "NOT_FOUND"
        assert foreign_payload == missing_payload

    @pytest.mark.parametrize("role", ROLES)
    async def test_ward_create_under_the_district(self, shared_api, world, role):
        # given a new unit to create directly under district D
        code = unique("P")
        variables = {
            "input": {"code": code, "name": "Phường Mới", "parentId": ward_gid(world.wards["D"])}
        }

        # when the role tries
        data = await shared_api.gql(WARD_CREATE, variables, as_=world.actor_id(role))

        # then only the admin of D may; nobody else even sees D
        payload = data["wardCreate"]
        if role == "admin_d":
            assert payload["userErrors"] == []
            assert payload["ward"]["code"] == code
            assert payload["ward"]["parent"] == {"code": "D"}
            assert await ward_by_code(shared_api.container, code) is not None
            return
        code_expected = "UNAUTHENTICATED" if role == "anonymous" else "NOT_FOUND"
        assert [e["code"] for e in payload["userErrors"]] == [code_expected]
        assert payload["ward"] is None
        assert await ward_by_code(shared_api.container, code) is None

    async def test_admin_of_the_district_sees_a_ward_created_after_its_token(
        self, shared_api, world
    ):
        # given the admin's token, minted before a new ward appears under D
        admin = world.actors["admin_d"]
        token = shared_api.token_for(admin.id)
        created = await shared_api.gql(
            WARD_CREATE,
            {
                "input": {
                    "code": unique("P"),
                    "name": "Phường Mới",
                    "parentId": ward_gid(world.wards["D"]),
                }
            },
            as_=admin.id,
        )
        new_id = created["wardCreate"]["ward"]["id"]

        # when the admin creates a group in the new ward with that token
        response = await shared_api.client.post(
            "/graphql",
            json={
                "query": GROUP_CREATE,
                "variables": {
                    "input": {
                        "wardId": new_id,
                        "channel": "PORTAL",
                        "externalId": unique("portal-"),
                        "name": "Cổng thông tin",
                    }
                },
            },
            headers={"Authorization": f"Bearer {token}"},
        )

        # then the roles are read per request: the new ward is within the admin's reach
        payload = response.json()["data"]["groupCreate"]
        assert payload["userErrors"] == []
        assert payload["group"]["ward"]["code"] == created["wardCreate"]["ward"]["code"]


def _missing_like(key: str, value: Any) -> Any:
    """For an id field, a global id of the same type that points at nothing."""
    if key in ("id", "wardId", "memberId"):
        return gid(relay.GlobalID.from_id(value).type_name, uuid.uuid4())
    return value


# Bearer tokens: anything but a valid token for an existing member is a 401 before GraphQL runs.


@pytest.fixture
async def member(api) -> Member:
    svc = api.container.organisation
    ward = await make_ward(svc, "Phường Tân Mai")
    return await svc.create_member(
        SYSTEM, MemberCreate(ward_id=ward.id, full_name="Trần Văn Bảo", phone=unique_phone())
    )


def assert_refused(response: Any) -> None:
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert body["errors"][0]["extensions"]["messageVi"]


async def test_valid_token_is_accepted(api, member):
    # when a member sends its own valid token
    response = await api.client.post(
        "/graphql",
        json={"query": ME},
        headers={"Authorization": f"Bearer {api.token_for(member.id)}"},
    )

    # then it is known
    assert response.status_code == 200
    assert response.json()["data"]["me"]["fullName"] == "Trần Văn Bảo"


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer not-a-jwt",
        "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
        "Bearer ",
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Token abc",
    ],
    ids=["garbage", "alg-none", "empty-bearer", "bare-bearer", "basic", "other-scheme"],
)
async def test_malformed_authorization_is_401(api, member, authorization):
    # when the Authorization header is not a usable bearer token
    response = await api.client.post(
        "/graphql", json={"query": ME}, headers={"Authorization": authorization}
    )

    # then the request is refused before GraphQL runs
    assert_refused(response)


async def test_expired_token_is_401(api, member, clock):
    # given a token issued 13 hours ago (they live 12)
    token = api.token_for(member.id)
    clock.advance(hours=13)

    # when it is used
    response = await api.client.post(
        "/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {token}"}
    )

    # then it is refused
    assert_refused(response)


@pytest.mark.parametrize(
    "change",
    [
        {"key": "other"},
        {"audience": "someone-else"},
        {"issuer": "someone-else"},
    ],
    ids=["other-key", "other-audience", "other-issuer"],
)
async def test_forged_token_is_401(api, member, clock, tmp_path, change):
    # given a token signed with another key, or for another audience or issuer
    settings = api.container.settings
    key_file = tmp_path / "other.key" if "key" in change else settings.dev_key_file
    forger = DevTokens(
        key_file,
        issuer=change.get("issuer", settings.jwt_issuer),
        audience=change.get("audience", settings.jwt_audience),
        clock=clock,
    )
    token = forger.issue(str(member.id))

    # when it is used
    response = await api.client.post(
        "/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {token}"}
    )

    # then it is refused
    assert_refused(response)


@pytest.mark.parametrize("subject", ["not-a-uuid", str(uuid.uuid4())], ids=["junk", "unknown"])
async def test_token_for_nobody_is_401(api, member, subject):
    # given a validly signed token whose subject is no member
    token = api.token_for(subject)

    # when it is used
    response = await api.client.post(
        "/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {token}"}
    )

    # then it is refused
    assert_refused(response)


async def test_token_of_a_removed_member_is_401(api, member):
    # given a member's token, and the member then removed from the ward
    token = api.token_for(member.id)
    await api.container.organisation.remove_member(SYSTEM, member.id)

    # when the token is used
    response = await api.client.post(
        "/graphql", json={"query": GROUPS}, headers={"Authorization": f"Bearer {token}"}
    )

    # then it is refused
    assert_refused(response)
