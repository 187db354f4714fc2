"""Repositories over one AsyncSession. Ward scoping happens here, so a foreign row is simply absent."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.persistence import mappers
from adapters.persistence.tables import (
    GroupMembershipRow,
    GroupRow,
    MemberIdentityRow,
    MemberRow,
    RoleGrantRow,
    WardRow,
)
from domain.access import Role, Scope
from domain.channels import ChannelKind, Platform
from domain.group import Group
from domain.ids import GroupId, MemberId, WardId
from domain.member import ChannelIdentity, Member, RoleGrant
from domain.ports import GroupFilter, MemberFilter, Page, WardFilter
from domain.text import fold
from domain.ward import Ward

E = TypeVar("E", Ward, Group, Member)

ward_t = WardRow.__table__
group_t = GroupRow.__table__
member_t = MemberRow.__table__
membership_t = GroupMembershipRow.__table__
identity_t = MemberIdentityRow.__table__
grant_t = RoleGrantRow.__table__

# Bind parameters per statement stay well below SQLite's and asyncpg's limits.
CHUNK = 1000


def chunks(items: Sequence[Any], size: int = CHUNK) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def parse_cursor(cursor: str | None) -> uuid.UUID | None:
    if cursor is None:
        return None
    return uuid.UUID(cursor)


async def lock_for_write(session: AsyncSession, table: sa.Table) -> None:
    """SQLite's stand-in for SELECT ... FOR UPDATE, called before reading.

    SQLite has no row locks and its driver reads outside any transaction, so a row read "for
    update" could be changed by another writer before this one writes it back (a lost update,
    or two workers claiming the same delivery). A no-op write makes this unit of work the
    database's only writer until it ends: what it reads from now on is current and stays so.
    """
    key = next(iter(table.primary_key.columns))
    await session.execute(sa.update(table).where(sa.false()).values({key: key}))


def contains_folded(column: sa.ColumnElement[str], text: str) -> sa.ColumnElement[bool]:
    """Match with or without diacritics: both sides are folded; LIKE wildcards in input are literal."""
    needle = fold(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"%{needle}%", escape="\\")


class _Repository(Generic[E]):
    """Shared get/get_many/page/add with scoping and change tracking."""

    table: sa.Table
    scope_column: str = "ward_id"

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._new: list[E] = []
        self._tracked: dict[uuid.UUID, E] = {}

    @property
    def _postgres(self) -> bool:
        return self.session.bind.dialect.name == "postgresql"

    # to be provided by subclasses
    def _values(self, entity: E) -> dict: ...

    def _update_values(self, entity: E) -> dict:
        return self._values(entity)

    async def _entities(self, rows: Sequence[Any]) -> list[E]: ...

    def _scoped(self, query: sa.Select, scope: Scope) -> sa.Select:
        if scope.everything:
            return query
        column = self.table.c[self.scope_column]
        if not scope.wards:
            return query.where(sa.false())
        return query.where(column.in_(list(scope.wards)))

    async def get(self, id: uuid.UUID, *, scope: Scope, for_update: bool = False) -> E | None:
        if id in self._tracked:
            entity = self._tracked[id]
            return entity if scope.allows(getattr(entity, self.scope_column, None)) else None
        query = self._scoped(sa.select(self.table).where(self.table.c.id == id), scope)
        if for_update and self._postgres:
            query = query.with_for_update()
        elif for_update:
            await lock_for_write(self.session, self.table)
        row = (await self.session.execute(query)).first()
        if row is None:
            return None
        (entity,) = await self._entities([row])
        if for_update:
            self._tracked[entity.id] = entity
        return entity

    async def get_many(self, ids: Sequence[uuid.UUID], *, scope: Scope) -> list[E | None]:
        found: dict[uuid.UUID, E] = {}
        unique = list(dict.fromkeys(ids))
        for part in chunks(unique):
            query = self._scoped(sa.select(self.table).where(self.table.c.id.in_(part)), scope)
            rows = (await self.session.execute(query)).all()
            for entity in await self._entities(rows):
                found[entity.id] = entity
        return [found.get(i) for i in ids]

    def add(self, entity: E) -> None:
        self._new.append(entity)

    async def _claim(
        self, due: sa.ColumnElement[bool], order_by: Sequence[Any], limit: int
    ) -> list[E]:
        """Rows a worker acts on, locked for this unit of work (others skip them on PostgreSQL).

        The worker asks on every poll, so "none" is answered by one indexed probe, without
        taking SQLite's write lock."""
        if await self.session.scalar(sa.select(self.table.c.id).where(due).limit(1)) is None:
            return []
        query = sa.select(self.table).where(due).order_by(*order_by).limit(limit)
        if self._postgres:
            query = query.with_for_update(skip_locked=True)
        else:
            await lock_for_write(self.session, self.table)
        entities = await self._entities((await self.session.execute(query)).all())
        # An entity this unit of work already holds stays the one it holds (and writes back).
        return [self._tracked.setdefault(e.id, e) for e in entities]

    async def _page(
        self,
        conditions: list[sa.ColumnElement[bool]],
        *,
        scope: Scope,
        after: str | None,
        first: int,
        newest_first: bool = False,
    ) -> Page[E]:
        base = self._scoped(sa.select(self.table).where(*conditions), scope)
        total = await self.session.scalar(sa.select(sa.func.count()).select_from(base.subquery()))
        key = self.table.c.id
        query = base.order_by(key.desc() if newest_first else key).limit(first + 1)
        cursor = parse_cursor(after)
        if cursor is not None:
            query = query.where(key < cursor if newest_first else key > cursor)
        rows = (await self.session.execute(query)).all()
        entities = await self._entities(rows[:first])
        return Page(
            items=entities,
            end_cursor=str(entities[-1].id) if entities else None,
            has_next=len(rows) > first,
            total=total or 0,
        )

    def tracked(self) -> list[E]:
        return [*self._new, *self._tracked.values()]

    async def flush(self) -> None:
        if self._new:
            for part in chunks([self._values(e) for e in self._new]):
                await self.session.execute(sa.insert(self.table), list(part))
        for entity in self._tracked.values():
            if self._unchanged(entity):
                continue
            values = self._update_values(entity)
            await self.session.execute(
                sa.update(self.table).where(self.table.c.id == entity.id).values(values)
            )
        await self._flush_children()
        self._tracked.update({e.id: e for e in self._new})
        self._new.clear()

    def _unchanged(self, entity: E) -> bool:
        """True when the entity is known to equal its stored row: flush then skips its UPDATE."""
        return False

    async def _flush_children(self) -> None:
        return None


