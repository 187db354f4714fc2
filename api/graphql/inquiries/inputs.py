"""Inputs of the knowledge base and of inquiries."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from api.graphql.base import decode_id
from api.graphql.inquiries.types import (
    Department,
    FilingMethod,
    InquirySource,
    InquiryStatus,
)
from domain.ids import InquiryId
from domain.procedure import ProcedureContent
from domain.procedure import RequiredDocument as DomainRequiredDocument
from domain.reporter import TipSource


def inquiry_id(gid: relay.GlobalID, field: str = "id") -> InquiryId:
    return InquiryId(decode_id(gid, "Inquiry", (field,)))


@strawberry.input
class RequiredDocumentInput:
    name: str
    form_code: str | None = None


@strawberry.input(description="An article's content; every change makes a new version.")
class ProcedureContentInput:
    name: str
    authority: str
    who_may_file: str
    documents: list[RequiredDocumentInput]
    filing_methods: list[FilingMethod]
    time_limit: str
    fee: str
    legal_basis: str
    department: Department
    summary: str = ""
    filing_notes: str = ""
    keywords: list[str] = strawberry.field(default_factory=list)
    unconfirmed: list[str] = strawberry.field(default_factory=list)
    sources: list[str] = strawberry.field(default_factory=list)

    def to_domain(self) -> ProcedureContent:
        return ProcedureContent(
            name=self.name,
            authority=self.authority,
            who_may_file=self.who_may_file,
            documents=tuple(DomainRequiredDocument(d.name, d.form_code) for d in self.documents),
            filing_methods=tuple(self.filing_methods),
            time_limit=self.time_limit,
            fee=self.fee,
            legal_basis=self.legal_basis,
            department=self.department,
            summary=self.summary,
            filing_notes=self.filing_notes,
            keywords=tuple(self.keywords),
            unconfirmed=tuple(self.unconfirmed),
            sources=tuple(self.sources),
        )


@strawberry.input
class ProcedureCreateInput:
    code: str = strawberry.field(description="Lower-case ASCII slug, e.g. dang_ky_tam_tru.")
    content: ProcedureContentInput
    comment: str | None = None


@strawberry.input
class ProcedureUpdateInput:
    code: str
    content: ProcedureContentInput
    comment: str | None = None


@strawberry.input
class ProcedurePublishInput:
    code: str


@strawberry.input
class ProcedureRetireInput:
    code: str
    comment: str | None = None


@strawberry.input
class InquiryAskInput:
    question: str
    ward_id: relay.GlobalID | None = strawberry.field(
        default=None, description="The unit asked (or wardCode)."
    )
    ward_code: str | None = None
    source: InquirySource = strawberry.field(
        default=TipSource.APP, description="APP or PORTAL (the online Q&A)."
    )


@strawberry.input
class InquiryRouteInput:
    id: relay.GlobalID
    department: Department
    comment: str | None = None


@strawberry.input
class InquiryAnswerInput:
    id: relay.GlobalID
    text: str
    comment: str | None = None


@strawberry.input
class InquiryCloseInput:
    id: relay.GlobalID
    comment: str | None = None


@strawberry.input
class InquiryFeedbackInput:
    id: relay.GlobalID
    helped: bool
    comment: str | None = None


@strawberry.input
class InquiryPromoteInput:
    id: relay.GlobalID
    code: str
    content: ProcedureContentInput


@strawberry.input
class InquiryFilter:
    ward_ids: list[relay.GlobalID] | None = None
    statuses: list[InquiryStatus] | None = None
    departments: list[Department] | None = None
    overdue: bool | None = strawberry.field(
        default=None, description="True: open and past the deadline; false: all others."
    )
    escalated: bool | None = strawberry.field(
        default=None,
        description="True: open and handed to the ward's commanders for being overdue (a"
        " commander's list); false: all others.",
    )
    text: str | None = strawberry.field(
        default=None, description="Matches the question, with or without diacritics."
    )
    received_from: datetime | None = None
    received_to: datetime | None = None
    newest_first: bool = strawberry.field(
        default=False, description="A queue is worked oldest first."
    )


@strawberry.input
class InquiryUpdatesFilter:
    ward_ids: list[relay.GlobalID] | None = None
    departments: list[Department] | None = None
    statuses: list[InquiryStatus] | None = None
