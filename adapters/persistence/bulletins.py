"""Repositories of bulletins and of their deliveries (the outbox the workers claim from)."""

from __future__ import annotations

import dataclasses
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from adapters.persistence import mappers
from adapters.persistence.repositories import (
    _Repository,
    chunks,
    contains_folded,
    lock_for_write,
    parse_cursor,
)
from adapters.persistence.tables import (
    BulletinAttachmentRow,
    BulletinRow,
    BulletinTargetGroupRow,
    BulletinTargetWardRow,
    BulletinTransitionRow,
    DeliveryReachRow,
    DeliveryRow,
)
from domain.access import Scope
from domain.bulletin import Attachment, Bulletin, BulletinStatus
from domain.delivery import Delivery, DeliveryStatus
from domain.ids import BulletinId, DeliveryId, GroupId, WardId
from domain.ports import BulletinFilter, Page, Reach

bulletin_t = BulletinRow.__table__
attachment_t = BulletinAttachmentRow.__table__
target_group_t = BulletinTargetGroupRow.__table__
target_ward_t = BulletinTargetWardRow.__table__
transition_t = BulletinTransitionRow.__table__
delivery_t = DeliveryRow.__table__
reach_t = DeliveryReachRow.__table__


class SqlBulletinRepository(_Repository[Bulletin]):
    table = bulletin_t

    def __init__(self, session: Any) -> None:
        super().__init__(session)
        self._stored_history: dict[uuid.UUID, int] = {}

    def _values(self, entity: Bulletin) -> dict:
        return mappers.bulletin_values(entity)

    async def _entities(self, rows: Sequence[Any]) -> list[Bulletin]:
        ids = [row.id for row in rows]
        attachments: dict[uuid.UUID, list] = defaultdict(list)
        groups: dict[uuid.UUID, list[GroupId]] = defaultdict(list)
        wards: dict[uuid.UUID, list[WardId]] = defaultdict(list)
        history: dict[uuid.UUID, list] = defaultdict(list)
        for part in chunks(ids):
            query = (
                sa.select(attachment_t)
                .where(attachment_t.c.bulletin_id.in_(part))
                .order_by(attachment_t.c.bulletin_id, attachment_t.c.position)
            )
            for row in (await self.session.execute(query)).all():
                attachments[row.bulletin_id].append(mappers.attachment_from_row(row))
            query = sa.select(target_group_t).where(target_group_t.c.bulletin_id.in_(part))
            for row in (await self.session.execute(query)).all():
                groups[row.bulletin_id].append(GroupId(row.group_id))
            query = sa.select(target_ward_t).where(target_ward_t.c.bulletin_id.in_(part))
            for row in (await self.session.execute(query)).all():
                wards[row.bulletin_id].append(WardId(row.ward_id))
            query = (
                sa.select(transition_t)
                .where(transition_t.c.bulletin_id.in_(part))
                .order_by(transition_t.c.bulletin_id, transition_t.c.seq)
            )
            for row in (await self.session.execute(query)).all():
                history[row.bulletin_id].append(mappers.transition_from_row(row))
        entities = []
        for row in rows:
            self._stored_history[row.id] = len(history[row.id])
            entities.append(
                mappers.bulletin_from_row(
                    row,
                    attachments=attachments[row.id],
                    group_ids=sorted(groups[row.id]),
                    ward_ids=sorted(wards[row.id]),
                    history=history[row.id],
                )
            )
        return entities

    async def page(
        self, filter: BulletinFilter, *, scope: Scope, after: str | None, first: int
    ) -> Page[Bulletin]:
        c = bulletin_t.c
        conditions: list[sa.ColumnElement[bool]] = []
        if filter.ward_ids:
            conditions.append(c.ward_id.in_(list(filter.ward_ids)))
        if filter.kinds:
            conditions.append(c.kind.in_([k.value for k in filter.kinds]))
        if filter.statuses:
            conditions.append(c.status.in_([s.value for s in filter.statuses]))
        if filter.text:
            conditions.append(contains_folded(c.search_folded, filter.text))
        if filter.created_from:
            conditions.append(c.created_at >= filter.created_from)
        if filter.created_to:
            conditions.append(c.created_at < filter.created_to)
        return await self._page(
            conditions, scope=scope, after=after, first=first, newest_first=filter.newest_first
        )

    async def public_attachment(self, blob_key: str) -> Attachment | None:
        shown = [
            s.value
            for s in (
                BulletinStatus.PUBLISHING,
                BulletinStatus.PUBLISHED,
                BulletinStatus.PARTIALLY_FAILED,
            )
        ]
        query = (
            sa.select(attachment_t)
            .join(bulletin_t, bulletin_t.c.id == attachment_t.c.bulletin_id)
            .where(attachment_t.c.blob_key == blob_key, bulletin_t.c.status.in_(shown))
            .limit(1)
        )
        row = (await self.session.execute(query)).first()
        return mappers.attachment_from_row(row) if row else None

    async def _flush_children(self) -> None:
        bulletins = self.tracked()
        if not bulletins:
            return
        ids = [b.id for b in bulletins]
        for part in chunks(ids):
            for table in (attachment_t, target_group_t, target_ward_t):
                await self.session.execute(sa.delete(table).where(table.c.bulletin_id.in_(part)))
        attachments = [
            mappers.attachment_values(b.id, i, a)
            for b in bulletins
            for i, a in enumerate(b.attachments)
        ]
        groups = [
            {"bulletin_id": b.id, "group_id": g} for b in bulletins for g in b.target_group_ids
        ]
        wards = [{"bulletin_id": b.id, "ward_id": w} for b in bulletins for w in b.target_ward_ids]
        # History only grows: write the steps taken since the bulletin was loaded.
        steps = [
            mappers.transition_values(b.id, seq, step)
            for b in bulletins
            for seq, step in enumerate(b.history)
            if seq >= self._stored_history.get(b.id, 0)
        ]
        for table, rows in (
            (attachment_t, attachments),
            (target_group_t, groups),
            (target_ward_t, wards),
            (transition_t, steps),
        ):
            for part in chunks(rows):
                await self.session.execute(sa.insert(table), list(part))
        for b in bulletins:
            self._stored_history[b.id] = len(b.history)


