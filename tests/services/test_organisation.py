"""OrganisationService on the real unit of work: who may do what, validation, imports, events."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from domain.access import Actor, Role, Scope
from domain.channels import ChannelKind
from domain.errors import DomainError, ErrorCode
from domain.events import (
    GroupArchived,
    GroupCreated,
    MemberCreated,
    MemberRemoved,
    MembersImported,
    RoleAssigned,
    RoleRevoked,
    WardCreated,
)
from domain.ids import MemberId, new_id
from domain.member import Member, RoleGrant
from domain.ports import MemberFilter
from domain.services.organisation import (
    GroupCreate,
    GroupUpdate,
    ImportRow,
    MemberCreate,
    MemberUpdate,
    OrganisationService,
    RoleChange,
    WardCreate,
    WardUpdate,
)
from domain.ward import Ward
from tests.builders import grant, make_group, make_member, make_ward, unique_phone

ALL = Scope.all()
FORBIDDEN = ErrorCode.FORBIDDEN
NOT_FOUND = ErrorCode.NOT_FOUND
OK = None


@dataclass
class Tree:
    """Hà Nội > Hoàng Mai > {Tân Mai, Tương Mai}."""

    city: Ward
    district: Ward
    tan_mai: Ward
    tuong_mai: Ward


@pytest.fixture
def service(uow_factory: SqlUnitOfWorkFactory, clock: Any, publisher: Any) -> OrganisationService:
    return OrganisationService(uow_factory, clock, publisher)


@pytest.fixture
async def tree(uow_factory: SqlUnitOfWorkFactory) -> Tree:
    city = await make_ward(uow_factory, "HN", "Thành phố Hà Nội")
    district = await make_ward(uow_factory, "HN-HM", "Quận Hoàng Mai", city.id)
    tan_mai = await make_ward(uow_factory, "HN-HM-TM", "Phường Tân Mai", district.id)
    tuong_mai = await make_ward(uow_factory, "HN-HM-TUM", "Phường Tương Mai", district.id)
    return Tree(city, district, tan_mai, tuong_mai)


@pytest.fixture
def as_role(service: OrganisationService, uow_factory: SqlUnitOfWorkFactory, tree: Tree) -> Any:
    """`await as_role("tan_mai", Role.OFFICER)`: a new member holding that role, as an Actor."""

    async def make(where: str, role: Role | None) -> Actor:
        ward: Ward = getattr(tree, where)
        member = await make_member(uow_factory, ward.id, roles=[role] if role else [])
        return await service.actor_for(member.id)

    return make


async def fails(call: Awaitable[Any], code: ErrorCode, field: tuple[str, ...]) -> DomainError:
    with pytest.raises(DomainError) as info:
        await call
    assert [(p.code, p.field) for p in info.value.problems] == [(code, field)]
    return info.value


async def run(call: Awaitable[Any], outcome: ErrorCode | None, field: tuple[str, ...]) -> Any:
    """Await `call`; when `outcome` is an error code, expect exactly that problem instead."""
    if outcome is None:
        return await call
    await fails(call, outcome, field)
    return None


async def load_member(uow_factory: SqlUnitOfWorkFactory, member_id: MemberId) -> Member:
    async with uow_factory() as uow:
        member = await uow.members.get(member_id, scope=ALL)
    assert member is not None
    return member


async def members_of(uow_factory: SqlUnitOfWorkFactory, ward: Ward) -> list[Member]:
    async with uow_factory() as uow:
        page = await uow.members.page(
            MemberFilter(ward_ids=(ward.id,)), scope=ALL, after=None, first=100
        )
    return page.items


# actors


async def test_admin_of_a_parent_unit_is_admin_of_every_unit_below(
    service: OrganisationService, uow_factory: SqlUnitOfWorkFactory, tree: Tree
) -> None:
    other_city = await make_ward(uow_factory, "HP", "Thành phố Hải Phòng")
    member = await make_member(uow_factory, tree.tan_mai.id, roles=[Role.OFFICER, Role.RESIDENT])
    await grant(uow_factory, member.id, tree.district.id, Role.ADMIN)
    await grant(uow_factory, member.id, other_city.id, Role.RESIDENT)

    actor = await service.actor_for(member.id)

    assert actor.member_id == member.id
    assert not actor.system
    assert dict(actor.roles) == {
        tree.district.id: Role.ADMIN,
        tree.tan_mai.id: Role.ADMIN,
        tree.tuong_mai.id: Role.ADMIN,
        other_city.id: Role.RESIDENT,
    }
    assert tree.city.id not in actor.scope().wards


async def test_roles_without_admin_are_not_expanded(
    service: OrganisationService, uow_factory: SqlUnitOfWorkFactory, tree: Tree
) -> None:
    member = await make_member(uow_factory, tree.district.id, roles=[Role.COMMANDER])
    actor = await service.actor_for(member.id)
    assert dict(actor.roles) == {tree.district.id: Role.COMMANDER}


async def test_removed_or_unknown_members_are_anonymous(
    service: OrganisationService, uow_factory: SqlUnitOfWorkFactory, tree: Tree
) -> None:
    gone = await make_member(uow_factory, tree.tan_mai.id, roles=[Role.ADMIN], removed=True)
    for member_id in (gone.id, MemberId(new_id())):
        actor = await service.actor_for(member_id)
        assert actor == Actor.anonymous()
        assert not actor.authenticated


# wards


@pytest.mark.parametrize(
    ("where", "role", "outcome"),
    [
        ("district", Role.ADMIN, OK),
        ("city", Role.ADMIN, OK),
        ("district", Role.COMMANDER, FORBIDDEN),
        ("district", Role.OFFICER, FORBIDDEN),
        ("district", None, NOT_FOUND),
        ("tan_mai", Role.ADMIN, NOT_FOUND),
    ],
)
async def test_only_an_admin_of_the_parent_creates_a_unit(
    service: OrganisationService,
    uow_factory: SqlUnitOfWorkFactory,
    publisher: Any,
    clock: Any,
    tree: Tree,
    as_role: Any,
    where: str,
    role: Role | None,
    outcome: ErrorCode | None,
) -> None:
    actor = await as_role(where, role)
    cmd = WardCreate(code=" HN-HM-VH ", name=" Phường  Vĩnh Hưng ", parent_id=tree.district.id)
    ward = await run(service.create_ward(actor, cmd), outcome, ("parentId",))
    async with uow_factory() as uow:
        stored = await uow.wards.by_code("HN-HM-VH")
    if outcome is None:
        assert stored == ward
        assert (stored.name, stored.parent_id, stored.created_at) == (
            "Phường Vĩnh Hưng",
            tree.district.id,
            clock.now(),
        )
        assert publisher.events == [WardCreated(ward.id)]
    else:
        assert stored is None
        assert publisher.events == []


async def test_top_level_units_are_for_the_system_only(
    service: OrganisationService, uow_factory: SqlUnitOfWorkFactory, tree: Tree, as_role: Any
) -> None:
    admin = await as_role("city", Role.ADMIN)
    await fails(
        service.create_ward(admin, WardCreate(code="DN", name="Đà Nẵng")),
        ErrorCode.REQUIRED,
        ("parentId",),
    )
    await fails(
        service.create_ward(
            Actor.anonymous(), WardCreate(code="DN", name="Đà Nẵng", parent_id=tree.city.id)
        ),
        ErrorCode.UNAUTHENTICATED,
        (),
    )
    ward = await service.create_ward(Actor.system_actor(), WardCreate(code="DN", name="Đà Nẵng"))
    async with uow_factory() as uow:
        assert await uow.wards.by_code("DN") == ward
    assert ward.parent_id is None


@pytest.mark.parametrize("code", ["HN-HM-TM", "  HN-HM-TM  "])
async def test_duplicate_ward_code_is_refused(
    service: OrganisationService, publisher: Any, tree: Tree, as_role: Any, code: str
) -> None:
    admin = await as_role("district", Role.ADMIN)
    error = await fails(
        service.create_ward(admin, WardCreate(code=code, name="Khác", parent_id=tree.district.id)),
        ErrorCode.DUPLICATE,
        ("code",),
    )
    assert error.problems[0].message.en == "This unit code is already used."
    assert publisher.events == []


@pytest.mark.parametrize(
    ("where", "role", "outcome", "field"),
    [
        ("district", Role.ADMIN, OK, ()),
        ("tan_mai", Role.ADMIN, OK, ()),
        ("tan_mai", Role.COMMANDER, FORBIDDEN, ()),
        ("tuong_mai", Role.ADMIN, NOT_FOUND, ("id",)),
    ],
)
async def test_renaming_a_unit_needs_admin_there(
    service: OrganisationService,
    uow_factory: SqlUnitOfWorkFactory,
    tree: Tree,
    as_role: Any,
    where: str,
    role: Role,
    outcome: ErrorCode | None,
    field: tuple[str, ...],
) -> None:
    actor = await as_role(where, role)
    await run(
        service.update_ward(actor, WardUpdate(id=tree.tan_mai.id, name="Phường Tân Mai Mới")),
        outcome,
        field,
    )
    async with uow_factory() as uow:
        stored = await uow.wards.get(tree.tan_mai.id, scope=ALL)
    assert stored.name == ("Phường Tân Mai Mới" if outcome is None else "Phường Tân Mai")


async def test_moving_a_unit(
    service: OrganisationService, uow_factory: SqlUnitOfWorkFactory, tree: Tree, as_role: Any
) -> None:
    admin = await as_role("district", Role.ADMIN)
    moved = await service.update_ward(
        admin, WardUpdate(id=tree.tuong_mai.id, parent_id=tree.tan_mai.id, move=True)
    )
    assert moved.parent_id == tree.tan_mai.id
    async with uow_factory() as uow:
        assert await uow.wards.ancestors(tree.tuong_mai.id) == [
            tree.tan_mai.id,
            tree.district.id,
            tree.city.id,
        ]
    # making a unit top level is for the system only
    await fails(
        service.update_ward(admin, WardUpdate(id=tree.tan_mai.id, parent_id=None, move=True)),
        FORBIDDEN,
        ("parentId",),
    )


@pytest.mark.parametrize("new_parent", ["district", "tan_mai", "tuong_mai"])
async def test_a_unit_cannot_move_under_itself_or_below(
    service: OrganisationService,
    uow_factory: SqlUnitOfWorkFactory,
    tree: Tree,
    as_role: Any,
    new_parent: str,
) -> None:
    admin = await as_role("city", Role.ADMIN)
    parent = getattr(tree, new_parent)
    await fails(
        service.update_ward(admin, WardUpdate(id=tree.district.id, parent_id=parent.id, move=True)),
        ErrorCode.CYCLE,
        ("parentId",),
    )
    async with uow_factory() as uow:
        assert (await uow.wards.get(tree.district.id, scope=ALL)).parent_id == tree.city.id


# groups


def _group_cmd(ward: Ward, external_id: str = "zalo-tm-1") -> GroupCreate:
    return GroupCreate(
        ward_id=ward.id,
        channel=ChannelKind.ZALO_GROUP,
        external_id=external_id,
        name="Nhóm Zalo tổ 3",
        description="Tổ dân phố số 3",
    )


@pytest.mark.parametrize(
    ("where", "role", "outcome"),
    [
        ("tan_mai", Role.RESIDENT, FORBIDDEN),
        ("tan_mai", Role.OFFICER, OK),
        ("tan_mai", Role.COMMANDER, OK),
        ("district", Role.ADMIN, OK),
        ("tuong_mai", Role.OFFICER, NOT_FOUND),
    ],
)
async def test_officers_and_above_create_groups(
    service: OrganisationService,
    uow_factory: SqlUnitOfWorkFactory,
    publisher: Any,
    tree: Tree,
    as_role: Any,
    where: str,
    role: Role,
    outcome: ErrorCode | None,
) -> None:
    actor = await as_role(where, role)
    group = await run(service.create_group(actor, _group_cmd(tree.tan_mai)), outcome, ("wardId",))
    async with uow_factory() as uow:
        stored = await uow.groups.by_external_id(ChannelKind.ZALO_GROUP, "zalo-tm-1")
    if outcome is None:
        assert stored == group
        assert (stored.ward_id, stored.name, stored.description) == (
            tree.tan_mai.id,
            "Nhóm Zalo tổ 3",
            "Tổ dân phố số 3",
        )
        assert publisher.events == [GroupCreated(group.id, tree.tan_mai.id)]
    else:
        assert stored is None
        assert publisher.events == []


async def test_duplicate_external_id_on_the_same_channel_is_refused(
    service: OrganisationService, uow_factory: SqlUnitOfWorkFactory, tree: Tree, as_role: Any
) -> None:
    officer = await as_role("tan_mai", Role.OFFICER)
    await make_group(uow_factory, tree.tuong_mai.id, external_id="zalo-tm-1")
    await fails(
        service.create_group(officer, _group_cmd(tree.tan_mai)),
        ErrorCode.DUPLICATE,
        ("externalId",),
    )
    portal = await service.create_group(
        officer,
        GroupCreate(
            ward_id=tree.tan_mai.id,
            channel=ChannelKind.PORTAL,
            external_id="zalo-tm-1",
            name="Cổng",
        ),
    )
    assert portal.channel is ChannelKind.PORTAL


@pytest.mark.parametrize(
    ("role", "outcome"),
    [(Role.RESIDENT, FORBIDDEN), (Role.OFFICER, OK), (Role.COMMANDER, OK)],
)
async def test_officers_update_groups(
    service: OrganisationService,
    uow_factory: SqlUnitOfWorkFactory,
    tree: Tree,
    as_role: Any,
    role: Role,
    outcome: ErrorCode | None,
) -> None:
    group = await make_group(uow_factory, tree.tan_mai.id, name="Nhóm cũ")
    actor = await as_role("tan_mai", role)
    await run(service.update_group(actor, GroupUpdate(id=group.id, name="Nhóm mới")), outcome, ())
    async with uow_factory() as uow:
        stored = await uow.groups.get(group.id, scope=ALL)
    assert stored.name == ("Nhóm mới" if outcome is None else "Nhóm cũ")


@pytest.mark.parametrize(
    ("where", "role", "outcome", "field"),
    [
        ("tan_mai", Role.RESIDENT, FORBIDDEN, ()),
        ("tan_mai", Role.OFFICER, FORBIDDEN, ()),
        ("tan_mai", Role.COMMANDER, OK, ()),
        ("district", Role.ADMIN, OK, ()),
        ("tuong_mai", Role.COMMANDER, NOT_FOUND, ("id",)),
    ],
)
async def test_only_commanders_archive_groups(
    service: OrganisationService,
    uow_factory: SqlUnitOfWorkFactory,
    publisher: Any,
    clock: Any,
    tree: Tree,
    as_role: Any,
    where: str,
    role: Role,
    outcome: ErrorCode | None,
    field: tuple[str, ...],
) -> None:
    group = await make_group(uow_factory, tree.tan_mai.id)
    actor = await as_role(where, role)
    clock.advance(hours=2)
    await run(service.archive_group(actor, group.id), outcome, field)
    async with uow_factory() as uow:
        stored = await uow.groups.get(group.id, scope=ALL)
    if outcome is None:
        assert stored.archived_at == clock.now()
        assert publisher.events == [GroupArchived(group.id, tree.tan_mai.id)]
    else:
        assert stored.archived_at is None
        assert publisher.events == []


async def test_an_archived_group_cannot_change(
    service: OrganisationService, uow_factory: SqlUnitOfWorkFactory, tree: Tree, as_role: Any
) -> None:
    group = await make_group(uow_factory, tree.tan_mai.id, name="Nhóm cũ", archived=True)
    commander = await as_role("tan_mai", Role.COMMANDER)
    await fails(
        service.update_group(commander, GroupUpdate(id=group.id, name="Khác")),
        ErrorCode.ALREADY_ARCHIVED,
        ("id",),
    )
    await fails(service.archive_group(commander, group.id), ErrorCode.ALREADY_ARCHIVED, ("id",))
    async with uow_factory() as uow:
        assert (await uow.groups.get(group.id, scope=ALL)).name == "Nhóm cũ"


# members


async def test_creating_a_member_normalises_the_phone_and_makes_a_resident(
    service: OrganisationService,
    uow_factory: SqlUnitOfWorkFactory,
    publisher: Any,
    tree: Tree,
    as_role: Any,
) -> None:
    officer = await as_role("tan_mai", Role.OFFICER)
    group = await make_group(uow_factory, tree.tan_mai.id)
    member = await service.create_member(
        officer,
        MemberCreate(
            ward_id=tree.tan_mai.id,
            full_name="  Lê   Thị Hoa ",
            phone="0912 345 678",
            address="Ngõ 12",
            household_size=5,
            group_ids=(group.id,),
        ),
    )
    stored = await load_member(uow_factory, member.id)
    assert (stored.full_name, stored.phone, stored.household_size, stored.group_ids) == (
        "Lê Thị Hoa",
        "+84912345678",
        5,
        [group.id],
    )
    assert await service.grants_of([member.id]) == [[RoleGrant(tree.tan_mai.id, Role.RESIDENT)]]
    assert publisher.events == [MemberCreated(member.id, tree.tan_mai.id)]


@pytest.mark.parametrize("phone", ["12345", "0912 345", "số điện thoại", "+84 123"])
async def test_a_bad_phone_is_refused(
    service: OrganisationService,
    uow_factory: SqlUnitOfWorkFactory,
    tree: Tree,
    as_role: Any,
    phone: str,
) -> None:
    officer = await as_role("tan_mai", Role.OFFICER)
    before = await members_of(uow_factory, tree.tan_mai)
    await fails(
        service.create_member(
            officer, MemberCreate(ward_id=tree.tan_mai.id, full_name="Lê Hoa", phone=phone)
        ),
        ErrorCode.INVALID_PHONE,
        ("phone",),
    )
    assert await members_of(uow_factory, tree.tan_mai) == before


async def test_a_phone_is_unique_within_a_ward_only(
    service: OrganisationService, uow_factory: SqlUnitOfWorkFactory, tree: Tree, as_role: Any
) -> None:
    await make_member(uow_factory, tree.tan_mai.id, phone="+84912345678")
    officer = await as_role("tan_mai", Role.OFFICER)
    other_officer = await as_role("tuong_mai", Role.OFFICER)
    await fails(
        service.create_member(
            officer, MemberCreate(ward_id=tree.tan_mai.id, full_name="B", phone="0912345678")
        ),
        ErrorCode.DUPLICATE,
        ("phone",),
    )
    elsewhere = await service.create_member(
        other_officer,
        MemberCreate(ward_id=tree.tuong_mai.id, full_name="B", phone="84 912 345 678"),
    )
    assert elsewhere.phone == "+84912345678"


async def test_groups_of_another_ward_or_archived_cannot_be_joined(
    service: OrganisationService, uow_factory: SqlUnitOfWorkFactory, tree: Tree, as_role: Any
) -> None:
    admin = await as_role("district", Role.ADMIN)
    mine = await make_group(uow_factory, tree.tan_mai.id)
    foreign = await make_group(uow_factory, tree.tuong_mai.id)
    archived = await make_group(uow_factory, tree.tan_mai.id, archived=True)
    for index, bad in ((1, foreign), (0, archived)):
        group_ids = (mine.id, bad.id) if index else (bad.id,)
        await fails(
            service.create_member(
                admin, MemberCreate(ward_id=tree.tan_mai.id, full_name="C", group_ids=group_ids)
            ),
            NOT_FOUND,
            ("groupIds", str(index)),
        )


async def test_updating_a_member(
    service: OrganisationService, uow_factory: SqlUnitOfWorkFactory, tree: Tree, as_role: Any
) -> None:
    officer = await as_role("tan_mai", Role.OFFICER)
    g1 = await make_group(uow_factory, tree.tan_mai.id)
    g2 = await make_group(uow_factory, tree.tan_mai.id)
    taken = await make_member(uow_factory, tree.tan_mai.id)
    member = await make_member(uow_factory, tree.tan_mai.id, group_ids=[g1.id])

    await service.update_member(
        officer,
        MemberUpdate(id=member.id, full_name="Tên Mới", phone="0987 000 111", group_ids=(g2.id,)),
    )
    stored = await load_member(uow_factory, member.id)
    assert (stored.full_name, stored.phone, stored.group_ids) == (
        "Tên Mới",
        "+84987000111",
        [g2.id],
    )

    await fails(
        service.update_member(officer, MemberUpdate(id=member.id, phone=taken.phone)),
        ErrorCode.DUPLICATE,
        ("phone",),
    )
    await fails(
        service.update_member(officer, MemberUpdate(id=member.id, phone="0123")),
        ErrorCode.INVALID_PHONE,
        ("phone",),
    )
    assert (await load_member(uow_factory, member.id)).phone == "+84987000111"


MANAGE = [
    ("tan_mai", Role.RESIDENT, NOT_FOUND),
    ("tan_mai", Role.OFFICER, OK),
    ("tan_mai", Role.COMMANDER, OK),
    ("district", Role.ADMIN, OK),
    ("tuong_mai", Role.OFFICER, NOT_FOUND),
    ("tuong_mai", Role.ADMIN, NOT_FOUND),
]


@pytest.mark.parametrize(("where", "role", "outcome"), MANAGE)
async def test_who_may_update_a_member(
    service: OrganisationService,
    uow_factory: SqlUnitOfWorkFactory,
    tree: Tree,
    as_role: Any,
    where: str,
    role: Role,
    outcome: ErrorCode | None,
) -> None:
    member = await make_member(uow_factory, tree.tan_mai.id, full_name="Tên Cũ")
    actor = await as_role(where, role)
    await run(
        service.update_member(actor, MemberUpdate(id=member.id, full_name="Tên Mới")),
        outcome,
        ("id",),
    )
    stored = await load_member(uow_factory, member.id)
    assert stored.full_name == ("Tên Mới" if outcome is None else "Tên Cũ")


@pytest.mark.parametrize(("where", "role", "outcome"), MANAGE)
async def test_who_may_remove_a_member(
    service: OrganisationService,
    uow_factory: SqlUnitOfWorkFactory,
    publisher: Any,
    clock: Any,
    tree: Tree,
    as_role: Any,
    where: str,
    role: Role,
    outcome: ErrorCode | None,
) -> None:
    member = await make_member(uow_factory, tree.tan_mai.id, roles=[Role.OFFICER])
    actor = await as_role(where, role)
    await run(service.remove_member(actor, member.id), outcome, ("id",))
    stored = await load_member(uow_factory, member.id)
    if outcome is None:
        assert stored.removed_at == clock.now()
        assert await service.grants_of([member.id]) == [[]]
        assert await service.actor_for(member.id) == Actor.anonymous()
        assert publisher.events == [MemberRemoved(member.id, tree.tan_mai.id)]
        await fails(service.remove_member(actor, member.id), NOT_FOUND, ("id",))
    else:
        assert stored.removed_at is None
        assert await service.grants_of([member.id]) == [[RoleGrant(tree.tan_mai.id, Role.OFFICER)]]
        assert publisher.events == []


async def test_nobody_removes_themselves(
    service: OrganisationService, uow_factory: SqlUnitOfWorkFactory, as_role: Any
) -> None:
    commander = await as_role("tan_mai", Role.COMMANDER)
    await fails(service.remove_member(commander, commander.member_id), FORBIDDEN, ("id",))
    assert (await load_member(uow_factory, commander.member_id)).removed_at is None


# roles


@pytest.mark.parametrize(
    ("where", "role", "assigned", "outcome", "field"),
    [
        ("tan_mai", Role.OFFICER, Role.RESIDENT, FORBIDDEN, ("role",)),
        ("tan_mai", Role.COMMANDER, Role.RESIDENT, OK, ()),
        ("tan_mai", Role.COMMANDER, Role.OFFICER, OK, ()),
        ("tan_mai", Role.COMMANDER, Role.COMMANDER, FORBIDDEN, ("role",)),
        ("tan_mai", Role.COMMANDER, Role.ADMIN, FORBIDDEN, ("role",)),
        ("district", Role.ADMIN, Role.COMMANDER, OK, ()),
        ("district", Role.ADMIN, Role.ADMIN, OK, ()),
        ("tuong_mai", Role.ADMIN, Role.OFFICER, NOT_FOUND, ("wardId",)),
    ],
)
async def test_who_may_assign_which_role(
    service: OrganisationService,
    uow_factory: SqlUnitOfWorkFactory,
    publisher: Any,
    tree: Tree,
    as_role: Any,
    where: str,
    role: Role,
    assigned: Role,
    outcome: ErrorCode | None,
    field: tuple[str, ...],
) -> None:
    target = await make_member(uow_factory, tree.tan_mai.id)
    actor = await as_role(where, role)
    cmd = RoleChange(member_id=target.id, ward_id=tree.tan_mai.id, role=assigned)
    await run(service.assign_role(actor, cmd), outcome, field)
    grants = await service.grants_of([target.id])
    if outcome is None:
        assert grants == [[RoleGrant(tree.tan_mai.id, assigned)]]
        assert publisher.events == [RoleAssigned(target.id, tree.tan_mai.id, assigned.value)]
        assert (await service.actor_for(target.id)).role_in(tree.tan_mai.id) is assigned
    else:
        assert grants == [[]]
        assert publisher.events == []


async def test_assigning_a_held_role_again_is_a_duplicate(
    service: OrganisationService, uow_factory: SqlUnitOfWorkFactory, tree: Tree, as_role: Any
) -> None:
    target = await make_member(uow_factory, tree.tan_mai.id, roles=[Role.OFFICER])
    commander = await as_role("tan_mai", Role.COMMANDER)
    await fails(
        service.assign_role(commander, RoleChange(target.id, tree.tan_mai.id, Role.OFFICER)),
        ErrorCode.DUPLICATE,
        ("role",),
    )


async def test_revoking_roles(
    service: OrganisationService,
    uow_factory: SqlUnitOfWorkFactory,
    publisher: Any,
    tree: Tree,
    as_role: Any,
) -> None:
    target = await make_member(uow_factory, tree.tan_mai.id, roles=[Role.RESIDENT, Role.OFFICER])
    commander = await as_role("tan_mai", Role.COMMANDER)

    await service.revoke_role(commander, RoleChange(target.id, tree.tan_mai.id, Role.OFFICER))

    assert await service.grants_of([target.id]) == [[RoleGrant(tree.tan_mai.id, Role.RESIDENT)]]
    assert publisher.events == [RoleRevoked(target.id, tree.tan_mai.id, Role.OFFICER.value)]
    await fails(
        service.revoke_role(commander, RoleChange(target.id, tree.tan_mai.id, Role.OFFICER)),
        NOT_FOUND,
        ("role",),
    )
    await fails(
        service.revoke_role(
            commander, RoleChange(commander.member_id, tree.tan_mai.id, Role.COMMANDER)
        ),
        FORBIDDEN,
        ("role",),
    )
    assert await service.grants_of([commander.member_id]) == [
        [RoleGrant(tree.tan_mai.id, Role.COMMANDER)]
    ]


# household import


async def test_an_import_with_a_bad_row_stores_nothing_and_reports_every_problem(
    service: OrganisationService,
    uow_factory: SqlUnitOfWorkFactory,
    publisher: Any,
    tree: Tree,
    as_role: Any,
) -> None:
    officer = await as_role("tan_mai", Role.OFFICER)
    await make_group(uow_factory, tree.tan_mai.id, external_id="to-3")
    before = await members_of(uow_factory, tree.tan_mai)
    rows = [
        ImportRow(line=2, full_name="Nguyễn Văn An", phone="0912000001", group="to-3"),
        ImportRow(line=3, full_name=" ", phone="0912", household_size="abc", group="to-9"),
        ImportRow(line=4, full_name="Trần Bình", phone="", household_size="200"),
        ImportRow(line=5, full_name="Lê Chi", phone="0912000005", household_size="2.5"),
    ]

    result = await service.import_members(officer, tree.tan_mai.id, rows)

    assert not result.stored
    assert (result.created, result.updated) == (0, 0)
    assert [(e.row, e.column, e.code) for e in result.errors] == [
        (3, "full_name", ErrorCode.REQUIRED),
        (3, "phone", ErrorCode.INVALID_PHONE),
        (3, "household_size", ErrorCode.INVALID),
        (3, "group", ErrorCode.NOT_FOUND),
        (4, "phone", ErrorCode.REQUIRED),
        (4, "household_size", ErrorCode.OUT_OF_RANGE),
        (5, "household_size", ErrorCode.INVALID),
    ]
    assert all(e.message.vi and e.message.en for e in result.errors)
    assert "to-9" in result.errors[3].message.en
    assert await members_of(uow_factory, tree.tan_mai) == before
    assert publisher.events == []


async def test_a_good_import_creates_residents_then_a_reimport_updates_them(
    service: OrganisationService,
    uow_factory: SqlUnitOfWorkFactory,
    publisher: Any,
    tree: Tree,
    as_role: Any,
) -> None:
    officer = await as_role("tan_mai", Role.OFFICER)
    to3 = await make_group(uow_factory, tree.tan_mai.id, external_id="to-3")
    to4 = await make_group(uow_factory, tree.tan_mai.id, external_id="to-4")
    rows = [
        ImportRow(2, "Nguyễn Văn An", "0912 000 001", "Số 1", "4", "to-3"),
        ImportRow(3, "Trần Thị Bình", "+84912000002", None, "3.0", "to-3; to-4"),
    ]

    first = await service.import_members(officer, tree.tan_mai.id, rows)

    assert (first.created, first.updated, first.errors) == (2, 0, [])
    assert publisher.events == [MembersImported(tree.tan_mai.id, 2, 0)]
    imported = {
        m.phone: m for m in await members_of(uow_factory, tree.tan_mai) if m.id != officer.member_id
    }
    assert set(imported) == {"+84912000001", "+84912000002"}
    an, binh = imported["+84912000001"], imported["+84912000002"]
    assert (an.full_name, an.address, an.household_size, an.group_ids) == (
        "Nguyễn Văn An",
        "Số 1",
        4,
        [to3.id],
    )
    assert (binh.household_size, binh.group_ids) == (3, sorted([to3.id, to4.id]))
    assert await service.grants_of([an.id, binh.id]) == [
        [RoleGrant(tree.tan_mai.id, Role.RESIDENT)],
        [RoleGrant(tree.tan_mai.id, Role.RESIDENT)],
    ]

    publisher.events.clear()
    again = [
        ImportRow(2, "Nguyễn Văn An Mới", "84912000001", None, "5", "to-4"),
        ImportRow(3, "Trần Thị Bình", "0912000002"),
    ]
    second = await service.import_members(officer, tree.tan_mai.id, again)

    assert (second.created, second.updated, second.errors) == (0, 2, [])
    assert publisher.events == [MembersImported(tree.tan_mai.id, 0, 2)]
    after = {m.id: m for m in await members_of(uow_factory, tree.tan_mai)}
    assert len(after) == 3  # the officer and the two residents, no new rows
    an = after[an.id]
    assert (an.full_name, an.address, an.household_size, an.group_ids) == (
        "Nguyễn Văn An Mới",
        "Số 1",
        5,
        sorted([to3.id, to4.id]),
    )
    assert after[binh.id].group_ids == sorted([to3.id, to4.id])
    assert await service.grants_of([an.id]) == [[RoleGrant(tree.tan_mai.id, Role.RESIDENT)]]


async def test_an_import_matches_existing_members_of_that_ward_only(
    service: OrganisationService, uow_factory: SqlUnitOfWorkFactory, tree: Tree, as_role: Any
) -> None:
    officer = await as_role("tan_mai", Role.OFFICER)
    phone = unique_phone()
    here = await make_member(uow_factory, tree.tan_mai.id, full_name="Cũ", phone=phone)
    there = await make_member(uow_factory, tree.tuong_mai.id, full_name="Khác", phone=phone)
    result = await service.import_members(
        officer, tree.tan_mai.id, [ImportRow(2, "Mới", phone), ImportRow(3, "Thêm", unique_phone())]
    )
    assert (result.created, result.updated) == (1, 1)
    assert (await load_member(uow_factory, here.id)).full_name == "Mới"
    assert (await load_member(uow_factory, there.id)).full_name == "Khác"


async def test_an_import_reports_duplicate_phones_and_unknown_groups(
    service: OrganisationService,
    uow_factory: SqlUnitOfWorkFactory,
    publisher: Any,
    tree: Tree,
    as_role: Any,
) -> None:
    officer = await as_role("tan_mai", Role.OFFICER)
    await make_group(uow_factory, tree.tan_mai.id, external_id="cu", archived=True)
    await make_group(uow_factory, tree.tuong_mai.id, external_id="ben-kia")
    rows = [
        ImportRow(2, "An", "0912000001"),
        ImportRow(3, "Bình", "+84 912 000 001"),
        ImportRow(4, "Chi", "0912000003", group="cu"),
        ImportRow(5, "Dũng", "0912000004", group="ben-kia"),
        ImportRow(6, "An", "84912000001"),
    ]
    result = await service.import_members(officer, tree.tan_mai.id, rows)
    assert [(e.row, e.column, e.code) for e in result.errors] == [
        (3, "phone", ErrorCode.DUPLICATE),
        (4, "group", ErrorCode.NOT_FOUND),
        (5, "group", ErrorCode.NOT_FOUND),
        (6, "phone", ErrorCode.DUPLICATE),
    ]
    assert result.errors[0].message.en == "Same phone number as row 2."
    assert [m.id for m in await members_of(uow_factory, tree.tan_mai)] == [officer.member_id]
    assert publisher.events == []


@pytest.mark.parametrize(
    ("where", "role", "outcome"),
    [
        ("tan_mai", Role.RESIDENT, FORBIDDEN),
        ("tuong_mai", Role.OFFICER, NOT_FOUND),
        ("district", Role.ADMIN, OK),
    ],
)
async def test_who_may_import(
    service: OrganisationService,
    uow_factory: SqlUnitOfWorkFactory,
    tree: Tree,
    as_role: Any,
    where: str,
    role: Role,
    outcome: ErrorCode | None,
) -> None:
    actor = await as_role(where, role)
    phone = unique_phone()
    result = await run(
        service.import_members(actor, tree.tan_mai.id, [ImportRow(2, "An", phone)]),
        outcome,
        ("wardId",),
    )
    async with uow_factory() as uow:
        found = await uow.members.by_phone(tree.tan_mai.id, phone)
    assert (found is not None) is (outcome is None)
    if outcome is None:
        assert result.created == 1


async def test_an_empty_file_is_refused(
    service: OrganisationService, tree: Tree, as_role: Any
) -> None:
    officer = await as_role("tan_mai", Role.OFFICER)
    await fails(
        service.import_members(officer, tree.tan_mai.id, []), ErrorCode.INVALID_FILE, ("file",)
    )


# events


class CommittedCheckingPublisher:
    """Records, for each event, whether its subject was already visible to a new unit of work."""

    def __init__(self, uow_factory: SqlUnitOfWorkFactory) -> None:
        self.uow_factory = uow_factory
        self.seen: list[tuple[object, bool]] = []

    async def publish(self, event: object) -> None:
        async with self.uow_factory() as uow:
            if isinstance(event, WardCreated):
                visible = await uow.wards.get(event.ward_id, scope=ALL) is not None
            elif isinstance(event, MemberCreated):
                visible = await uow.members.get(event.member_id, scope=ALL) is not None
            else:
                visible = False
        self.seen.append((event, visible))


async def test_events_are_published_after_commit(
    uow_factory: SqlUnitOfWorkFactory, clock: Any, tree: Tree
) -> None:
    checking = CommittedCheckingPublisher(uow_factory)
    service = OrganisationService(uow_factory, clock, checking)
    admin_member = await make_member(uow_factory, tree.district.id, roles=[Role.ADMIN])
    admin = await service.actor_for(admin_member.id)

    ward = await service.create_ward(
        admin, WardCreate(code="HN-HM-VH", name="Vĩnh Hưng", parent_id=tree.district.id)
    )
    clock.advance(minutes=1)
    admin = await service.actor_for(admin_member.id)  # now reaching the new unit too
    member = await service.create_member(admin, MemberCreate(ward_id=ward.id, full_name="An"))

    assert checking.seen == [
        (WardCreated(ward.id), True),
        (MemberCreated(member.id, ward.id), True),
    ]
    assert (await load_member(uow_factory, member.id)).created_at == clock.now()
    assert clock.now() - ward.created_at == timedelta(minutes=1)
