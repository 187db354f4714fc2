"""Repositories of tips (with their history, files, threads and sealed reporters) and the audit log."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.persistence import mappers
from adapters.persistence.repositories import (
    _Repository,
    chunks,
    contains_folded,
)
from adapters.persistence.tip_tables import (
    AuditLogRow,
    ReporterIdentityRow,
    TipAttachmentRow,
    TipMessageRow,
    TipRow,
    TipTransitionRow,
)
from domain.access import Scope
from domain.ids import TipId
from domain.ports import AuditEntry, AuditFilter, Page, SealedReporter, TipFilter
from domain.reporter import ReporterId, TipSource
from domain.tip import OPEN, MessageDirection, Tip, TipMessage

tip_t = TipRow.__table__
transition_t = TipTransitionRow.__table__
attachment_t = TipAttachmentRow.__table__
message_t = TipMessageRow.__table__
reporter_t = ReporterIdentityRow.__table__
audit_t = AuditLogRow.__table__

_OPEN = [s.value for s in OPEN]


class SqlTipRepository(_Repository[Tip]):
    table = tip_t

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session)
        self._stored_history: dict[uuid.UUID, int] = {}
        self._reporters: list[SealedReporter] = []
        self._messages: list[TipMessage] = []

    def _values(self, entity: Tip) -> dict:
        return mappers.tip_values(entity)

    async def _entities(self, rows: Sequence[Any]) -> list[Tip]:
        ids = [row.id for row in rows]
        attachments: dict[uuid.UUID, list] = defaultdict(list)
        history: dict[uuid.UUID, list] = defaultdict(list)
        for part in chunks(ids):
            query = (
                sa.select(attachment_t)
                .where(attachment_t.c.tip_id.in_(part))
                .order_by(attachment_t.c.tip_id, attachment_t.c.position)
            )
            for row in (await self.session.execute(query)).all():
                attachments[row.tip_id].append(mappers.attachment_from_row(row))
            query = (
                sa.select(transition_t)
                .where(transition_t.c.tip_id.in_(part))
                .order_by(transition_t.c.tip_id, transition_t.c.seq)
            )
            for row in (await self.session.execute(query)).all():
                history[row.tip_id].append(mappers.transition_from_row(row))
        tips = []
        for row in rows:
            self._stored_history[row.id] = len(history[row.id])
            tips.append(
                mappers.tip_from_row(row, attachments=attachments[row.id], history=history[row.id])
            )
        return tips

    async def page(
        self, filter: TipFilter, *, scope: Scope, after: str | None, first: int
    ) -> Page[Tip]:
        c = tip_t.c
        conditions: list[sa.ColumnElement[bool]] = []
        if filter.ward_ids:
            conditions.append(c.ward_id.in_(list(filter.ward_ids)))
        if filter.categories:
            conditions.append(c.category.in_([k.value for k in filter.categories]))
        if filter.statuses:
            conditions.append(c.status.in_([s.value for s in filter.statuses]))
        if filter.assignee_ids:
            conditions.append(c.assignee_id.in_(list(filter.assignee_ids)))
        if filter.overdue is not None:
            if filter.now is None:
                raise ValueError("an overdue filter needs `now`")
            late = sa.and_(c.status.in_(_OPEN), c.due_at.is_not(None), c.due_at <= filter.now)
            conditions.append(late if filter.overdue else sa.not_(late))
        if filter.text:
            conditions.append(contains_folded(c.body_folded, filter.text))
        if filter.received_from:
            conditions.append(c.received_at >= filter.received_from)
        if filter.received_to:
            conditions.append(c.received_at < filter.received_to)
        return await self._page(
            conditions, scope=scope, after=after, first=first, newest_first=filter.newest_first
        )

    async def by_tracking_code(self, code: str) -> Tip | None:
        row = (
            await self.session.execute(sa.select(tip_t).where(tip_t.c.tracking_code == code))
        ).first()
        return (await self._entities([row]))[0] if row else None

    async def open_for_reporter(self, lookup_hashes: Sequence[str]) -> list[Tip]:
        if not lookup_hashes:
            return []
        query = (
            sa.select(tip_t)
            .join(reporter_t, reporter_t.c.id == tip_t.c.reporter_id)
            .where(reporter_t.c.lookup_hash.in_(list(lookup_hashes)), tip_t.c.status.in_(_OPEN))
            .order_by(tip_t.c.id.desc())
        )
        return await self._entities((await self.session.execute(query)).all())

    async def overdue(self, now: datetime, limit: int) -> list[Tip]:
        c = tip_t.c
        due = sa.and_(
            c.status.in_(_OPEN), c.due_at.is_not(None), c.due_at <= now, c.escalated_at.is_(None)
        )
        return await self._claim(due, (c.due_at, c.id), limit)

    def add_reporter(self, reporter: SealedReporter) -> None:
        self._reporters.append(reporter)

    async def reporter(self, reporter_id: ReporterId) -> SealedReporter | None:
        for pending in self._reporters:
            if pending.id == reporter_id:
                return pending
        row = (
            await self.session.execute(sa.select(reporter_t).where(reporter_t.c.id == reporter_id))
        ).first()
        return mappers.sealed_reporter_from_row(row) if row else None

    def add_message(self, message: TipMessage) -> None:
        self._messages.append(message)

    async def messages_of(
        self, tip_ids: Sequence[TipId], *, scope: Scope
    ) -> list[list[TipMessage]]:
        found: dict[uuid.UUID, list[TipMessage]] = defaultdict(list)
        for part in chunks(list(dict.fromkeys(tip_ids))):
            query = sa.select(message_t).where(message_t.c.tip_id.in_(part))
            if not scope.everything:
                visible = sa.select(tip_t.c.id).where(
                    tip_t.c.id.in_(part), tip_t.c.ward_id.in_(list(scope.wards))
                )
                query = query.where(message_t.c.tip_id.in_(visible))
            query = query.order_by(message_t.c.tip_id, message_t.c.at, message_t.c.id)
            for row in (await self.session.execute(query)).all():
                found[row.tip_id].append(mappers.tip_message_from_row(row))
        return [found.get(t, []) for t in tip_ids]

    async def message_by_external_id(
        self, channel: TipSource, external_message_id: str
    ) -> TipMessage | None:
        for pending in self._messages:
            if (pending.channel, pending.external_message_id) == (channel, external_message_id):
                return pending
        query = sa.select(message_t).where(
            message_t.c.channel == TipSource(channel).value,
            message_t.c.external_message_id == external_message_id,
        )
        row = (await self.session.execute(query)).first()
        return mappers.tip_message_from_row(row) if row else None

    async def last_inbound_at(self, tip_id: TipId) -> datetime | None:
        query = sa.select(sa.func.max(message_t.c.at)).where(
            message_t.c.tip_id == tip_id, message_t.c.direction == MessageDirection.IN.value
        )
        return mappers.utc(await self.session.scalar(query))

    async def flush(self) -> None:
        # Parents first: a tip points at its sealed reporter; messages point at their tip.
        rows = [mappers.sealed_reporter_values(r) for r in self._reporters]
        for part in chunks(rows):
            await self.session.execute(sa.insert(reporter_t), list(part))
        self._reporters.clear()
        await super().flush()
        rows = [mappers.tip_message_values(m) for m in self._messages]
        for part in chunks(rows):
            await self.session.execute(sa.insert(message_t), list(part))
        self._messages.clear()

    async def _flush_children(self) -> None:
        # Files come with the tip and never change; history only grows.
        files = [
            mappers.tip_attachment_values(t.id, i, a)
            for t in self._new
            for i, a in enumerate(t.attachments)
        ]
        tips = self.tracked()
        steps = [
            mappers.tip_transition_values(t.id, seq, step)
            for t in tips
            for seq, step in enumerate(t.history)
            if seq >= self._stored_history.get(t.id, 0)
        ]
        for table, rows in ((attachment_t, files), (transition_t, steps)):
            for part in chunks(rows):
                await self.session.execute(sa.insert(table), list(part))
        for t in tips:
            self._stored_history[t.id] = len(t.history)


class SqlAuditLog:
    """Append-only: entries are written with the unit of work's commit, never changed."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._pending: list[AuditEntry] = []

    def record(self, entry: AuditEntry) -> None:
        self._pending.append(entry)

    async def page(
        self, filter: AuditFilter, *, scope: Scope, after: str | None, first: int
    ) -> Page[AuditEntry]:
        c = audit_t.c
        conditions: list[sa.ColumnElement[bool]] = []
        if not scope.everything:
            conditions.append(c.ward_id.in_(list(scope.wards)) if scope.wards else sa.false())
        if filter.ward_ids:
            conditions.append(c.ward_id.in_(list(filter.ward_ids)))
        if filter.actions:
            conditions.append(c.action.in_(list(filter.actions)))
        if filter.subject_ids:
            conditions.append(c.subject_id.in_(list(filter.subject_ids)))
        if filter.actor_ids:
            conditions.append(c.actor_id.in_(list(filter.actor_ids)))
        if filter.at_from:
            conditions.append(c.at >= filter.at_from)
        if filter.at_to:
            conditions.append(c.at < filter.at_to)
        base = sa.select(audit_t).where(*conditions)
        total = await self.session.scalar(sa.select(sa.func.count()).select_from(base.subquery()))
        query = base.order_by(c.id.desc()).limit(first + 1)
        if after is not None:
            query = query.where(c.id < uuid.UUID(after))
        rows = (await self.session.execute(query)).all()
        entries = [mappers.audit_from_row(r) for r in rows[:first]]
        return Page(
            items=entries,
            end_cursor=str(entries[-1].id) if entries else None,
            has_next=len(rows) > first,
            total=total or 0,
        )

    async def flush(self) -> None:
        rows = [mappers.audit_values(e) for e in self._pending]
        for part in chunks(rows):
            await self.session.execute(sa.insert(audit_t), list(part))
        self._pending.clear()
