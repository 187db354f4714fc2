"""Repositories of the knowledge base and of inquiries, with their histories."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.persistence import mappers
from adapters.persistence.inquiry_tables import (
    InquiryRow,
    InquiryTransitionRow,
    ProcedureRevisionRow,
    ProcedureRow,
    ProcedureTransitionRow,
)
from adapters.persistence.repositories import _Repository, chunks, contains_folded
from adapters.persistence.tip_tables import ReporterIdentityRow
from domain.access import Scope
from domain.ids import GroupId, InquiryId, MemberId, WardId
from domain.inquiry import OPEN, Department, Inquiry, InquiryStatus
from domain.ports import InquiryFilter, Page
from domain.procedure import (
    FilingMethod,
    Procedure,
    ProcedureContent,
    ProcedureId,
    ProcedureStatus,
    RequiredDocument,
)
from domain.reporter import ReporterId, TipSource

procedure_t = ProcedureRow.__table__
revision_t = ProcedureRevisionRow.__table__
procedure_step_t = ProcedureTransitionRow.__table__
inquiry_t = InquiryRow.__table__
inquiry_step_t = InquiryTransitionRow.__table__

_OPEN = [s.value for s in OPEN]


def _late(now: Any) -> sa.ColumnElement[bool]:
    """Open and past the deadline at `now`."""
    c = inquiry_t.c
    return sa.and_(c.status.in_(_OPEN), c.due_at.is_not(None), c.due_at <= now)


def content_json(c: ProcedureContent) -> str:
    return json.dumps(
        {
            "name": c.name,
            "authority": c.authority,
            "who_may_file": c.who_may_file,
            "documents": [{"name": d.name, "form_code": d.form_code} for d in c.documents],
            "filing_methods": [m.value for m in c.filing_methods],
            "time_limit": c.time_limit,
            "fee": c.fee,
            "legal_basis": c.legal_basis,
            "department": c.department.value,
            "summary": c.summary,
            "filing_notes": c.filing_notes,
            "keywords": list(c.keywords),
            "unconfirmed": list(c.unconfirmed),
            "sources": list(c.sources),
        },
        ensure_ascii=False,
    )


def content_from_json(text: str) -> ProcedureContent:
    d = json.loads(text)
    return ProcedureContent(
        name=d["name"],
        authority=d["authority"],
        who_may_file=d["who_may_file"],
        documents=tuple(RequiredDocument(x["name"], x.get("form_code")) for x in d["documents"]),
        filing_methods=tuple(FilingMethod(m) for m in d["filing_methods"]),
        time_limit=d["time_limit"],
        fee=d["fee"],
        legal_basis=d["legal_basis"],
        department=Department(d["department"]),
        summary=d.get("summary", ""),
        filing_notes=d.get("filing_notes", ""),
        keywords=tuple(d.get("keywords", ())),
        unconfirmed=tuple(d.get("unconfirmed", ())),
        sources=tuple(d.get("sources", ())),
    )


def _steps(table: sa.Table, owner: str, owner_id: Any, start: int, history: list) -> list[dict]:
    rows = []
    for seq, step in enumerate(history[start:], start):
        values = mappers.transition_values(owner_id, seq, step)
        del values["bulletin_id"]
        rows.append({owner: owner_id, **values})
    return rows


class _Histories:
    """Loads and appends an entity's transitions; history only ever grows."""

    def __init__(self, session: AsyncSession, table: sa.Table, owner: str) -> None:
        self.session, self.table, self.owner = session, table, owner
        self.stored: dict[uuid.UUID, int] = {}

    async def load(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list]:
        found: dict[uuid.UUID, list] = defaultdict(list)
        column = self.table.c[self.owner]
        for part in chunks(list(ids)):
            query = sa.select(self.table).where(column.in_(part)).order_by(column, self.table.c.seq)
            for row in (await self.session.execute(query)).all():
                found[getattr(row, self.owner)].append(mappers.transition_from_row(row))
        for i in ids:
            self.stored[i] = len(found[i])
        return found

    async def append(self, entities: Sequence[Any]) -> None:
        rows = [
            r
            for e in entities
            for r in _steps(self.table, self.owner, e.id, self.stored.get(e.id, 0), e.history)
        ]
        for part in chunks(rows):
            await self.session.execute(sa.insert(self.table), list(part))
        for e in entities:
            self.stored[e.id] = len(e.history)


