"""GraphQL types of the knowledge base and of inquiries. Built from domain entities only.

An inquiry never says who asked on a channel: the way back is sealed, like a tip's reporter.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Self

import strawberry
from strawberry import relay

from api.graphql.context import Info
from api.graphql.history import member_of, transition_type
from api.graphql.organisation.types import Group, Member, Ward, _by_ids
from domain.history import Transition
from domain.ids import GroupId, MemberId, WardId
from domain.inquiry import OPEN
from domain.inquiry import Department as DomainDepartment
from domain.inquiry import Inquiry as DomainInquiry
from domain.inquiry import InquiryStatus as DomainInquiryStatus
from domain.procedure import FilingMethod as DomainFilingMethod
from domain.procedure import Procedure as DomainProcedure
from domain.procedure import ProcedureContent
from domain.procedure import ProcedureStatus as DomainProcedureStatus
from domain.reporter import TipSource as DomainTipSource
from domain.services.procedures import can_edit

Department = strawberry.enum(
    DomainDepartment,
    name="Department",
    description="Who answers: administrative management of social order, fire and rescue,"
    " traffic police, immigration, the command information centre, or the ward's officers.",
)
InquiryStatus = strawberry.enum(
    DomainInquiryStatus,
    name="InquiryStatus",
    description="received → auto_answered | routed → answered → closed; reopened once to routed.",
)
ProcedureStatus = strawberry.enum(
    DomainProcedureStatus, name="ProcedureStatus", description="draft → published → retired."
)
FilingMethod = strawberry.enum(
    DomainFilingMethod, name="FilingMethod", description="Where a procedure can be filed."
)
InquirySource = strawberry.enum(
    DomainTipSource,
    name="InquirySource",
    description="Where a question came from, and so where its answer goes.",
)

InquiryTransition = transition_type(
    "InquiryTransition", InquiryStatus, DomainInquiryStatus, "an inquiry's lifecycle"
)
ProcedureTransition = transition_type(
    "ProcedureTransition", ProcedureStatus, DomainProcedureStatus, "a procedure article's life"
)


@strawberry.type(description="A document to bring, with its form code where there is one.")
class RequiredDocument:
    name: str
    form_code: str | None


@strawberry.type(description="What an article said at one version.")
class ProcedureRevision:
    version: int
    name: str
    summary: str
    time_limit: str
    fee: str
    legal_basis: str


@strawberry.type(
    description="A knowledge-base article: one administrative procedure, for residents."
)
class Procedure:
    code: str = strawberry.field(description="Stable slug, e.g. dang_ky_tam_tru.")
    name: str
    status: ProcedureStatus
    version: int
    summary: str
    authority: str = strawberry.field(description="Who handles it.")
    who_may_file: str
    documents: list[RequiredDocument]
    filing_methods: list[FilingMethod]
    filing_notes: str
    time_limit: str
    fee: str
    legal_basis: str
    department: Department
    keywords: list[str] = strawberry.field(description="How residents ask for it.")
    unconfirmed: list[str] = strawberry.field(
        description="Facts the sources could not confirm; answers flag them."
    )
    sources: list[str]
    updated_at: datetime
    link: str = strawberry.field(description="The article's public page.")
    steps: strawberry.Private[list[Transition]]
    domain: strawberry.Private[DomainProcedure]

    @classmethod
    def from_domain(cls, p: DomainProcedure, link: str) -> Self:
        c = p.content
        return cls(
            code=p.code,
            name=c.name,
            status=p.status,
            version=p.version,
            summary=c.summary,
            authority=c.authority,
            who_may_file=c.who_may_file,
            documents=[RequiredDocument(name=d.name, form_code=d.form_code) for d in c.documents],
            filing_methods=list(c.filing_methods),
            filing_notes=c.filing_notes,
            time_limit=c.time_limit,
            fee=c.fee,
            legal_basis=c.legal_basis,
            department=c.department,
            keywords=list(c.keywords),
            unconfirmed=list(c.unconfirmed),
            sources=list(c.sources),
            updated_at=p.updated_at,
            link=link,
            steps=list(p.history),
            domain=p,
        )

    @strawberry.field(description="Every step of its life, oldest first (editors only).")
    def history(self, info: Info) -> list[ProcedureTransition]:
        if not can_edit(info.context.actor):
            return []
        return [ProcedureTransition.from_domain(s) for s in self.steps]

    @strawberry.field(description="Each version's main facts, oldest first (editors only).")
    async def revisions(self, info: Info) -> list[ProcedureRevision]:
        found = await info.context.container.procedures.revisions(info.context.actor, self.domain)
        return [_revision(i + 1, c) for i, c in enumerate(found)]


def _revision(version: int, c: ProcedureContent) -> ProcedureRevision:
    return ProcedureRevision(
        version=version,
        name=c.name,
        summary=c.summary,
        time_limit=c.time_limit,
        fee=c.fee,
        legal_basis=c.legal_basis,
    )


def procedure_type(info: Info, p: DomainProcedure) -> Procedure:
    return Procedure.from_domain(p, info.context.container.inquiries.procedure_link(p.code))


@strawberry.type(description="An article ranked for a question.")
class ProcedureMatch:
    procedure: Procedure
    confidence: float = strawberry.field(
        description="0-1; the knowledge base answers on its own from the configured threshold."
    )


@strawberry.type(
    name="Inquiry",
    description="A resident's question, for the staff (officer and up) of its ward and for the"
    " member who asked it. It never says who asked on a channel.",
)
class Inquiry(relay.Node):
    id_: relay.NodeID[str] = strawberry.field(name="_id_", description="internal")
    status: InquiryStatus
    source: InquirySource
    question: str
    answer: str | None
    department: Department | None
    procedure_code: str | None = strawberry.field(
        description="The article that answered it, or the best guess when it was routed."
    )
    match_confidence: float | None
    reopened: bool = strawberry.field(description="The asker said the answer did not help.")
    auto_answered: bool = strawberry.field(description="Answered by the knowledge base.")
    received_at: datetime
    updated_at: datetime
    due_at: datetime | None = strawberry.field(description="The department's deadline.")
    escalated_at: datetime | None = strawberry.field(
        description="When it was handed to the ward's commanders for being overdue; cleared when"
        " it is routed again, which sets a new deadline."
    )
    ward_id: strawberry.Private[WardId]
    group_id: strawberry.Private[GroupId | None]
    answered_by_id: strawberry.Private[MemberId | None]
    steps: strawberry.Private[list[Transition]]

    @classmethod
    def from_domain(cls, q: DomainInquiry) -> Self:
        return cls(
            id_=str(q.id),
            status=q.status,
            source=q.source,
            question=q.question,
            answer=q.answer,
            department=q.department,
            procedure_code=q.procedure_code,
            match_confidence=q.match_confidence,
            reopened=q.reopened,
            auto_answered=q.answer is not None and q.answered_by is None,
            received_at=q.received_at,
            updated_at=q.updated_at or q.received_at,
            due_at=q.due_at,
            escalated_at=q.escalated_at,
            ward_id=q.ward_id,
            group_id=q.group_id,
            answered_by_id=q.answered_by,
            steps=list(q.history),
        )

    @strawberry.field(description="Open and past its deadline.")
    def overdue(self, info: Info) -> bool:
        now = info.context.container.clock.now()
        return self.status in OPEN and self.due_at is not None and self.due_at <= now

    @strawberry.field
    async def procedure(self, info: Info) -> Procedure | None:
        if self.procedure_code is None:
            return None
        found = await info.context.container.procedures.get(info.context.actor, self.procedure_code)
        return procedure_type(info, found) if found else None

    @strawberry.field
    async def ward(self, info: Info) -> Ward | None:
        ward = await info.context.loaders.public_wards_by_id.load(self.ward_id)
        return Ward.from_domain(ward) if ward else None

    @strawberry.field(description="The group or account it came through (staff only).")
    async def group(self, info: Info) -> Group | None:
        if self.group_id is None:
            return None
        group = await info.context.loaders.groups_by_id.load(self.group_id)
        return Group.from_domain(group) if group else None

    @strawberry.field(description="The officer who answered; null for the knowledge base.")
    async def answered_by(self, info: Info) -> Member | None:
        return await member_of(info, self.answered_by_id)

    @strawberry.field(description="Every step of its lifecycle, oldest first.")
    def history(self) -> list[InquiryTransition]:
        return [InquiryTransition.from_domain(step) for step in self.steps]

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await _by_ids(info.context.loaders.inquiries_by_id, node_ids, cls.from_domain)