class SqlWardRepository(_Repository[Ward]):
    table = ward_t
    scope_column = "id"

    def _values(self, entity: Ward) -> dict:
        return mappers.ward_values(entity)

    async def _entities(self, rows: Sequence[Any]) -> list[Ward]:
        return [mappers.ward_from_row(row) for row in rows]

    async def page(
        self, filter: WardFilter, *, scope: Scope, after: str | None, first: int
    ) -> Page[Ward]:
        conditions = []
        if filter.text:
            conditions.append(contains_folded(ward_t.c.name_folded, filter.text))
        if filter.parent_id:
            conditions.append(ward_t.c.parent_id == filter.parent_id)
        return await self._page(conditions, scope=scope, after=after, first=first)

    async def by_code(self, code: str) -> Ward | None:
        row = (await self.session.execute(sa.select(ward_t).where(ward_t.c.code == code))).first()
        return (await self._entities([row]))[0] if row else None

    async def descendants(self, ward_ids: Sequence[WardId]) -> set[WardId]:
        if not ward_ids:
            return set()
        tree = (
            sa.select(ward_t.c.id)
            .where(ward_t.c.parent_id.in_(list(ward_ids)))
            .cte("below", recursive=True)
        )
        tree = tree.union(sa.select(ward_t.c.id).where(ward_t.c.parent_id == tree.c.id))
        rows = await self.session.scalars(sa.select(tree.c.id))
        return {WardId(r) for r in rows}

    async def ancestors(self, ward_id: WardId) -> list[WardId]:
        chain: list[WardId] = []
        current: uuid.UUID | None = ward_id
        # Depth is a handful of levels (ward, district, province); a loop is refused on write.
        while current is not None and len(chain) < 64:
            current = await self.session.scalar(
                sa.select(ward_t.c.parent_id).where(ward_t.c.id == current)
            )
            if current is not None:
                chain.append(WardId(current))
        return chain