class SqlProcedureRepository(_Repository[Procedure]):
    """Articles belong to the whole force, not to a ward: reads are never ward-scoped."""

    table = procedure_t

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session)
        self._history = _Histories(session, procedure_step_t, "procedure_id")
        self._stored_versions: dict[uuid.UUID, int] = {}

    def _scoped(self, query: sa.Select, scope: Scope) -> sa.Select:
        return query

    def _values(self, p: Procedure) -> dict:
        return {
            "id": p.id,
            "code": p.code,
            "status": p.status.value,
            "version": p.version,
            "name": p.content.name,
            "department": p.content.department.value,
            "content": content_json(p.content),
            "updated_at": mappers.utc(p.updated_at),
        }

    async def _entities(self, rows: Sequence[Any]) -> list[Procedure]:
        ids = [r.id for r in rows]
        history = await self._history.load(ids)
        out = []
        for r in rows:
            self._stored_versions[r.id] = r.version
            out.append(
                Procedure(
                    id=ProcedureId(r.id),
                    code=r.code,
                    content=content_from_json(r.content),
                    updated_at=mappers.utc(r.updated_at),
                    status=ProcedureStatus(r.status),
                    version=r.version,
                    history=history[r.id],
                )
            )
        return out

    async def by_code(self, code: str, *, for_update: bool = False) -> Procedure | None:
        row = (
            await self.session.execute(
                sa.select(procedure_t.c.id).where(procedure_t.c.code == code)
            )
        ).first()
        if row is None:
            return None
        return await self.get(row.id, scope=Scope.all(), for_update=for_update)

    async def listed(self, statuses: Sequence[ProcedureStatus] = ()) -> list[Procedure]:
        query = sa.select(procedure_t).order_by(procedure_t.c.code)
        if statuses:
            query = query.where(procedure_t.c.status.in_([s.value for s in statuses]))
        return await self._entities((await self.session.execute(query)).all())

    async def revisions(self, procedure_id: ProcedureId) -> list[ProcedureContent]:
        query = (
            sa.select(revision_t.c.content)
            .where(revision_t.c.procedure_id == procedure_id)
            .order_by(revision_t.c.version)
        )
        return [content_from_json(c) for c in (await self.session.scalars(query)).all()]

    async def fingerprint(self) -> str:
        """Changes whenever any article is added, edited, published or retired."""
        c = procedure_t.c
        count, latest, versions = (
            await self.session.execute(
                sa.select(sa.func.count(), sa.func.max(c.updated_at), sa.func.sum(c.version))
            )
        ).one()
        return f"{count}:{mappers.utc(latest).isoformat() if latest else '-'}:{versions or 0}"

    async def _flush_children(self) -> None:
        procedures = self.tracked()
        rows = []
        for p in procedures:
            stored = self._stored_versions.get(p.id, 0)
            # Revisions hold only what was written since load; older ones are already stored.
            new = p.revisions[-(p.version - stored) :] if p.version > stored else []
            for offset, content in enumerate(new):
                rows.append(
                    {
                        "procedure_id": p.id,
                        "version": stored + offset + 1,
                        "content": content_json(content),
                    }
                )
            self._stored_versions[p.id] = p.version
        for part in chunks(rows):
            await self.session.execute(sa.insert(revision_t), list(part))
        await self._history.append(procedures)


