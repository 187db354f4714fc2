"""Use cases for the organisation: wards, groups, members, roles and household imports."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from domain.access import Actor, Role, Scope, can_assign, expand_roles
from domain.channels import ChannelKind
from domain.errors import DomainError, ErrorCode, Msg, forbidden, not_found
from domain.events import MembersImported, RoleAssigned, RoleRevoked
from domain.group import Group
from domain.ids import GroupId, MemberId, WardId
from domain.member import (
    Member,
    RoleGrant,
    valid_address,
    valid_full_name,
    valid_household_size,
    valid_phone,
)
from domain.ports import Clock, EventPublisher, UnitOfWork, UnitOfWorkFactory
from domain.ward import Ward

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class WardCreate:
    code: str
    name: str
    parent_id: WardId | None = None


@dataclass(frozen=True, slots=True)
class WardUpdate:
    id: WardId
    name: str | None = None
    parent_id: WardId | None = None
    move: bool = False  # True when parent_id was given, so None can mean "make it top level"


@dataclass(frozen=True, slots=True)
class GroupCreate:
    ward_id: WardId
    channel: ChannelKind
    external_id: str
    name: str
    description: str | None = None
    credentials_ref: str | None = None


@dataclass(frozen=True, slots=True)
class GroupUpdate:
    id: GroupId
    name: str | None = None
    description: str | None = None
    credentials_ref: str | None = None


@dataclass(frozen=True, slots=True)
class MemberCreate:
    ward_id: WardId
    full_name: str
    phone: str | None = None
    address: str | None = None
    household_size: int | None = None
    group_ids: tuple[GroupId, ...] = ()


@dataclass(frozen=True, slots=True)
class MemberUpdate:
    id: MemberId
    full_name: str | None = None
    phone: str | None = None
    address: str | None = None
    household_size: int | None = None
    group_ids: tuple[GroupId, ...] | None = None


@dataclass(frozen=True, slots=True)
class RoleChange:
    member_id: MemberId
    ward_id: WardId
    role: Role


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One household row as read from the file, before validation. `line` counts the header as 1."""

    line: int
    full_name: str | None
    phone: str | None
    address: str | None = None
    household_size: str | None = None
    group: str | None = None


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    column: str
    code: ErrorCode
    message: Msg


@dataclass(frozen=True, slots=True)
class ImportResult:
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def stored(self) -> bool:
        return not self.errors


MAX_IMPORT_ROWS = 50_000


