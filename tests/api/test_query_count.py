"""Relations resolve through DataLoaders: a page costs the same number of SQL statements at any size.

Statements are counted with a `before_cursor_execute` listener on the app's engine during one HTTP
request, token check included. The bounds are the counts measured when this was written; a change
that adds a statement per page is a deliberate decision to record here, one per row is a bug.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import event

from domain.access import Role
from domain.channels import ChannelKind
from domain.group import Group
from domain.member import Member, RoleGrant
from domain.ward import Ward
from tests.api.org import make_member, make_ward, unique

GROUPS_WITH_MEMBERS = """
query ($first: Int!) {
  groups(first: $first) {
    totalCount
    edges {
      node {
        id
        name
        ward { name }
        memberCount
        members(first: 10) { fullName ward { name } groups { name } roles { role } }
      }
    }
  }
}
"""
MEMBERS_WITH_RELATIONS = """
query ($first: Int!) {
  members(first: $first) {
    totalCount
    nodes { fullName ward { name } groups { name ward { name } } roles { role ward { name } } }
  }
}
"""

# Measured on SQLite and PostgreSQL alike; 5 of each are the token check (the member with its
# groups and identities, its grants, the units below those it administers).
GROUP_PAGE_STATEMENTS = 15
MEMBER_PAGE_STATEMENTS = 12

GROUPS = 100
MEMBERS = 150  # each in two groups, so every group has three members


@dataclass
class District:
    admin: Member
    wards: list[Ward]
    groups: list[Group]
    members: list[Member]


@pytest.fixture(scope="class")
async def district(shared_api) -> District:
    """Two wards with 100 groups and 150 members between them, read by the district's admin."""
    svc = shared_api.container.organisation
    top = await make_ward(svc, "Công an quận Hoàng Mai")
    wards = [await make_ward(svc, name, top) for name in ("Phường Tân Mai", "Phường Tương Mai")]
    admin = await make_member(svc, top, "Phạm Quốc Quận", roles=(Role.ADMIN,))
    now = shared_api.container.clock.now()
    groups = [
        Group.create(
            ward_id=wards[i % 2].id,
            channel=ChannelKind.ZALO_GROUP,
            external_id=unique("qc"),
            name=f"Tổ dân phố {i}",
            now=now,
        )
        for i in range(GROUPS)
    ]
    members = []
    for i in range(MEMBERS):
        # Two groups of the member's own ward (g and g + 50 have the same parity, so the same
        # ward); 150 members over 100 groups gives each group three.
        base = i % GROUPS
        own = [groups[base], groups[(base + 50) % GROUPS]]
        members.append(
            Member.create(
                ward_id=own[0].ward_id,
                full_name=f"Cư dân {i}",
                phone=f"098{i:07d}",
                group_ids=[g.id for g in own],
                now=now,
            )
        )
    async with shared_api.container.uow() as uow:
        for group in groups:
            uow.groups.add(group)
        for member in members:
            uow.members.add(member)
        grants = [(m.id, RoleGrant(m.ward_id, Role.RESIDENT)) for m in members]
        grants += [(m.id, RoleGrant(m.ward_id, Role.OFFICER)) for m in members[::10]]
        await uow.roles.grant_many(grants)
        await uow.commit()
    return District(admin=admin, wards=wards, groups=groups, members=members)


@contextlib.contextmanager
def counting(api: Any) -> Iterator[list[str]]:
    """The SQL statements the app's engine sends while the block runs."""
    statements: list[str] = []
    engine = api.container.engine.sync_engine

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def cost(api: Any, document: str, first: int, as_: Any) -> tuple[int, dict]:
    with counting(api) as statements:
        data = await api.gql(document, {"first": first}, as_=as_)
    return len(statements), data


class TestQueryCount:
    async def test_group_page_with_members_costs_the_same_at_10_and_100(self, shared_api, district):
        # given 100 groups of three members each, in two wards
        admin = district.admin.id

        # when the admin reads a page of 10 and a page of 100, with every relation
        small, small_data = await cost(shared_api, GROUPS_WITH_MEMBERS, 10, admin)
        large, large_data = await cost(shared_api, GROUPS_WITH_MEMBERS, 100, admin)

        # then both pages cost the same few statements
        assert small == large, (small, large)
        assert large <= GROUP_PAGE_STATEMENTS, large
        # and the large page really holds everything it was asked for
        edges = large_data["groups"]["edges"]
        assert len(edges) == 100
        assert len(small_data["groups"]["edges"]) == 10
        assert large_data["groups"]["totalCount"] == GROUPS
        assert {e["node"]["memberCount"] for e in edges} == {3}
        names = {w.name for w in district.wards}
        for edge in edges:
            node = edge["node"]
            assert node["ward"]["name"] in names
            assert len(node["members"]) == 3
            for member in node["members"]:
                assert member["ward"] == node["ward"]
                assert node["name"] in {g["name"] for g in member["groups"]}
                assert len(member["groups"]) == 2
                assert "RESIDENT" in {r["role"] for r in member["roles"]}

    async def test_member_page_with_relations_costs_the_same_at_10_and_100(
        self, shared_api, district
    ):
        # given 150 members in two wards
        admin = district.admin.id

        # when the admin reads a page of 10 and a page of 100 members with ward, groups and roles
        small, small_data = await cost(shared_api, MEMBERS_WITH_RELATIONS, 10, admin)
        large, large_data = await cost(shared_api, MEMBERS_WITH_RELATIONS, 100, admin)

        # then both pages cost the same few statements
        assert small == large, (small, large)
        assert large <= MEMBER_PAGE_STATEMENTS, large
        nodes = large_data["members"]["nodes"]
        assert len(nodes) == 100
        assert len(small_data["members"]["nodes"]) == 10
        assert large_data["members"]["totalCount"] == MEMBERS + 1  # and the admin
        residents = [n for n in nodes if n["fullName"].startswith("Cư dân")]
        assert len(residents) >= 99
        for node in residents:
            assert len(node["groups"]) == 2
            assert {g["ward"]["name"] for g in node["groups"]} == {node["ward"]["name"]}
            assert {r["ward"]["name"] for r in node["roles"]} == {node["ward"]["name"]}
        assert sum("OFFICER" in {r["role"] for r in n["roles"]} for n in residents) >= 9
