"""The organisation through GraphQL: mutation flows, Relay pagination, filters, text and phones.

Every test arranges its own district with two wards, so tests share one database without seeing
each other's rows: each caller only reaches its own units.
"""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from strawberry import relay

from domain.access import Role
from domain.channels import ChannelKind
from domain.group import Group
from domain.member import Member
from domain.services.organisation import RoleChange
from domain.ward import Ward
from tests.api.org import (
    SYSTEM,
    group_gid,
    load_member,
    make_group,
    make_member,
    make_ward,
    member_gid,
    unique,
    ward_gid,
)

USER_ERRORS = "userErrors { field code message messageEn }"
WARD_FIELDS = "id code name createdAt parent { id code name }"
GROUP_FIELDS = (
    "id channel externalId name description hasCredentials archived archivedAt createdAt"
    " ward { code } memberCount"
)
MEMBER_FIELDS = (
    "id fullName phone address householdSize createdAt ward { code }"
    " groups { name } roles { role ward { code } }"
)

WARD_CREATE = f"""
mutation ($input: WardCreateInput!) {{
  wardCreate(input: $input) {{ ward {{ {WARD_FIELDS} }} {USER_ERRORS} }}
}}
"""
WARD_UPDATE = f"""
mutation ($input: WardUpdateInput!) {{
  wardUpdate(input: $input) {{ ward {{ {WARD_FIELDS} }} {USER_ERRORS} }}
}}
"""
GROUP_CREATE = f"""
mutation ($input: GroupCreateInput!) {{
  groupCreate(input: $input) {{ group {{ {GROUP_FIELDS} }} {USER_ERRORS} }}
}}
"""
GROUP_UPDATE = f"""
mutation ($input: GroupUpdateInput!) {{
  groupUpdate(input: $input) {{ group {{ {GROUP_FIELDS} }} {USER_ERRORS} }}
}}
"""
GROUP_ARCHIVE = f"""
mutation ($input: GroupArchiveInput!) {{
  groupArchive(input: $input) {{ group {{ {GROUP_FIELDS} }} {USER_ERRORS} }}
}}
"""
MEMBER_CREATE = f"""
mutation ($input: MemberCreateInput!) {{
  memberCreate(input: $input) {{ member {{ {MEMBER_FIELDS} }} {USER_ERRORS} }}
}}
"""
MEMBER_UPDATE = f"""
mutation ($input: MemberUpdateInput!) {{
  memberUpdate(input: $input) {{ member {{ {MEMBER_FIELDS} }} {USER_ERRORS} }}
}}
"""
MEMBER_REMOVE = f"""
mutation ($input: MemberRemoveInput!) {{
  memberRemove(input: $input) {{ member {{ id fullName }} {USER_ERRORS} }}
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

PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"
WARDS = f"""
query ($filter: WardFilter, $first: Int!, $after: String) {{
  wards(filter: $filter, first: $first, after: $after) {{
    totalCount {PAGE_INFO} edges {{ cursor node {{ id code name }} }}
  }}
}}
"""
GROUPS = f"""
query ($filter: GroupFilter, $first: Int!, $after: String) {{
  groups(filter: $filter, first: $first, after: $after) {{
    totalCount {PAGE_INFO}
    edges {{ cursor node {{ id name channel }} }}
    nodes {{ id }}
  }}
}}
"""
MEMBERS = f"""
query ($filter: MemberFilter, $first: Int!, $after: String) {{
  members(filter: $filter, first: $first, after: $after) {{
    totalCount {PAGE_INFO} edges {{ cursor node {{ id fullName phone }} }}
  }}
}}
"""
WARD = f"query ($id: ID!) {{ ward(id: $id) {{ {WARD_FIELDS} }} }}"
GROUP = """
query ($id: ID!, $first: Int!) {
  node(id: $id) {
    ... on Group { name memberCount ward { code } members(first: $first) { fullName } }
  }
}
"""
MEMBER = f"query ($id: ID!) {{ node(id: $id) {{ ... on Member {{ {MEMBER_FIELDS} }} }} }}"

ZALO_ID = "0123456789012345678"  # 19 digits with a leading zero: a number would lose both


@dataclass
class Office:
    """A district with wards A and B; its admin, and a commander and an officer of A."""

    district: Ward
    a: Ward
    b: Ward
    admin: Member
    commander: Member
    officer: Member


async def build_office(svc: Any) -> Office:
    district = await make_ward(svc, "Công an quận Hoàng Mai")
    a = await make_ward(svc, "Phường Tân Mai", district)
    b = await make_ward(svc, "Phường Tương Mai", district)
    return Office(
        district=district,
        a=a,
        b=b,
        admin=await make_member(svc, district, "Phạm Quốc Quận", roles=(Role.ADMIN,)),
        commander=await make_member(svc, a, "Trần Văn Bảo", roles=(Role.COMMANDER,)),
        officer=await make_member(svc, a, "Lê Văn Cảnh", roles=(Role.OFFICER,)),
    )


@pytest.fixture
async def office(shared_api) -> Office:
    return await build_office(shared_api.container.organisation)


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def ok(data: dict) -> Any:
    """The object of a mutation payload that must have succeeded."""
    (payload,) = data.values()
    assert payload["userErrors"] == [], payload["userErrors"]
    (obj,) = (v for k, v in payload.items() if k != "userErrors")
    assert obj is not None
    return obj


def refused(data: dict) -> list[tuple[str, list[str]]]:
    (payload,) = data.values()
    assert all(v is None for k, v in payload.items() if k != "userErrors"), payload
    return [(e["code"], e["field"]) for e in payload["userErrors"]]


# Flows


async def test_ward_create_and_update(shared_api, office):
    # given the district admin
    admin = office.admin.id
    code = unique("KP")

    # when it creates a unit under the district, with a name typed in decomposed Unicode
    created = ok(
        await shared_api.gql(
            WARD_CREATE,
            {
                "input": {
                    "code": f"  {code} ",
                    "name": nfd("  Phường   Mai Động "),
                    "parentId": ward_gid(office.district),
                }
            },
            as_=admin,
        )
    )

    # then the unit is returned clean, NFC, under its parent
    assert created["code"] == code
    assert created["name"] == "Phường Mai Động"
    assert unicodedata.is_normalized("NFC", created["name"])
    assert created["parent"]["code"] == office.district.code

    # when it renames it and moves it under ward A
    updated = ok(
        await shared_api.gql(
            WARD_UPDATE,
            {
                "input": {
                    "id": created["id"],
                    "name": "Phường Mai Động Mới",
                    "parentId": ward_gid(office.a),
                }
            },
            as_=admin,
        )
    )

    # then the change shows in the payload and in a later read
    assert updated["id"] == created["id"]
    assert updated["name"] == "Phường Mai Động Mới"
    assert updated["parent"]["code"] == office.a.code
    read = await shared_api.gql(WARD, {"id": created["id"]}, as_=admin)
    assert read["ward"]["name"] == "Phường Mai Động Mới"
    assert read["ward"]["parent"]["code"] == office.a.code


async def test_ward_update_refuses_a_cycle_and_a_taken_code(shared_api, office):
    # when the admin puts its district under one of its own wards
    cycle = await shared_api.gql(
        WARD_UPDATE,
        {"input": {"id": ward_gid(office.district), "parentId": ward_gid(office.a)}},
        as_=office.admin.id,
    )
    # and creates a unit with a code already used
    taken = await shared_api.gql(
        WARD_CREATE,
        {"input": {"code": office.b.code, "name": "Trùng mã", "parentId": ward_gid(office.a)}},
        as_=office.admin.id,
    )

    # then both are userErrors at the field at fault
    assert refused(cycle) == [("CYCLE", ["parentId"])]
    assert refused(taken) == [("DUPLICATE", ["code"])]


async def test_ward_parent_is_null_when_not_visible(shared_api, office):
    # when the admin and ward A's commander read ward A
    as_admin = await shared_api.gql(WARD, {"id": ward_gid(office.a)}, as_=office.admin.id)
    as_commander = await shared_api.gql(WARD, {"id": ward_gid(office.a)}, as_=office.commander.id)

    # then only the admin sees the district above it
    assert as_admin["ward"]["parent"] == {
        "id": ward_gid(office.district),
        "code": office.district.code,
        "name": "Công an quận Hoàng Mai",
    }
    assert as_commander["ward"]["name"] == "Phường Tân Mai"
    assert as_commander["ward"]["parent"] is None


async def test_group_create_update_archive(shared_api, office):
    # given ward A's commander
    as_ = office.commander.id

    # when it registers a Zalo group with a 19-digit id and a decomposed name
    group = ok(
        await shared_api.gql(
            GROUP_CREATE,
            {
                "input": {
                    "wardId": ward_gid(office.a),
                    "channel": "ZALO_GROUP",
                    "externalId": ZALO_ID,
                    "name": nfd("Tổ dân phố số 3"),
                    "description": "Nhóm Zalo của tổ 3",
                }
            },
            as_=as_,
        )
    )

    # then it is returned with its id untouched, its name NFC, and no credentials
    assert group["externalId"] == ZALO_ID
    assert group["name"] == "Tổ dân phố số 3"
    assert unicodedata.is_normalized("NFC", group["name"])
    assert group["channel"] == "ZALO_GROUP"
    assert group["description"] == "Nhóm Zalo của tổ 3"
    assert group["hasCredentials"] is False
    assert group["archived"] is False
    assert group["archivedAt"] is None
    assert group["ward"] == {"code": office.a.code}
    assert group["memberCount"] == 0

    # when it renames it and gives it credentials
    updated = ok(
        await shared_api.gql(
            GROUP_UPDATE,
            {"input": {"id": group["id"], "name": "Tổ 3", "credentialsRef": "zalo.tan-mai"}},
            as_=as_,
        )
    )

    # then the secret's name is accepted but only its presence is shown
    assert updated["name"] == "Tổ 3"
    assert updated["hasCredentials"] is True
    assert updated["description"] == "Nhóm Zalo của tổ 3"
    assert "credentialsRef" not in updated

    # when it archives the group
    archived = ok(await shared_api.gql(GROUP_ARCHIVE, {"input": {"id": group["id"]}}, as_=as_))

    # then the group is archived, hidden from the default list, and frozen
    assert archived["archived"] is True
    assert archived["archivedAt"] is not None
    listed = await shared_api.gql(GROUPS, {"first": 10}, as_=as_)
    assert listed["groups"]["totalCount"] == 0
    with_archived = await shared_api.gql(
        GROUPS, {"first": 10, "filter": {"includeArchived": True}}, as_=as_
    )
    assert [e["node"]["id"] for e in with_archived["groups"]["edges"]] == [group["id"]]
    again = await shared_api.gql(GROUP_ARCHIVE, {"input": {"id": group["id"]}}, as_=as_)
    rename = await shared_api.gql(
        GROUP_UPDATE, {"input": {"id": group["id"], "name": "Tổ khác"}}, as_=as_
    )
    assert refused(again) == [("ALREADY_ARCHIVED", ["id"])]
    assert refused(rename) == [("ALREADY_ARCHIVED", ["id"])]


async def test_group_external_id_is_unique_per_channel(shared_api, office):
    # given a Zalo group registered in ward A
    external_id = "9" * 19  # beyond a 64-bit integer
    await make_group(shared_api.container.organisation, office.a, "Tổ 1", external_id=external_id)

    # when the same id is registered again on Zalo, and on Facebook
    def create(channel: str) -> dict:
        return {
            "input": {
                "wardId": ward_gid(office.a),
                "channel": channel,
                "externalId": external_id,
                "name": "Tổ 2",
            }
        }

    zalo = await shared_api.gql(GROUP_CREATE, create("ZALO_GROUP"), as_=office.officer.id)
    facebook = await shared_api.gql(GROUP_CREATE, create("FACEBOOK_PAGE"), as_=office.officer.id)

    # then Zalo refuses the duplicate and Facebook takes it, the id kept exactly
    assert refused(zalo) == [("DUPLICATE", ["externalId"])]
    assert ok(facebook)["externalId"] == external_id


async def test_member_create_update_remove(shared_api, office):
    # given two groups of ward A
    svc = shared_api.container.organisation
    g1 = await make_group(svc, office.a, "Tổ 1")
    g2 = await make_group(svc, office.a, "Tổ 2")
    as_ = office.officer.id

    # when the officer adds a household in decomposed Unicode with a local phone number
    member = ok(
        await shared_api.gql(
            MEMBER_CREATE,
            {
                "input": {
                    "wardId": ward_gid(office.a),
                    "fullName": nfd("Nguyễn Văn  An"),
                    "phone": "0912 345 678",
                    "address": nfd("Số 5, ngõ 12 Tân Mai"),
                    "householdSize": 4,
                    "groupIds": [group_gid(g1)],
                }
            },
            as_=as_,
        )
    )

    # then it is stored NFC, with the phone in E.164, as a resident of A in group 1
    assert member["fullName"] == "Nguyễn Văn An"
    assert unicodedata.is_normalized("NFC", member["fullName"])
    assert member["address"] == "Số 5, ngõ 12 Tân Mai"
    assert member["phone"] == "+84912345678"
    assert member["householdSize"] == 4
    assert member["ward"] == {"code": office.a.code}
    assert member["groups"] == [{"name": "Tổ 1"}]
    assert member["roles"] == [{"role": "RESIDENT", "ward": {"code": office.a.code}}]
    stored = await load_member(shared_api.container, _uuid(member["id"]))
    assert stored is not None and stored.full_name == "Nguyễn Văn An"

    # when the officer changes the phone and moves the member to group 2
    updated = ok(
        await shared_api.gql(
            MEMBER_UPDATE,
            {
                "input": {
                    "id": member["id"],
                    "phone": "84 98 765 4321",
                    "groupIds": [group_gid(g2)],
                }
            },
            as_=as_,
        )
    )

    # then only what was given changed
    assert updated["phone"] == "+84987654321"
    assert updated["groups"] == [{"name": "Tổ 2"}]
    assert updated["fullName"] == "Nguyễn Văn An"
    assert updated["householdSize"] == 4
    counts = await shared_api.gql(
        "query ($a: ID!, $b: ID!) { a: node(id: $a) { ... on Group { memberCount } }"
        " b: node(id: $b) { ... on Group { memberCount } } }",
        {"a": group_gid(g1), "b": group_gid(g2)},
        as_=as_,
    )
    assert counts == {"a": {"memberCount": 0}, "b": {"memberCount": 1}}

    # when the officer removes the member
    removed = ok(await shared_api.gql(MEMBER_REMOVE, {"input": {"id": member["id"]}}, as_=as_))

    # then it is gone from every read, and cannot be removed twice
    assert removed["fullName"] == "Nguyễn Văn An"
    assert await shared_api.gql(MEMBER, {"id": member["id"]}, as_=as_) == {"node": None}
    listed = await shared_api.gql(MEMBERS, {"first": 50}, as_=as_)
    assert member["id"] not in [e["node"]["id"] for e in listed["members"]["edges"]]
    again = await shared_api.gql(MEMBER_REMOVE, {"input": {"id": member["id"]}}, as_=as_)
    assert refused(again) == [("NOT_FOUND", ["id"])]


async def test_member_phone_is_unique_in_a_ward(shared_api, office):
    # given a member of A with a phone number
    await make_member(
        shared_api.container.organisation, office.a, "Nguyễn Văn An", phone="0912345678"
    )

    # when another member is added with the same number written differently, in A and in B
    def create(ward: Ward) -> dict:
        return {
            "input": {
                "wardId": ward_gid(ward),
                "fullName": "Trần Thị Bình",
                "phone": "+84 912 345 678",
            }
        }

    same_ward = await shared_api.gql(MEMBER_CREATE, create(office.a), as_=office.admin.id)
    other_ward = await shared_api.gql(MEMBER_CREATE, create(office.b), as_=office.admin.id)

    # then ward A refuses it and ward B takes it
    assert refused(same_ward) == [("DUPLICATE", ["phone"])]
    assert ok(other_ward)["phone"] == "+84912345678"


@pytest.mark.parametrize(
    "typed",
    [
        "0912345678",
        "0912 345 678",
        "091.234.5678",
        "(091) 234-5678",
        "84912345678",
        "+84 912 345 678",
    ],
)
async def test_phone_is_returned_in_e164(shared_api, office, typed):
    # when a member is created with the phone typed one way or another
    data = await shared_api.gql(
        MEMBER_CREATE,
        {"input": {"wardId": ward_gid(office.a), "fullName": "Lý Thị Cúc", "phone": typed}},
        as_=office.officer.id,
    )

    # then it comes back in E.164
    assert ok(data)["phone"] == "+84912345678"


async def test_role_assign_and_revoke(shared_api, office):
    # given a resident of A
    resident = await make_member(shared_api.container.organisation, office.a, "Hồ Văn Dũng")
    change = {
        "input": {"memberId": member_gid(resident), "wardId": ward_gid(office.a), "role": "OFFICER"}
    }

    # when the commander appoints it officer
    assigned = ok(await shared_api.gql(ROLE_ASSIGN, change, as_=office.commander.id))

    # then it holds both roles, and the new officer sees the ward's members
    assert sorted(r["role"] for r in assigned["roles"]) == ["OFFICER", "RESIDENT"]
    officers = await shared_api.gql(
        MEMBERS, {"first": 50, "filter": {"roles": ["OFFICER"]}}, as_=resident.id
    )
    assert sorted(e["node"]["fullName"] for e in officers["members"]["edges"]) == [
        "Hồ Văn Dũng",
        "Lê Văn Cảnh",
    ]

    # when the commander appoints it again, then revokes, then revokes again
    twice = await shared_api.gql(ROLE_ASSIGN, change, as_=office.commander.id)
    revoked = ok(await shared_api.gql(ROLE_REVOKE, change, as_=office.commander.id))
    revoked_twice = await shared_api.gql(ROLE_REVOKE, change, as_=office.commander.id)

    # then the duplicate and the missing role are userErrors, and the role is gone
    assert refused(twice) == [("DUPLICATE", ["role"])]
    assert revoked["roles"] == [{"role": "RESIDENT", "ward": {"code": office.a.code}}]
    assert refused(revoked_twice) == [("NOT_FOUND", ["role"])]
    assert await shared_api.gql(MEMBERS, {"first": 5}, as_=resident.id) == {
        "members": {
            "totalCount": 0,
            "pageInfo": {
                "hasNextPage": False,
                "hasPreviousPage": False,
                "startCursor": None,
                "endCursor": None,
            },
            "edges": [],
        }
    }


@pytest.mark.parametrize(
    ("who", "role"), [("commander", "COMMANDER"), ("admin", "ADMIN")], ids=["commander", "admin"]
)
async def test_nobody_revokes_its_own_command(shared_api, office, who, role):
    # given the commander of A, or the admin of the district
    member = getattr(office, who)
    ward = office.a if who == "commander" else office.district

    # when it revokes its own role
    data = await shared_api.gql(
        ROLE_REVOKE,
        {"input": {"memberId": member_gid(member), "wardId": ward_gid(ward), "role": role}},
        as_=member.id,
    )

    # then it is refused, and it keeps the role
    assert refused(data) == [("FORBIDDEN", ["role"])]
    me = await shared_api.gql("{ me { roles { role } } }", as_=member.id)
    assert role in {r["role"] for r in me["me"]["roles"]}


# Relations


async def test_member_relations(shared_api, office):
    # given a resident of A in an active and an archived group, also made officer of B
    svc = shared_api.container.organisation
    active = await make_group(svc, office.a, "Tổ 1")
    old = await make_group(svc, office.a, "Tổ cũ")
    member = await make_member(svc, office.a, "Đặng Thị Hoa", groups=(active, old))
    await svc.archive_group(SYSTEM, old.id)
    await svc.assign_role(SYSTEM, RoleChange(member.id, office.b.id, Role.OFFICER))

    # when A's officer, the district admin and the member itself read the member
    by_officer = await shared_api.gql(MEMBER, {"id": member_gid(member)}, as_=office.officer.id)
    by_admin = await shared_api.gql(MEMBER, {"id": member_gid(member)}, as_=office.admin.id)
    by_itself = await shared_api.gql(MEMBER, {"id": member_gid(member)}, as_=member.id)

    # then archived groups are left out, and roles are shown only in wards the reader may see
    for data in (by_officer, by_admin, by_itself):
        assert data["node"]["ward"] == {"code": office.a.code}
        assert data["node"]["groups"] == [{"name": "Tổ 1"}]
    roles = {
        who: sorted((r["role"], r["ward"]["code"]) for r in data["node"]["roles"])
        for who, data in [("officer", by_officer), ("admin", by_admin), ("itself", by_itself)]
    }
    assert roles["officer"] == [("RESIDENT", office.a.code)]
    assert roles["admin"] == sorted([("RESIDENT", office.a.code), ("OFFICER", office.b.code)])
    assert roles["itself"] == roles["admin"]


async def test_group_members_and_member_count(shared_api, office):
    # given a group of A with three members, one of them later removed
    svc = shared_api.container.organisation
    group = await make_group(svc, office.a, "Tổ 4")
    names = ["An", "Bình", "Cúc"]
    members = [await make_member(svc, office.a, f"Nguyễn Văn {n}", groups=(group,)) for n in names]
    await svc.remove_member(SYSTEM, members[2].id)

    # when the officer reads the group with all and with one member
    everyone = await shared_api.gql(
        GROUP, {"id": group_gid(group), "first": 10}, as_=office.officer.id
    )
    one = await shared_api.gql(GROUP, {"id": group_gid(group), "first": 1}, as_=office.officer.id)
    # and a resident member of it reads the group
    as_resident = await shared_api.gql(
        GROUP, {"id": group_gid(group), "first": 10}, as_=members[0].id
    )

    # then the count and the list hold the active members; a resident sees only itself
    assert everyone["node"]["memberCount"] == 2
    assert everyone["node"]["ward"] == {"code": office.a.code}
    assert sorted(m["fullName"] for m in everyone["node"]["members"]) == [
        "Nguyễn Văn An",
        "Nguyễn Văn Bình",
    ]
    assert len(one["node"]["members"]) == 1
    assert one["node"]["members"][0]["fullName"] in {"Nguyễn Văn An", "Nguyễn Văn Bình"}
    assert as_resident["node"]["memberCount"] == 2
    assert as_resident["node"]["members"] == [{"fullName": "Nguyễn Văn An"}]


# Pagination


async def _walk(api: Any, document: str, key: str, as_: Any, first: int, **variables: Any) -> list:
    """Every page of a connection, as (ids of the page, pageInfo, totalCount)."""
    pages = []
    after = None
    for _ in range(20):
        data = await api.gql(document, {"first": first, "after": after, **variables}, as_=as_)
        connection = data[key]
        ids = [e["node"]["id"] for e in connection["edges"]]
        pages.append((ids, connection["pageInfo"], connection["totalCount"]))
        assert [e["cursor"] for e in connection["edges"]][-1:] == (
            [connection["pageInfo"]["endCursor"]] if ids else []
        )
        if not connection["pageInfo"]["hasNextPage"]:
            return pages
        after = connection["pageInfo"]["endCursor"]
    raise AssertionError("pagination did not end")


async def test_groups_pages_forward_with_stable_total(shared_api, office):
    # given seven groups in ward A
    svc = shared_api.container.organisation
    created = {group_gid(await make_group(svc, office.a, f"Tổ {i}")) for i in range(7)}

    # when the officer walks them three at a time
    pages = await _walk(shared_api, GROUPS, "groups", office.officer.id, 3)

    # then it gets 3 + 3 + 1, each group once, the total 7 on every page
    assert [len(ids) for ids, _, _ in pages] == [3, 3, 1]
    assert [info["hasNextPage"] for _, info, _ in pages] == [True, True, False]
    assert all(info["hasPreviousPage"] is False for _, info, _ in pages)
    assert [total for _, _, total in pages] == [7, 7, 7]
    walked = [i for ids, _, _ in pages for i in ids]
    assert len(walked) == len(set(walked)) == 7
    assert set(walked) == created

    # and the same first page comes back the same
    again = await shared_api.gql(GROUPS, {"first": 3}, as_=office.officer.id)
    assert [e["node"]["id"] for e in again["groups"]["edges"]] == pages[0][0]
    assert [n["id"] for n in again["groups"]["nodes"]] == pages[0][0]


async def test_members_pages_forward_with_stable_total(shared_api, office):
    # given ward A with 5 more members (7 with its commander and officer)
    svc = shared_api.container.organisation
    for i in range(5):
        await make_member(svc, office.a, f"Cư dân {i}")

    # when the commander walks them two at a time
    pages = await _walk(shared_api, MEMBERS, "members", office.commander.id, 2)

    # then it gets 2 + 2 + 2 + 1, each once, total 7 on every page
    assert [len(ids) for ids, _, _ in pages] == [2, 2, 2, 1]
    assert [total for _, _, total in pages] == [7] * 4
    walked = [i for ids, _, _ in pages for i in ids]
    assert len(set(walked)) == 7


async def test_wards_page_exactly_filled_has_no_next_page(shared_api, office):
    # when the admin, who reaches the district and its two wards, asks for pages of 3 and of 2
    full = await shared_api.gql(WARDS, {"first": 3}, as_=office.admin.id)
    pages = await _walk(shared_api, WARDS, "wards", office.admin.id, 2)

    # then a page that holds everything says there is nothing next
    assert full["wards"]["totalCount"] == 3
    assert full["wards"]["pageInfo"]["hasNextPage"] is False
    assert [len(ids) for ids, _, _ in pages] == [2, 1]
    assert {i for ids, _, _ in pages for i in ids} == {
        ward_gid(office.district),
        ward_gid(office.a),
        ward_gid(office.b),
    }


async def test_empty_connection(shared_api, office):
    # when the officer of A lists groups of an A with none
    data = await shared_api.gql(GROUPS, {"first": 5}, as_=office.officer.id)

    # then the page is empty and says so
    assert data["groups"] == {
        "totalCount": 0,
        "pageInfo": {
            "hasNextPage": False,
            "hasPreviousPage": False,
            "startCursor": None,
            "endCursor": None,
        },
        "edges": [],
        "nodes": [],
    }


# Filters. One arranged office for the whole class: filtering changes nothing.


async def build_groups(svc: Any, office: Office) -> dict[str, Group]:
    return {
        "to3": await make_group(svc, office.a, "Tổ dân phố số 3"),
        "duong": await make_group(
            svc, office.a, "Đường Tân Mai", channel=ChannelKind.FACEBOOK_PAGE
        ),
        "cong": await make_group(svc, office.a, "Cổng phường", channel=ChannelKind.PORTAL),
        "b": await make_group(svc, office.b, "Tổ dân phố số 7"),
    }


async def build_people(svc: Any, office: Office, groups: dict[str, Group]) -> dict[str, Member]:
    return {
        "an": await make_member(
            svc, office.a, "Nguyễn Văn An", groups=(groups["to3"],), phone="0912345678"
        ),
        "do": await make_member(
            svc, office.a, "Đỗ Thị Đào", groups=(groups["to3"], groups["duong"])
        ),
        "binh": await make_member(svc, office.b, "Nguyễn Thị Bình", phone="0912345678"),
    }


@dataclass
class Directory:
    office: Office
    groups: dict[str, Group]
    people: dict[str, Member]


@pytest.fixture(scope="class")
async def directory(shared_api) -> Directory:
    svc = shared_api.container.organisation
    office = await build_office(svc)
    groups = await build_groups(svc, office)
    return Directory(office, groups, await build_people(svc, office, groups))


class TestFilters:
    @pytest.mark.parametrize(
        ("filter_", "expected"),
        [
            ({}, {"to3", "duong", "cong", "b"}),
            ({"text": "Tổ dân phố"}, {"to3", "b"}),
            ({"text": "to dan pho"}, {"to3", "b"}),
            ({"text": "TO DAN PHO SO 3"}, {"to3"}),
            ({"text": nfd("tổ dân")}, {"to3", "b"}),
            ({"text": "duong"}, {"duong"}),
            ({"text": "đường"}, {"duong"}),
            ({"text": "%"}, set()),
            ({"text": "_"}, set()),
            ({"channels": ["FACEBOOK_PAGE", "PORTAL"]}, {"duong", "cong"}),
            ({"channels": ["ZALO_GROUP"], "text": "so 7"}, {"b"}),
            ({"wardIds": ["A"]}, {"to3", "duong", "cong"}),
            ({"wardIds": ["B"]}, {"b"}),
            ({"wardIds": ["A", "B"], "channels": ["ZALO_GROUP"]}, {"to3", "b"}),
        ],
        ids=lambda v: repr(v) if isinstance(v, dict) else "",
    )
    async def test_group_filters(self, shared_api, directory, filter_, expected):
        office, groups = directory.office, directory.groups
        # given groups in A and B; ward ids in the filter stand for global ids
        wards = {"A": office.a, "B": office.b}
        if "wardIds" in filter_:
            filter_ = {**filter_, "wardIds": [ward_gid(wards[w]) for w in filter_["wardIds"]]}

        # when the district admin filters groups
        data = await shared_api.gql(GROUPS, {"first": 50, "filter": filter_}, as_=office.admin.id)

        # then exactly the expected ones come back, and the total agrees
        names = {group_gid(g): key for key, g in groups.items()}
        assert {names[e["node"]["id"]] for e in data["groups"]["edges"]} == expected
        assert data["groups"]["totalCount"] == len(expected)

    async def test_ward_ids_filter_cannot_reach_beyond_scope(self, shared_api, directory):
        office = directory.office
        # when ward A's officer filters on ward B
        data = await shared_api.gql(
            GROUPS,
            {"first": 50, "filter": {"wardIds": [ward_gid(office.b)]}},
            as_=office.officer.id,
        )

        # then it finds nothing, as if B had no groups
        assert data["groups"]["totalCount"] == 0
        assert data["groups"]["edges"] == []

    @pytest.mark.parametrize(
        ("text", "expected"),
        [("tan mai", {"a"}), ("Tương", {"b"}), ("PHUONG", {"a", "b"}), ("hoang mai", {"district"})],
    )
    async def test_ward_text_filter(self, shared_api, directory, text, expected):
        office = directory.office
        # when the admin filters its units by name
        data = await shared_api.gql(
            WARDS, {"first": 10, "filter": {"text": text}}, as_=office.admin.id
        )

        # then diacritics and case do not matter
        codes = {getattr(office, k).code for k in expected}
        assert {e["node"]["code"] for e in data["wards"]["edges"]} == codes

    async def test_ward_parent_filter(self, shared_api, directory):
        office = directory.office
        # when the admin lists the units under its district
        data = await shared_api.gql(
            WARDS,
            {"first": 10, "filter": {"parentId": ward_gid(office.district)}},
            as_=office.admin.id,
        )

        # then it gets wards A and B
        assert {e["node"]["code"] for e in data["wards"]["edges"]} == {office.a.code, office.b.code}

    @pytest.mark.parametrize(
        ("filter_", "expected"),
        [
            ({"text": "nguyen"}, {"an", "binh"}),
            ({"text": "NGUYỄN VĂN"}, {"an"}),
            ({"text": "do thi dao"}, {"do"}),
            ({"text": "đỗ"}, {"do"}),
            ({"phone": "+84912345678"}, {"an", "binh"}),
            ({"phone": "0912 345 678"}, {"an", "binh"}),
            ({"phone": "0999999999"}, set()),
            ({"groupIds": ["to3"]}, {"an", "do"}),
            ({"groupIds": ["duong"]}, {"do"}),
            ({"groupIds": ["b"]}, set()),
            ({"roles": ["COMMANDER"]}, {"commander"}),
            ({"roles": ["OFFICER", "COMMANDER"]}, {"officer", "commander"}),
            ({"roles": ["ADMIN"]}, {"admin"}),
            ({"wardIds": ["B"]}, {"binh"}),
            ({"wardIds": ["A"], "text": "van"}, {"an", "commander", "officer"}),
        ],
        ids=lambda v: repr(v) if isinstance(v, dict) else "",
    )
    async def test_member_filters(self, shared_api, directory, filter_, expected):
        office, groups, people = directory.office, directory.groups, directory.people
        # given members of A and B; group and ward keys in the filter stand for global ids
        if "groupIds" in filter_:
            filter_ = {**filter_, "groupIds": [group_gid(groups[g]) for g in filter_["groupIds"]]}
        if "wardIds" in filter_:
            wards = {"A": office.a, "B": office.b}
            filter_ = {**filter_, "wardIds": [ward_gid(wards[w]) for w in filter_["wardIds"]]}

        # when the district admin filters members
        data = await shared_api.gql(MEMBERS, {"first": 50, "filter": filter_}, as_=office.admin.id)

        # then exactly the expected ones come back
        everyone = {
            **people,
            "admin": office.admin,
            "commander": office.commander,
            "officer": office.officer,
        }
        keys = {member_gid(m): k for k, m in everyone.items()}
        assert {keys[e["node"]["id"]] for e in data["members"]["edges"]} == expected
        assert data["members"]["totalCount"] == len(expected)


async def test_role_filter_only_counts_roles_in_visible_wards(shared_api, office):
    # given a member of A who is commander of B
    svc = shared_api.container.organisation
    member = await make_member(svc, office.a, "Nguyễn Văn An")
    await svc.assign_role(SYSTEM, RoleChange(member.id, office.b.id, Role.COMMANDER))

    # when A's officer lists A's commanders
    data = await shared_api.gql(
        MEMBERS, {"first": 50, "filter": {"roles": ["COMMANDER"]}}, as_=office.officer.id
    )

    # then a command held in B, which the officer cannot see, does not count
    assert [e["node"]["fullName"] for e in data["members"]["edges"]] == ["Trần Văn Bảo"]


def _uuid(global_id: str) -> uuid.UUID:
    return uuid.UUID(relay.GlobalID.from_id(global_id).node_id)