class SqlDeliveryRepository(_Repository[Delivery]):
    table = delivery_t

    def __init__(self, session: Any, now: Any) -> None:
        super().__init__(session)
        self._now = now
        self._removed: list[Delivery] = []
        # Deliveries tracked by of_bulletin_for_update, each with a copy of itself as loaded.
        self._loaded: dict[uuid.UUID, tuple[Delivery, Delivery]] = {}

    def _values(self, entity: Delivery) -> dict:
        values = mappers.delivery_values(entity, self._now())
        values.setdefault("created_at", values["updated_at"])
        return values

    def _update_values(self, entity: Delivery) -> dict:
        return mappers.delivery_values(entity, self._now())

    def _unchanged(self, entity: Delivery) -> bool:
        # Settling a bulletin loads all its deliveries under lock to read their statuses; writing
        # the unchanged ones back made every recorded outcome rewrite the whole fan-out. The row
        # is a function of the fields a Delivery compares (all but `events`): equal is unchanged.
        loaded = self._loaded.get(entity.id)
        if loaded is None or loaded[0] is not entity:
            return False
        if entity == loaded[1]:
            return True
        # Written now: this is the stored row from here on.
        self._loaded[entity.id] = (entity, _copy(entity))
        return False

    async def _entities(self, rows: Sequence[Any]) -> list[Delivery]:
        return [mappers.delivery_from_row(row) for row in rows]

    def _scoped(self, query: sa.Select, scope: Scope) -> sa.Select:
        # A delivery belongs to the ward of its bulletin.
        if scope.everything:
            return query
        if not scope.wards:
            return query.where(sa.false())
        visible = sa.select(bulletin_t.c.id).where(bulletin_t.c.ward_id.in_(list(scope.wards)))
        return query.where(delivery_t.c.bulletin_id.in_(visible))

    async def get(
        self, id: uuid.UUID, *, scope: Scope, for_update: bool = False
    ) -> Delivery | None:
        if id in self._tracked and not scope.everything:
            (visible,) = await self.get_many([id], scope=scope)
            return self._tracked[id] if visible else None
        return await super().get(id, scope=scope, for_update=for_update)

    async def of_bulletins(
        self, bulletin_ids: Sequence[BulletinId], *, scope: Scope
    ) -> list[list[Delivery]]:
        found: dict[uuid.UUID, list[Delivery]] = defaultdict(list)
        for part in chunks(list(dict.fromkeys(bulletin_ids))):
            query = self._scoped(
                sa.select(delivery_t).where(delivery_t.c.bulletin_id.in_(part)), scope
            ).order_by(delivery_t.c.id)
            for delivery in await self._entities((await self.session.execute(query)).all()):
                found[delivery.bulletin_id].append(delivery)
        return [found.get(b, []) for b in bulletin_ids]

    async def of_bulletin_for_update(self, bulletin_id: BulletinId) -> list[Delivery]:
        query = sa.select(delivery_t).where(delivery_t.c.bulletin_id == bulletin_id)
        if self._postgres:
            query = query.with_for_update()
        else:
            await lock_for_write(self.session, delivery_t)
        deliveries = await self._entities(
            (await self.session.execute(query.order_by(delivery_t.c.id))).all()
        )
        result = []
        for delivery in deliveries:
            tracked = self._tracked.setdefault(delivery.id, delivery)
            if tracked is delivery:
                self._loaded[delivery.id] = (delivery, _copy(delivery))
            result.append(tracked)
        return result

    async def statuses_of(self, bulletin_id: BulletinId) -> list[DeliveryStatus]:
        query = sa.select(delivery_t.c.id, delivery_t.c.status).where(
            delivery_t.c.bulletin_id == bulletin_id
        )
        statuses = {
            row.id: DeliveryStatus(row.status) for row in (await self.session.execute(query)).all()
        }
        removed = {d.id for d in self._removed}
        for delivery in [*self._new, *self._tracked.values()]:
            if delivery.bulletin_id == bulletin_id:
                statuses[delivery.id] = delivery.status
        return [status for key, status in statuses.items() if key not in removed]

    async def claim_due(self, now: datetime, limit: int) -> list[Delivery]:
        c = delivery_t.c
        due = sa.or_(
            sa.and_(
                c.status.in_([DeliveryStatus.PENDING.value, DeliveryStatus.FAILED.value]),
                c.next_attempt_at <= now,
            ),
            sa.and_(c.status == DeliveryStatus.SENDING.value, c.lease_expires_at <= now),
        )
        query = sa.select(delivery_t).where(due).order_by(c.next_attempt_at, c.id).limit(limit)
        if self._postgres:
            # Each worker takes rows nobody else holds; a busy row is skipped, not waited for.
            # The bulletin is locked together with its deliveries, bulletin first as every other
            # writer does: waiting for the bulletin while holding deliveries deadlocked against
            # a worker recording an outcome of the same bulletin.
            query = query.select_from(
                bulletin_t.join(delivery_t, delivery_t.c.bulletin_id == bulletin_t.c.id)
            ).with_for_update(skip_locked=True, of=[bulletin_t, delivery_t])
        else:
            # Otherwise two workers would claim (and send) the same rows.
            await lock_for_write(self.session, delivery_t)
        deliveries = await self._entities((await self.session.execute(query)).all())
        for delivery in deliveries:
            self._tracked[delivery.id] = delivery
        return deliveries

    def remove(self, delivery: Delivery) -> None:
        self._tracked.pop(delivery.id, None)
        self._removed.append(delivery)

    async def flush(self) -> None:
        for part in chunks([d.id for d in self._removed]):
            await self.session.execute(sa.delete(reach_t).where(reach_t.c.delivery_id.in_(part)))
            await self.session.execute(sa.delete(delivery_t).where(delivery_t.c.id.in_(part)))
        self._removed.clear()
        await super().flush()

    async def sent_between(
        self, start: datetime, end: datetime, *, after: str | None, limit: int
    ) -> list[Delivery]:
        c = delivery_t.c
        query = sa.select(delivery_t).where(
            c.status == DeliveryStatus.SENT.value,
            c.sandbox.is_(False),
            c.sent_at >= start,
            c.sent_at < end,
        )
        cursor = parse_cursor(after)
        if cursor is not None:
            query = query.where(c.id > cursor)
        rows = (await self.session.execute(query.order_by(c.id).limit(limit))).all()
        return await self._entities(rows)

    async def record_reach(self, delivery_id: DeliveryId, reach: Reach, at: datetime) -> None:
        values = {
            "views": reach.views,
            "reactions": reach.reactions,
            "shares": reach.shares,
            "comments": reach.comments,
            "fetched_at": at,
        }
        updated = await self.session.execute(
            sa.update(reach_t).where(reach_t.c.delivery_id == delivery_id).values(**values)
        )
        if updated.rowcount == 0:
            await self.session.execute(sa.insert(reach_t).values(delivery_id=delivery_id, **values))

    async def reach_many(self, ids: Sequence[DeliveryId]) -> list[Reach | None]:
        found: dict[uuid.UUID, Reach] = {}
        for part in chunks(list(dict.fromkeys(ids))):
            rows = (
                await self.session.execute(
                    sa.select(reach_t).where(reach_t.c.delivery_id.in_(part))
                )
            ).all()
            found.update(
                {r.delivery_id: Reach(r.views, r.reactions, r.shares, r.comments) for r in rows}
            )
        return [found.get(i) for i in ids]


def _copy(delivery: Delivery) -> Delivery:
    """A copy that later changes to `delivery` leave alone (transitions are immutable)."""
    return dataclasses.replace(delivery, history=list(delivery.history), events=[])
