"""Build entities quickly through a real unit of work. Every call gets unique codes, ids and phones."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, datetime

from domain.access import Role
from domain.channels import ChannelKind
from domain.group import Group
from domain.ids import GroupId, MemberId, WardId
from domain.member import ChannelIdentity, Member, RoleGrant
from domain.ports import UnitOfWorkFactory
from domain.ward import Ward

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
UNIQUE = "<unique>"
"""Default for `phone`: a fresh valid mobile number; pass None for a member without a phone."""

_counter = itertools.count(1)


def unique_ref(prefix: str = "ref") -> str:
    return f"{prefix}-{next(_counter)}"


def unique_phone() -> str:
    """A valid Vinaphone mobile number in E.164, different on every call."""
    return f"+8491{next(_counter):07d}"


async def make_ward(
    uow_factory: UnitOfWorkFactory,
    code: str | None = None,
    name: str = "Phường Tân Mai",
    parent_id: WardId | None = None,
    *,
    now: datetime = NOW,
) -> Ward:
    ward = Ward.create(code=code or unique_ref("W"), name=name, parent_id=parent_id, now=now)
    async with uow_factory() as uow:
        uow.wards.add(ward)
        await uow.commit()
    return ward


async def make_group(
    uow_factory: UnitOfWorkFactory,
    ward_id: WardId,
    *,
    channel: ChannelKind = ChannelKind.ZALO_GROUP,
    external_id: str | None = None,
    name: str = "Nhóm khu phố 1",
    description: str | None = None,
    credentials_ref: str | None = None,
    archived: bool = False,
    now: datetime = NOW,
) -> Group:
    group = Group.create(
        ward_id=ward_id,
        channel=channel,
        external_id=external_id or unique_ref("grp"),
        name=name,
        description=description,
        credentials_ref=credentials_ref,
        now=now,
    )
    if archived:
        group.archive(now)
    async with uow_factory() as uow:
        uow.groups.add(group)
        await uow.commit()
    return group


async def make_member(
    uow_factory: UnitOfWorkFactory,
    ward_id: WardId,
    *,
    full_name: str = "Nguyễn Văn An",
    phone: str | None = UNIQUE,
    address: str | None = None,
    household_size: int | None = None,
    group_ids: Iterable[GroupId] = (),
    identities: Iterable[ChannelIdentity] = (),
    roles: Iterable[Role] = (),
    removed: bool = False,
    now: datetime = NOW,
) -> Member:
    """A member of `ward_id`, holding `roles` there (none unless asked)."""
    member = Member.create(
        ward_id=ward_id,
        full_name=full_name,
        phone=unique_phone() if phone == UNIQUE else phone,
        address=address,
        household_size=household_size,
        group_ids=list(group_ids),
        now=now,
    )
    for identity in identities:
        member.link(identity)
    if removed:
        member.remove(now)
    async with uow_factory() as uow:
        uow.members.add(member)
        await uow.roles.grant_many([(member.id, RoleGrant(ward_id, role)) for role in roles])
        await uow.commit()
    return member


async def grant(
    uow_factory: UnitOfWorkFactory, member_id: MemberId, ward_id: WardId, role: Role
) -> None:
    async with uow_factory() as uow:
        await uow.roles.grant(member_id, RoleGrant(ward_id, role))
        await uow.commit()
