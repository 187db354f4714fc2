"""Queries of the knowledge base (public) and of inquiries (staff queues, the asker's own)."""

from __future__ import annotations

import strawberry
from strawberry import relay

from api.graphql.base import ClientError, Connection, decode_cursor, page_size, query_ids
from api.graphql.context import Info
from api.graphql.inquiries.inputs import InquiryFilter
from api.graphql.inquiries.types import (
    Inquiry,
    Procedure,
    ProcedureMatch,
    ProcedureStatus,
    procedure_type,
)
from api.graphql.permissions import IsAuthenticated
from api.graphql.tips.queries import _aware, throttle
from domain import ports
from domain.ids import InquiryId, WardId

QUESTION_MAX = 1000
MATCHES_MAX = 10


def _first(info: Info, first: int) -> int:
    return page_size(first, info.context.container.settings.max_page_size)


@strawberry.type
class InquiryQuery:
    @strawberry.field(
        description="Published procedures (editors may ask for drafts and retired ones): by code,"
        " or by relevance to `search`, with or without diacritics. No token needed."
    )
    async def procedures(
        self,
        info: Info,
        search: str | None = None,
        statuses: list[ProcedureStatus] | None = None,
    ) -> list[Procedure]:
        svc, actor = info.context.container.procedures, info.context.actor
        if search and search.strip():
            if len(search) > QUESTION_MAX:
                raise ClientError(
                    f"'search' is longer than {QUESTION_MAX} characters.",
                    f"'search' dài quá {QUESTION_MAX} ký tự.",
                )
            ranked = await svc.rank(search, limit=MATCHES_MAX)
            return [procedure_type(info, r.procedure) for r in ranked]
        return [procedure_type(info, p) for p in await svc.listed(actor, tuple(statuses or ()))]

    @strawberry.field(description="One procedure by code; null when absent or not published.")
    async def procedure(self, info: Info, code: str) -> Procedure | None:
        found = await info.context.container.procedures.get(info.context.actor, code.strip())
        return procedure_type(info, found) if found else None

    @strawberry.field(
        description="The articles that best answer a question, with a confidence: what inquiryAsk"
        " would do, without asking. No token needed; rate-limited per client."
    )
    async def procedure_matches(
        self, info: Info, question: str, first: int = 3
    ) -> list[ProcedureMatch]:
        if not info.context.actor.authenticated:
            throttle(info, "procedureMatches")
        if not 1 <= first <= MATCHES_MAX or len(question) > QUESTION_MAX:
            raise ClientError(
                f"'first' must be 1-{MATCHES_MAX} and the question at most {QUESTION_MAX} chars.",
                f"'first' từ 1 đến {MATCHES_MAX}, câu hỏi tối đa {QUESTION_MAX} ký tự.",
            )
        ranked = await info.context.container.procedures.rank(question, limit=first)
        return [
            ProcedureMatch(
                procedure=procedure_type(info, r.procedure), confidence=r.match.confidence
            )
            for r in ranked
        ]

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Inquiries of the units where you are an officer or above: the queues.",
    )
    async def inquiries(
        self,
        info: Info,
        filter: InquiryFilter | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Inquiry]:
        f = filter or InquiryFilter()
        container = info.context.container
        domain_filter = ports.InquiryFilter(
            ward_ids=tuple(WardId(w) for w in query_ids(f.ward_ids, "Ward", "wardIds")),
            statuses=tuple(f.statuses or ()),
            departments=tuple(f.departments or ()),
            overdue=f.overdue,
            escalated=f.escalated,
            now=container.clock.now(),
            text=f.text,
            received_from=_aware(f.received_from, "receivedFrom"),
            received_to=_aware(f.received_to, "receivedTo"),
            newest_first=f.newest_first,
        )
        page = await container.inquiries.page(
            info.context.actor, domain_filter, after=decode_cursor(after), first=_first(info, first)
        )
        return Connection.from_page(page, Inquiry.from_domain, lambda q: str(q.id))

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="The questions you asked in the app, newest first.",
    )
    async def my_inquiries(
        self, info: Info, first: int = 20, after: str | None = None
    ) -> Connection[Inquiry]:
        page = await info.context.container.inquiries.mine(
            info.context.actor, after=decode_cursor(after), first=_first(info, first)
        )
        return Connection.from_page(page, Inquiry.from_domain, lambda q: str(q.id))

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="One inquiry; null when absent or not yours to see.",
    )
    async def inquiry(self, info: Info, id: relay.GlobalID) -> Inquiry | None:
        (key,) = query_ids([id], "Inquiry", "id")
        found = await info.context.loaders.inquiries_by_id.load(InquiryId(key))
        return Inquiry.from_domain(found) if found else None