class OrganisationService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, publisher: EventPublisher) -> None:
        self._uow = uow
        self._clock = clock
        self._publisher = publisher

    async def actor_for(self, member_id: MemberId) -> Actor:
        """The caller behind a token, with admin grants reaching every unit below."""
        async with self._uow() as uow:
            if not await uow.members.is_active(member_id):
                return Actor.anonymous()
            grants = await uow.roles.grants_of(member_id)
            admin_units = [g.ward_id for g in grants if g.role is Role.ADMIN]
            below = await uow.wards.descendants(admin_units) if admin_units else set()
            roles = expand_roles(((g.ward_id, g.role) for g in grants), below)
            return Actor(member_id=member_id, roles=roles)

    # wards

    async def create_ward(self, actor: Actor, cmd: WardCreate) -> Ward:
        async def run(uow: UnitOfWork) -> Ward:
            if cmd.parent_id is None:
                if not actor.system:
                    raise DomainError.one(
                        ErrorCode.REQUIRED,
                        "Cần chọn đơn vị cấp trên.",
                        "A parent unit is required.",
                        ("parentId",),
                    )
            else:
                await _visible_ward(uow, actor, cmd.parent_id, ("parentId",))
                actor.require(Role.ADMIN, cmd.parent_id, ("parentId",))
            if await uow.wards.by_code(cmd.code.strip()) is not None:
                raise _duplicate_code()
            ward = Ward.create(
                code=cmd.code, name=cmd.name, parent_id=cmd.parent_id, now=self._clock.now()
            )
            uow.wards.add(ward)
            return ward

        return await self._in_uow(run)

    async def update_ward(self, actor: Actor, cmd: WardUpdate) -> Ward:
        async def run(uow: UnitOfWork) -> Ward:
            ward = await _visible_ward(uow, actor, cmd.id, ("id",), for_update=True)
            actor.require(Role.ADMIN, ward.id)
            if cmd.name is not None:
                ward.rename(cmd.name)
            if cmd.move:
                if cmd.parent_id is not None:
                    await _visible_ward(uow, actor, cmd.parent_id, ("parentId",))
                    actor.require(Role.ADMIN, cmd.parent_id, ("parentId",))
                    above = await uow.wards.ancestors(cmd.parent_id)
                elif not actor.system:
                    raise forbidden(("parentId",))
                else:
                    above = []
                ward.move_under(cmd.parent_id, above)
            return ward

        return await self._in_uow(run)

    # groups

    async def create_group(self, actor: Actor, cmd: GroupCreate) -> Group:
        async def run(uow: UnitOfWork) -> Group:
            await _visible_ward(uow, actor, cmd.ward_id, ("wardId",))
            actor.require(Role.OFFICER, cmd.ward_id, ("wardId",))
            group = Group.create(
                ward_id=cmd.ward_id,
                channel=cmd.channel,
                external_id=cmd.external_id,
                name=cmd.name,
                description=cmd.description,
                credentials_ref=cmd.credentials_ref,
                now=self._clock.now(),
            )
            if await uow.groups.by_external_id(group.channel, group.external_id) is not None:
                raise DomainError.one(
                    ErrorCode.DUPLICATE,
                    "Nhóm này đã được đăng ký trên kênh.",
                    "This channel group is already registered.",
                    ("externalId",),
                )
            uow.groups.add(group)
            return group

        return await self._in_uow(run)

    async def update_group(self, actor: Actor, cmd: GroupUpdate) -> Group:
        async def run(uow: UnitOfWork) -> Group:
            group = await _visible_group(uow, actor, cmd.id)
            actor.require(Role.OFFICER, group.ward_id)
            group.update(
                name=cmd.name, description=cmd.description, credentials_ref=cmd.credentials_ref
            )
            return group

        return await self._in_uow(run)

    async def archive_group(self, actor: Actor, group_id: GroupId) -> Group:
        async def run(uow: UnitOfWork) -> Group:
            group = await _visible_group(uow, actor, group_id)
            actor.require(Role.COMMANDER, group.ward_id)
            group.archive(self._clock.now())
            return group

        return await self._in_uow(run)

    # members

    async def create_member(self, actor: Actor, cmd: MemberCreate) -> Member:
        async def run(uow: UnitOfWork) -> Member:
            await _visible_ward(uow, actor, cmd.ward_id, ("wardId",))
            actor.require(Role.OFFICER, cmd.ward_id, ("wardId",))
            await _groups_of_ward(uow, actor, cmd.ward_id, cmd.group_ids)
            member = Member.create(
                ward_id=cmd.ward_id,
                full_name=cmd.full_name,
                phone=cmd.phone,
                address=cmd.address,
                household_size=cmd.household_size,
                group_ids=list(cmd.group_ids),
                now=self._clock.now(),
            )
            if member.phone and await uow.members.by_phone(cmd.ward_id, member.phone):
                raise _duplicate_phone(("phone",))
            uow.members.add(member)
            await uow.roles.grant(member.id, RoleGrant(cmd.ward_id, Role.RESIDENT))
            return member

        return await self._in_uow(run)

    async def update_member(self, actor: Actor, cmd: MemberUpdate) -> Member:
        async def run(uow: UnitOfWork) -> Member:
            member = await _managed_member(uow, actor, cmd.id)
            if cmd.group_ids is not None:
                await _groups_of_ward(uow, actor, member.ward_id, cmd.group_ids)
            before = member.phone
            member.update(
                full_name=cmd.full_name,
                phone=cmd.phone,
                address=cmd.address,
                household_size=cmd.household_size,
                group_ids=list(cmd.group_ids) if cmd.group_ids is not None else None,
            )
            if member.phone and member.phone != before:
                other = await uow.members.by_phone(member.ward_id, member.phone)
                if other is not None and other.id != member.id:
                    raise _duplicate_phone(("phone",))
            return member

        return await self._in_uow(run)

    async def remove_member(self, actor: Actor, member_id: MemberId) -> Member:
        async def run(uow: UnitOfWork) -> Member:
            member = await _managed_member(uow, actor, member_id)
            if member.id == actor.member_id:
                raise DomainError.one(
                    ErrorCode.FORBIDDEN,
                    "Không thể tự xoá chính mình.",
                    "You cannot remove yourself.",
                    ("id",),
                )
            member.remove(self._clock.now())
            for grant in await uow.roles.grants_of(member.id):
                await uow.roles.revoke(member.id, grant)
            return member

        return await self._in_uow(run)

    # roles

    async def assign_role(self, actor: Actor, cmd: RoleChange) -> Member:
        return await self._change_role(actor, cmd, assign=True)

    async def revoke_role(self, actor: Actor, cmd: RoleChange) -> Member:
        return await self._change_role(actor, cmd, assign=False)

    async def _change_role(self, actor: Actor, cmd: RoleChange, *, assign: bool) -> Member:
        async def run(uow: UnitOfWork) -> Member:
            await _visible_ward(uow, actor, cmd.ward_id, ("wardId",))
            # Loaded for update so the unit of work sees the RoleAssigned/RoleRevoked event.
            member = await uow.members.get(
                cmd.member_id, scope=actor.scope(Role.OFFICER), for_update=True
            )
            if member is None or member.removed:
                raise not_found("thành viên", "Member", ("memberId",))
            if not can_assign(actor, cmd.role, cmd.ward_id):
                raise forbidden(("role",))
            grant = RoleGrant(cmd.ward_id, cmd.role)
            if assign:
                if not await uow.roles.grant(member.id, grant):
                    raise DomainError.one(
                        ErrorCode.DUPLICATE,
                        "Thành viên đã có vai trò này.",
                        "The member already holds this role.",
                        ("role",),
                    )
                member.events.append(RoleAssigned(member.id, cmd.ward_id, cmd.role.value))
            else:
                if member.id == actor.member_id and cmd.role.rank >= Role.COMMANDER.rank:
                    raise DomainError.one(
                        ErrorCode.FORBIDDEN,
                        "Không thể tự thu hồi quyền chỉ huy của mình.",
                        "You cannot revoke your own command role.",
                        ("role",),
                    )
                if not await uow.roles.revoke(member.id, grant):
                    raise DomainError.one(
                        ErrorCode.NOT_FOUND,
                        "Thành viên không có vai trò này.",
                        "The member does not hold this role.",
                        ("role",),
                    )
                member.events.append(RoleRevoked(member.id, cmd.ward_id, cmd.role.value))
            return member

        return await self._in_uow(run)

    async def grants_of(self, member_ids: Sequence[MemberId]) -> list[list[RoleGrant]]:
        async with self._uow() as uow:
            return await uow.roles.grants_of_many(member_ids)

    # household import

    async def import_members(
        self, actor: Actor, ward_id: WardId, rows: Sequence[ImportRow]
    ) -> ImportResult:
        """All or nothing: rows are matched to members of the ward by phone (updated) or created;
        if any row has a problem, nothing is stored and every problem is reported."""

        async def run(uow: UnitOfWork) -> ImportResult:
            await _visible_ward(uow, actor, ward_id, ("wardId",))
            actor.require(Role.OFFICER, ward_id, ("wardId",))
            if not rows:
                raise _bad_file("Tệp không có dòng dữ liệu nào.", "The file has no data rows.")
            if len(rows) > MAX_IMPORT_ROWS:
                raise _bad_file(
                    f"Tệp có quá {MAX_IMPORT_ROWS} dòng.",
                    f"The file has more than {MAX_IMPORT_ROWS} rows.",
                )
            groups = await uow.groups.ids_in_ward(ward_id)
            now = self._clock.now()
            errors: list[RowError] = []
            parsed: list[tuple[Member, ImportRow]] = []
            seen_phones: dict[str, int] = {}
            for row in rows:
                member, problems = _member_from_row(row, ward_id, groups, now)
                errors.extend(problems)
                if member is None:
                    continue
                if member.phone in seen_phones:
                    errors.append(
                        RowError(
                            row.line,
                            "phone",
                            ErrorCode.DUPLICATE,
                            Msg(
                                f"Trùng số điện thoại với dòng {seen_phones[member.phone]}.",
                                f"Same phone number as row {seen_phones[member.phone]}.",
                            ),
                        )
                    )
                    continue
                seen_phones[member.phone or ""] = row.line
                parsed.append((member, row))
            if errors:
                return ImportResult(errors=errors)
            existing = await uow.members.by_phones(ward_id, [m.phone or "" for m, _ in parsed])
            created = updated = 0
            fresh: list[Member] = []
            for member, row in parsed:
                known = existing.get(member.phone or "")
                if known is None:
                    fresh.append(member)
                    created += 1
                    continue
                tracked = await uow.members.get(known.id, scope=Scope.all(), for_update=True)
                assert tracked is not None
                tracked.update(
                    full_name=member.full_name,
                    address=member.address if row.address else None,
                    household_size=member.household_size,
                    group_ids=sorted({*tracked.group_ids, *member.group_ids}),
                )
                updated += 1
            for member in fresh:
                member.events.clear()  # one MembersImported event speaks for the whole file
                uow.members.add(member)
            await uow.roles.grant_many([(m.id, RoleGrant(ward_id, Role.RESIDENT)) for m in fresh])
            return ImportResult(created=created, updated=updated)

        result = await self._in_uow(run)
        if result.stored:
            await self._publisher.publish(MembersImported(ward_id, result.created, result.updated))
        return result

    async def _in_uow(self, work: Callable[[UnitOfWork], Awaitable[R]]) -> R:
        async with self._uow() as uow:
            result = await work(uow)
            await uow.commit()
            events = uow.collect_events()
        for event in events:
            await self._publisher.publish(event)
        return result