class SqlGroupRepository(_Repository[Group]):
    table = group_t

    def _values(self, entity: Group) -> dict:
        return mappers.group_values(entity)

    async def _entities(self, rows: Sequence[Any]) -> list[Group]:
        return [mappers.group_from_row(row) for row in rows]

    async def page(
        self, filter: GroupFilter, *, scope: Scope, after: str | None, first: int
    ) -> Page[Group]:
        conditions = []
        if filter.ward_ids:
            conditions.append(group_t.c.ward_id.in_(list(filter.ward_ids)))
        if filter.channels:
            conditions.append(group_t.c.channel.in_([c.value for c in filter.channels]))
        if filter.text:
            conditions.append(contains_folded(group_t.c.name_folded, filter.text))
        if not filter.include_archived:
            conditions.append(group_t.c.archived_at.is_(None))
        return await self._page(conditions, scope=scope, after=after, first=first)

    async def by_external_id(self, channel: ChannelKind, external_id: str) -> Group | None:
        query = sa.select(group_t).where(
            group_t.c.channel == channel.value, group_t.c.external_id == external_id
        )
        row = (await self.session.execute(query)).first()
        return (await self._entities([row]))[0] if row else None

    async def member_counts(self, ids: Sequence[GroupId]) -> list[int]:
        counts: dict[uuid.UUID, int] = {}
        for part in chunks(list(dict.fromkeys(ids))):
            query = (
                sa.select(membership_t.c.group_id, sa.func.count())
                .where(membership_t.c.group_id.in_(part))
                .group_by(membership_t.c.group_id)
            )
            counts.update({g: n for g, n in (await self.session.execute(query)).all()})
        return [counts.get(i, 0) for i in ids]

    async def active_in_wards(self, ward_ids: Sequence[WardId]) -> list[Group]:
        groups: list[Group] = []
        for part in chunks(list(dict.fromkeys(ward_ids))):
            query = (
                sa.select(group_t)
                .where(group_t.c.ward_id.in_(part), group_t.c.archived_at.is_(None))
                .order_by(group_t.c.id)
            )
            groups.extend(await self._entities((await self.session.execute(query)).all()))
        return groups

    async def ids_in_ward(self, ward_id: WardId) -> dict[str, GroupId]:
        query = sa.select(group_t.c.external_id, group_t.c.id).where(
            group_t.c.ward_id == ward_id, group_t.c.archived_at.is_(None)
        )
        return {ext: GroupId(gid) for ext, gid in (await self.session.execute(query)).all()}