class SqlInquiryRepository(_Repository[Inquiry]):
    table = inquiry_t

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session)
        self._history = _Histories(session, inquiry_step_t, "inquiry_id")

    def _values(self, q: Inquiry) -> dict:
        return {
            "id": q.id,
            "ward_id": q.ward_id,
            "group_id": q.group_id,
            "source": q.source.value,
            "status": q.status.value,
            "question": q.question,
            "question_folded": q.question_folded,
            "procedure_code": q.procedure_code,
            "match_confidence": q.match_confidence,
            "answer": q.answer,
            "answered_by": q.answered_by,
            "department": q.department.value if q.department else None,
            "reopened": q.reopened,
            "asker_member_id": q.asker_member_id,
            "asker_id": q.asker_id,
            "external_message_id": q.external_message_id,
            "received_at": mappers.utc(q.received_at),
            "updated_at": mappers.utc(q.updated_at or q.received_at),
            "due_at": mappers.utc(q.due_at),
            "escalated_at": mappers.utc(q.escalated_at),
        }

    async def _entities(self, rows: Sequence[Any]) -> list[Inquiry]:
        history = await self._history.load([r.id for r in rows])
        return [
            Inquiry(
                id=InquiryId(r.id),
                ward_id=WardId(r.ward_id),
                source=TipSource(r.source),
                question=r.question,
                received_at=mappers.utc(r.received_at),
                status=InquiryStatus(r.status),
                group_id=GroupId(r.group_id) if r.group_id else None,
                asker_member_id=MemberId(r.asker_member_id) if r.asker_member_id else None,
                asker_id=ReporterId(r.asker_id) if r.asker_id else None,
                external_message_id=r.external_message_id,
                match_confidence=r.match_confidence,
                due_at=mappers.utc(r.due_at),
                escalated_at=mappers.utc(r.escalated_at),
                updated_at=mappers.utc(r.updated_at),
                procedure_code=r.procedure_code,
                answer=r.answer,
                answered_by=MemberId(r.answered_by) if r.answered_by else None,
                department=Department(r.department) if r.department else None,
                reopened=r.reopened,
                history=history[r.id],
            )
            for r in rows
        ]

    async def page(
        self, filter: InquiryFilter, *, scope: Scope, after: str | None, first: int
    ) -> Page[Inquiry]:
        c = inquiry_t.c
        conditions: list[sa.ColumnElement[bool]] = []
        if filter.ward_ids:
            conditions.append(c.ward_id.in_(list(filter.ward_ids)))
        if filter.statuses:
            conditions.append(c.status.in_([s.value for s in filter.statuses]))
        if filter.departments:
            conditions.append(c.department.in_([d.value for d in filter.departments]))
        if filter.asker_member_id:
            conditions.append(c.asker_member_id == filter.asker_member_id)
        if filter.overdue is not None:
            if filter.now is None:
                raise ValueError("an overdue filter needs `now`")
            late = _late(filter.now)
            conditions.append(late if filter.overdue else sa.not_(late))
        if filter.escalated is not None:
            raised = sa.and_(c.status.in_(_OPEN), c.escalated_at.is_not(None))
            conditions.append(raised if filter.escalated else sa.not_(raised))
        if filter.text:
            conditions.append(contains_folded(c.question_folded, filter.text))
        if filter.received_from:
            conditions.append(c.received_at >= filter.received_from)
        if filter.received_to:
            conditions.append(c.received_at < filter.received_to)
        return await self._page(
            conditions, scope=scope, after=after, first=first, newest_first=filter.newest_first
        )

    async def by_external_id(self, source: TipSource, external_id: str) -> Inquiry | None:
        for pending in self._new:
            if (pending.source, pending.external_message_id) == (source, external_id):
                return pending
        query = sa.select(inquiry_t).where(
            inquiry_t.c.source == source.value, inquiry_t.c.external_message_id == external_id
        )
        row = (await self.session.execute(query)).first()
        return (await self._entities([row]))[0] if row else None

    async def latest_for_asker(self, lookup_hashes: Sequence[str]) -> Inquiry | None:
        """The most recent inquiry of whoever the keyed hashes of a channel user id name."""
        if not lookup_hashes:
            return None
        reporter_t = ReporterIdentityRow.__table__
        query = (
            sa.select(inquiry_t)
            .join(reporter_t, reporter_t.c.id == inquiry_t.c.asker_id)
            .where(reporter_t.c.lookup_hash.in_(list(lookup_hashes)))
            .order_by(inquiry_t.c.id.desc())
            .limit(1)
        )
        row = (await self.session.execute(query)).first()
        return (await self._entities([row]))[0] if row else None

    async def overdue(self, now: datetime, limit: int) -> list[Inquiry]:
        c = inquiry_t.c
        due = sa.and_(_late(now), c.escalated_at.is_(None))
        return await self._claim(due, (c.due_at, c.id), limit)

    async def _flush_children(self) -> None:
        await self._history.append(self.tracked())