async def _visible_ward(
    uow: UnitOfWork,
    actor: Actor,
    ward_id: WardId,
    field: tuple[str, ...],
    *,
    for_update: bool = False,
) -> Ward:
    actor.require_authenticated()
    ward = await uow.wards.get(ward_id, scope=actor.scope(), for_update=for_update)
    if ward is None:
        raise not_found("đơn vị", "Unit", field)
    return ward


async def _visible_group(uow: UnitOfWork, actor: Actor, group_id: GroupId) -> Group:
    actor.require_authenticated()
    group = await uow.groups.get(group_id, scope=actor.scope(), for_update=True)
    if group is None:
        raise not_found("nhóm", "Group", ("id",))
    return group


async def _managed_member(uow: UnitOfWork, actor: Actor, member_id: MemberId) -> Member:
    """A member the actor may change: officers and above manage their wards' members."""
    actor.require_authenticated()
    member = await uow.members.get(member_id, scope=actor.scope(Role.OFFICER), for_update=True)
    if member is None or member.removed:
        raise not_found("thành viên", "Member", ("id",))
    return member


async def _groups_of_ward(
    uow: UnitOfWork, actor: Actor, ward_id: WardId, group_ids: Sequence[GroupId]
) -> None:
    groups = await uow.groups.get_many(list(group_ids), scope=actor.scope())
    for index, group in enumerate(groups):
        if group is None or group.ward_id != ward_id or group.archived:
            raise not_found("nhóm", "Group", ("groupIds", str(index)))