class SqlMemberRepository(_Repository[Member]):
    table = member_t

    def _values(self, entity: Member) -> dict:
        return mappers.member_values(entity)

    async def _entities(self, rows: Sequence[Any]) -> list[Member]:
        ids = [row.id for row in rows]
        groups: dict[uuid.UUID, list[GroupId]] = defaultdict(list)
        identities: dict[uuid.UUID, list[ChannelIdentity]] = defaultdict(list)
        for part in chunks(ids):
            query = sa.select(membership_t.c.member_id, membership_t.c.group_id).where(
                membership_t.c.member_id.in_(part)
            )
            for member_id, group_id in (await self.session.execute(query)).all():
                groups[member_id].append(GroupId(group_id))
            query = sa.select(identity_t).where(identity_t.c.member_id.in_(part))
            for row in (await self.session.execute(query)).all():
                identities[row.member_id].append(
                    ChannelIdentity(Platform(row.platform), row.external_id)
                )
        return [
            mappers.member_from_row(
                row,
                sorted(groups[row.id]),
                identities[row.id],
            )
            for row in rows
        ]

    async def page(
        self, filter: MemberFilter, *, scope: Scope, after: str | None, first: int
    ) -> Page[Member]:
        conditions: list[sa.ColumnElement[bool]] = [member_t.c.removed_at.is_(None)]
        if filter.ward_ids:
            conditions.append(member_t.c.ward_id.in_(list(filter.ward_ids)))
        if filter.text:
            conditions.append(contains_folded(member_t.c.name_folded, filter.text))
        if filter.phone:
            conditions.append(member_t.c.phone == filter.phone)
        if filter.group_ids:
            conditions.append(
                member_t.c.id.in_(
                    sa.select(membership_t.c.member_id).where(
                        membership_t.c.group_id.in_(list(filter.group_ids))
                    )
                )
            )
        if filter.roles:
            holders = sa.select(grant_t.c.member_id).where(
                grant_t.c.role.in_([r.value for r in filter.roles])
            )
            if not scope.everything:
                holders = holders.where(grant_t.c.ward_id.in_(list(scope.wards)))
            conditions.append(member_t.c.id.in_(holders))
        return await self._page(conditions, scope=scope, after=after, first=first)

    async def is_active(self, member_id: MemberId) -> bool:
        found = await self.session.scalar(
            sa.select(member_t.c.id).where(
                member_t.c.id == member_id, member_t.c.removed_at.is_(None)
            )
        )
        return found is not None

    async def by_phone(self, ward_id: WardId, phone: str) -> Member | None:
        return (await self.by_phones(ward_id, [phone])).get(phone)

    async def by_phones(self, ward_id: WardId, phones: Sequence[str]) -> dict[str, Member]:
        found: dict[str, Member] = {}
        for part in chunks(list(dict.fromkeys(phones))):
            query = sa.select(member_t).where(
                member_t.c.ward_id == ward_id,
                member_t.c.phone.in_(part),
                member_t.c.removed_at.is_(None),
            )
            rows = (await self.session.execute(query)).all()
            found.update({m.phone: m for m in await self._entities(rows) if m.phone})
        return found

    async def by_channel_id(self, platform: Platform, external_id: str) -> Member | None:
        query = (
            sa.select(member_t)
            .join(identity_t, identity_t.c.member_id == member_t.c.id)
            .where(identity_t.c.platform == platform.value, identity_t.c.external_id == external_id)
        )
        row = (await self.session.execute(query)).first()
        return (await self._entities([row]))[0] if row else None

    async def by_channel_ids(
        self, platform: Platform, external_ids: Sequence[str]
    ) -> dict[str, Member]:
        found: dict[str, Member] = {}
        for part in chunks(list(dict.fromkeys(external_ids))):
            query = (
                sa.select(member_t, identity_t.c.external_id.label("identity_external_id"))
                .join(identity_t, identity_t.c.member_id == member_t.c.id)
                .where(identity_t.c.platform == platform.value, identity_t.c.external_id.in_(part))
            )
            rows = (await self.session.execute(query)).all()
            members = await self._entities(rows)
            found.update(
                {row.identity_external_id: m for row, m in zip(rows, members, strict=True)}
            )
        return found

    async def ids_by_group(
        self, group_ids: Sequence[GroupId], *, limit: int
    ) -> list[list[MemberId]]:
        """The first `limit` active members of each group, in one statement per chunk of groups."""
        ranked = (
            sa.select(
                membership_t.c.group_id,
                membership_t.c.member_id,
                sa.func.row_number()
                .over(partition_by=membership_t.c.group_id, order_by=membership_t.c.member_id)
                .label("n"),
            )
            .join(member_t, member_t.c.id == membership_t.c.member_id)
            .where(member_t.c.removed_at.is_(None))
        )
        found: dict[uuid.UUID, list[MemberId]] = defaultdict(list)
        for part in chunks(list(dict.fromkeys(group_ids))):
            sub = ranked.where(membership_t.c.group_id.in_(part)).subquery()
            query = (
                sa.select(sub.c.group_id, sub.c.member_id)
                .where(sub.c.n <= limit)
                .order_by(sub.c.group_id, sub.c.member_id)
            )
            for group_id, member_id in (await self.session.execute(query)).all():
                found[group_id].append(MemberId(member_id))
        return [found.get(g, []) for g in group_ids]

    async def _flush_children(self) -> None:
        members = self.tracked()
        if not members:
            return
        existing = [m.id for m in self._tracked.values()]
        for part in chunks(existing):
            await self.session.execute(
                sa.delete(membership_t).where(membership_t.c.member_id.in_(part))
            )
            await self.session.execute(
                sa.delete(identity_t).where(identity_t.c.member_id.in_(part))
            )
        links = [{"group_id": g, "member_id": m.id} for m in members for g in m.group_ids]
        for part in chunks(links):
            await self.session.execute(sa.insert(membership_t), list(part))
        identities = [
            {"platform": i.platform.value, "external_id": i.external_id, "member_id": m.id}
            for m in members
            for i in m.identities
        ]
        for part in chunks(identities):
            await self.session.execute(sa.insert(identity_t), list(part))


