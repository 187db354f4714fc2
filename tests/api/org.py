"""Arranging an organisation for API tests: wards, groups and members made through the service.

The behaviour under test always goes through HTTP; this module only sets the stage and reads the
database back (with the system's scope) to check what a request stored.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from strawberry import relay

from adapters.persistence.tables import (
    GroupMembershipRow,
    GroupRow,
    MemberRow,
    RoleGrantRow,
    WardRow,
)
from domain.access import Actor, Role, Scope
from domain.channels import ChannelKind
from domain.group import Group
from domain.member import Member
from domain.services.organisation import (
    GroupCreate,
    MemberCreate,
    OrganisationService,
    RoleChange,
    WardCreate,
)
from domain.ward import Ward

SYSTEM = Actor.system_actor()
_counter = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_counter)}"


def unique_phone() -> str:
    """A valid Viettel mobile number in national format, different on every call."""
    return f"098{next(_counter):07d}"


def gid(type_name: str, node_id: Any) -> str:
    return str(relay.GlobalID(type_name, str(node_id)))


def ward_gid(ward: Ward) -> str:
    return gid("Ward", ward.id)


def group_gid(group: Group) -> str:
    return gid("Group", group.id)


def member_gid(member: Member) -> str:
    return gid("Member", member.id)


async def make_ward(
    svc: OrganisationService, name: str, parent: Ward | None = None, code: str | None = None
) -> Ward:
    return await svc.create_ward(
        SYSTEM, WardCreate(code=code or unique("W"), name=name, parent_id=parent and parent.id)
    )


async def make_group(
    svc: OrganisationService,
    ward: Ward,
    name: str,
    *,
    channel: ChannelKind = ChannelKind.ZALO_GROUP,
    external_id: str | None = None,
) -> Group:
    return await svc.create_group(
        SYSTEM,
        GroupCreate(
            ward_id=ward.id,
            channel=channel,
            external_id=external_id or unique("ext"),
            name=name,
        ),
    )


async def make_member(
    svc: OrganisationService,
    ward: Ward,
    full_name: str,
    *,
    roles: tuple[Role, ...] = (),
    groups: tuple[Group, ...] = (),
    phone: str | None = None,
) -> Member:
    """A resident of `ward` (every member is), also holding `roles` there."""
    member = await svc.create_member(
        SYSTEM,
        MemberCreate(
            ward_id=ward.id,
            full_name=full_name,
            phone=phone or unique_phone(),
            group_ids=tuple(g.id for g in groups),
        ),
    )
    for role in roles:
        await svc.assign_role(SYSTEM, RoleChange(member.id, ward.id, role))
    return member


@dataclass
class World:
    """District D with wards A and B; a group, acting members and target members in each.

    `actors` maps the role names used in tests to members; `targets` and `deputies` (commanders
    that only tests of roleRevoke touch) are keyed by ward letter.
    """

    wards: dict[str, Ward]
    groups: dict[str, Group]
    actors: dict[str, Member]
    targets: dict[str, Member]
    deputies: dict[str, Member]
    everyone: list[Member] = field(default_factory=list)

    def actor_id(self, role: str) -> Any:
        return None if role == "anonymous" else self.actors[role].id

    def members_of(self, *letters: str) -> set[str]:
        ids = {self.wards[letter].id for letter in letters}
        return {m.full_name for m in self.everyone if m.ward_id in ids}


# What each acting role holds, per ward letter. Admin of D reaches every unit below D.
LEVELS: dict[str, dict[str, Role]] = {
    "anonymous": {},
    "resident_a": {"A": Role.RESIDENT},
    "officer_a": {"A": Role.OFFICER},
    "commander_a": {"A": Role.COMMANDER},
    "admin_d": {"D": Role.ADMIN, "A": Role.ADMIN, "B": Role.ADMIN},
    "officer_b": {"B": Role.OFFICER},
}
ROLES = list(LEVELS)


async def build_world(svc: OrganisationService) -> World:
    d = await make_ward(svc, "Công an quận Hoàng Mai", code="D")
    a = await make_ward(svc, "Phường Tân Mai", d, code="A")
    b = await make_ward(svc, "Phường Tương Mai", d, code="B")
    group_a = await make_group(svc, a, "Tổ dân phố 1 Tân Mai")
    group_b = await make_group(svc, b, "Tổ dân phố 7 Tương Mai")
    actors = {
        "resident_a": await make_member(svc, a, "Nguyễn Thị Dân", groups=(group_a,)),
        "officer_a": await make_member(svc, a, "Lê Văn Cảnh", roles=(Role.OFFICER,)),
        "commander_a": await make_member(svc, a, "Trần Văn Bảo", roles=(Role.COMMANDER,)),
        "admin_d": await make_member(svc, d, "Phạm Quốc Quận", roles=(Role.ADMIN,)),
        "officer_b": await make_member(svc, b, "Đỗ Minh Tuấn", roles=(Role.OFFICER,)),
    }
    targets = {
        "A": await make_member(svc, a, "Hoàng Văn Mục", groups=(group_a,)),
        "B": await make_member(svc, b, "Vũ Thị Đích", groups=(group_b,)),
    }
    deputies = {
        "A": await make_member(svc, a, "Bùi Văn Phó", roles=(Role.COMMANDER,)),
        "B": await make_member(svc, b, "Ngô Văn Phó", roles=(Role.COMMANDER,)),
    }
    return World(
        wards={"D": d, "A": a, "B": b},
        groups={"A": group_a, "B": group_b},
        actors=actors,
        targets=targets,
        deputies=deputies,
        everyone=[*actors.values(), *targets.values(), *deputies.values()],
    )


# Reading back what is stored, past every scope.


async def load_ward(container: Any, ward_id: Any) -> Ward | None:
    async with container.uow() as uow:
        return await uow.wards.get(ward_id, scope=Scope.all())


async def ward_by_code(container: Any, code: str) -> Ward | None:
    async with container.uow() as uow:
        return await uow.wards.by_code(code)


async def load_group(container: Any, group_id: Any) -> Group | None:
    async with container.uow() as uow:
        return await uow.groups.get(group_id, scope=Scope.all())


async def load_member(container: Any, member_id: Any) -> Member | None:
    async with container.uow() as uow:
        return await uow.members.get(member_id, scope=Scope.all())


async def roles_of(container: Any, member_id: Any) -> set[tuple[Any, Role]]:
    async with container.uow() as uow:
        return {(g.ward_id, g.role) for g in await uow.roles.grants_of(member_id)}


TABLES = {
    "wards": WardRow.__table__,
    "groups": GroupRow.__table__,
    "members": MemberRow.__table__,
    "memberships": GroupMembershipRow.__table__,
    "grants": RoleGrantRow.__table__,
}


async def row_counts(container: Any) -> dict[str, int]:
    """Rows per table: equal before and after a refused request means nothing was stored."""
    async with container.engine.connect() as conn:
        return {
            name: await conn.scalar(sa.select(sa.func.count()).select_from(table))
            for name, table in TABLES.items()
        }