def _duplicate_code() -> DomainError:
    return DomainError.one(
        ErrorCode.DUPLICATE, "Mã đơn vị đã tồn tại.", "This unit code is already used.", ("code",)
    )


def _duplicate_phone(field: tuple[str, ...]) -> DomainError:
    return DomainError.one(
        ErrorCode.DUPLICATE,
        "Số điện thoại đã có trong đơn vị.",
        "This phone number is already registered in the unit.",
        field,
    )


def _bad_file(vi: str, en: str) -> DomainError:
    return DomainError.one(ErrorCode.INVALID_FILE, vi, en, ("file",))


def _member_from_row(
    row: ImportRow, ward_id: WardId, groups: dict[str, GroupId], now: datetime
) -> tuple[Member | None, list[RowError]]:
    """Validate one row into a Member, reporting every problem it has rather than the first."""
    problems: list[RowError] = []

    def check(column: str, validate: Callable[[], R]) -> R | None:
        try:
            return validate()
        except DomainError as error:
            problems.extend(RowError(row.line, column, p.code, p.message) for p in error.problems)
            return None

    def household_size() -> int | None:
        raw = (row.household_size or "").strip()
        if not raw:
            return None
        try:
            number = float(raw)
        except ValueError:
            number = 0.5
        if not number.is_integer():
            raise DomainError.one(
                ErrorCode.INVALID,
                "Số nhân khẩu phải là số nguyên.",
                "Household size must be a whole number.",
            )
        return valid_household_size(int(number))

    def phone() -> str | None:
        if not (row.phone or "").strip():
            raise DomainError.one(
                ErrorCode.REQUIRED, "Số điện thoại không được để trống.", "Phone is required."
            )
        return valid_phone(row.phone)

    def group_ids() -> list[GroupId]:
        refs = [part.strip() for part in (row.group or "").split(";") if part.strip()]
        missing = [ref for ref in refs if ref not in groups]
        if missing:
            raise DomainError.one(
                ErrorCode.NOT_FOUND,
                f"Không có nhóm '{missing[0]}' trong đơn vị.",
                f"The unit has no group '{missing[0]}'.",
            )
        return [groups[ref] for ref in refs]

    full_name = check("full_name", lambda: valid_full_name(row.full_name))
    checked_phone = check("phone", phone)
    address = check("address", lambda: valid_address(row.address))
    size = check("household_size", household_size)
    groups_of_row = check("group", group_ids)
    if problems:
        return None, problems
    member = Member.create(
        ward_id=ward_id,
        full_name=full_name or "",
        phone=checked_phone,
        address=address,
        household_size=size,
        group_ids=groups_of_row or [],
        now=now,
    )
    return member, []