class SqlRoleRepository:
    """Grants are buffered until flush, because they may point at members added in the same unit."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._pending: list[tuple[MemberId, RoleGrant]] = []

    async def grants_of(self, member_id: MemberId) -> list[RoleGrant]:
        return (await self.grants_of_many([member_id]))[0]

    async def grants_of_many(self, member_ids: Sequence[MemberId]) -> list[list[RoleGrant]]:
        found: dict[uuid.UUID, list[RoleGrant]] = defaultdict(list)
        for part in chunks(list(dict.fromkeys(member_ids))):
            query = (
                sa.select(grant_t)
                .where(grant_t.c.member_id.in_(part))
                .order_by(grant_t.c.ward_id, grant_t.c.role)
            )
            for row in (await self.session.execute(query)).all():
                found[row.member_id].append(RoleGrant(WardId(row.ward_id), Role(row.role)))
        for member_id, grant in self._pending:
            found[member_id].append(grant)
        return [found.get(m, []) for m in member_ids]

    async def grant(self, member_id: MemberId, grant: RoleGrant) -> bool:
        if grant in await self.grants_of(member_id):
            return False
        self._pending.append((member_id, grant))
        return True

    async def grant_many(self, grants: Sequence[tuple[MemberId, RoleGrant]]) -> None:
        self._pending.extend(grants)

    async def revoke(self, member_id: MemberId, grant: RoleGrant) -> bool:
        if (member_id, grant) in self._pending:
            self._pending.remove((member_id, grant))
            return True
        result = await self.session.execute(
            sa.delete(grant_t).where(
                grant_t.c.member_id == member_id,
                grant_t.c.ward_id == grant.ward_id,
                grant_t.c.role == grant.role.value,
            )
        )
        return bool(result.rowcount)

    async def holders(self, ward_id: WardId, role: Role) -> list[MemberId]:
        query = sa.select(grant_t.c.member_id).where(
            grant_t.c.ward_id == ward_id, grant_t.c.role == role.value
        )
        return [MemberId(m) for m in await self.session.scalars(query)]

    async def flush(self) -> None:
        rows = [
            {"member_id": m, "ward_id": g.ward_id, "role": g.role.value} for m, g in self._pending
        ]
        for part in chunks(rows):
            await self.session.execute(sa.insert(grant_t), list(part))
        self._pending.clear()
