"""Mutations of the knowledge base (admins) and of inquiries: noun first, one input, userErrors."""

from __future__ import annotations

from typing import Any

import strawberry

from api.graphql.base import UserError, decode_id, mutate
from api.graphql.context import Info
from api.graphql.inquiries import inputs
from api.graphql.inquiries.types import Inquiry, Procedure, procedure_type
from api.graphql.tips.queries import throttle
from domain.access import Scope
from domain.errors import DomainError, ErrorCode, not_found
from domain.ids import WardId
from domain.services.inquiries import Ask


@strawberry.type
class ProcedurePayload:
    procedure: Procedure | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class InquiryPayload:
    inquiry: Inquiry | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(
    description="What the asker gets back at once: the answer when the knowledge base was sure,"
    " otherwise the department it went to. `inquiry` is there for signed-in askers and staff."
)
class InquiryAskPayload:
    answered: bool = False
    answer: str | None = None
    procedure: Procedure | None = None
    inquiry: Inquiry | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _procedure_payload(info: Info):
    return lambda p: ProcedurePayload(procedure=procedure_type(info, p))


def _procedure_failed(errors: list[UserError]) -> ProcedurePayload:
    return ProcedurePayload(user_errors=errors)


def _inquiry(q: Any) -> InquiryPayload:
    return InquiryPayload(inquiry=Inquiry.from_domain(q))


def _inquiry_failed(errors: list[UserError]) -> InquiryPayload:
    return InquiryPayload(user_errors=errors)


@strawberry.type
class InquiryMutation:
    @strawberry.mutation(description="Write a new article, as a draft (admins).")
    async def procedure_create(
        self, info: Info, input: inputs.ProcedureCreateInput
    ) -> ProcedurePayload:
        svc, actor = info.context.container.procedures, info.context.actor
        return await mutate(
            lambda: svc.create(actor, input.code, input.content.to_domain(), comment=input.comment),
            _procedure_payload(info),
            _procedure_failed,
        )

    @strawberry.mutation(
        description="Change an article: a new version, kept in its revisions (admins). A"
        " published article stays published with the new text."
    )
    async def procedure_update(
        self, info: Info, input: inputs.ProcedureUpdateInput
    ) -> ProcedurePayload:
        svc, actor = info.context.container.procedures, info.context.actor
        return await mutate(
            lambda: svc.update(actor, input.code, input.content.to_domain(), input.comment),
            _procedure_payload(info),
            _procedure_failed,
        )

    @strawberry.mutation(description="Make an article answer residents (admins).")
    async def procedure_publish(
        self, info: Info, input: inputs.ProcedurePublishInput
    ) -> ProcedurePayload:
        svc, actor = info.context.container.procedures, info.context.actor
        return await mutate(
            lambda: svc.publish(actor, input.code), _procedure_payload(info), _procedure_failed
        )

    @strawberry.mutation(description="Stop an article answering residents (admins).")
    async def procedure_retire(
        self, info: Info, input: inputs.ProcedureRetireInput
    ) -> ProcedurePayload:
        svc, actor = info.context.container.procedures, info.context.actor
        return await mutate(
            lambda: svc.retire(actor, input.code, input.comment),
            _procedure_payload(info),
            _procedure_failed,
        )

    @strawberry.mutation(
        description="Ask the police a question from the app or the portal's online Q&A. No token"
        " needed (rate-limited per client); answered at once when the knowledge base is sure."
    )
    async def inquiry_ask(self, info: Info, input: inputs.InquiryAskInput) -> InquiryAskPayload:
        container, actor = info.context.container, info.context.actor

        async def run() -> InquiryAskPayload:
            if not actor.authenticated:
                throttle(info, "inquiryAsk")
            ward_id = (
                WardId(decode_id(input.ward_id, "Ward", ("wardId",))) if input.ward_id else None
            )
            if ward_id is None and input.ward_code and input.ward_code.strip():
                async with container.uow() as uow:
                    ward = await uow.wards.by_code(input.ward_code.strip())
                if ward is None:
                    raise not_found("đơn vị", "Unit", ("wardCode",))
                ward_id = ward.id
            if ward_id is None:
                raise DomainError.one(
                    ErrorCode.REQUIRED,
                    "Cần chọn đơn vị công an muốn hỏi.",
                    "Choose the unit to ask.",
                    ("wardId",),
                )
            async with container.uow() as uow:
                if await uow.wards.get(ward_id, scope=Scope.all()) is None:
                    raise not_found("đơn vị", "Unit", ("wardId",))
            q = await container.inquiries.ask(
                actor, Ask(ward_id=ward_id, question=input.question, source=input.source)
            )
            found = (
                await container.procedures.get(actor, q.procedure_code)
                if q.procedure_code and q.answer
                else None
            )
            visible = actor.authenticated and container.inquiries.visible_to(actor, q)
            return InquiryAskPayload(
                answered=q.answer is not None,
                answer=q.answer,
                procedure=procedure_type(info, found) if found else None,
                inquiry=Inquiry.from_domain(q) if visible else None,
            )

        return await mutate(run, lambda p: p, lambda errors: InquiryAskPayload(user_errors=errors))

    @strawberry.mutation(description="Send an inquiry to another department (officer and up).")
    async def inquiry_route(self, info: Info, input: inputs.InquiryRouteInput) -> InquiryPayload:
        svc, actor = info.context.container.inquiries, info.context.actor
        return await mutate(
            lambda: svc.route(actor, inputs.inquiry_id(input.id), input.department, input.comment),
            _inquiry,
            _inquiry_failed,
        )

    @strawberry.mutation(
        description="Answer a routed inquiry (officer and up of its unit): sent to the asker on"
        " the channel they used, then recorded."
    )
    async def inquiry_answer(self, info: Info, input: inputs.InquiryAnswerInput) -> InquiryPayload:
        svc, actor = info.context.container.inquiries, info.context.actor
        return await mutate(
            lambda: svc.answer(actor, inputs.inquiry_id(input.id), input.text, input.comment),
            _inquiry,
            _inquiry_failed,
        )

    @strawberry.mutation(description="Close an answered inquiry (officer and up).")
    async def inquiry_close(self, info: Info, input: inputs.InquiryCloseInput) -> InquiryPayload:
        svc, actor = info.context.container.inquiries, info.context.actor
        return await mutate(
            lambda: svc.close(actor, inputs.inquiry_id(input.id), input.comment),
            _inquiry,
            _inquiry_failed,
        )

    @strawberry.mutation(
        description="The asker says whether the answer helped: yes closes it; no hands it to a"
        " person (once)."
    )
    async def inquiry_feedback(
        self, info: Info, input: inputs.InquiryFeedbackInput
    ) -> InquiryPayload:
        svc, actor = info.context.container.inquiries, info.context.actor
        return await mutate(
            lambda: svc.feedback(
                actor, inputs.inquiry_id(input.id), helped=input.helped, comment=input.comment
            ),
            _inquiry,
            _inquiry_failed,
        )

    @strawberry.mutation(
        description="Turn an officer's good answer into a draft article (officer and up of the"
        " inquiry's unit); an admin publishes it."
    )
    async def inquiry_promote(
        self, info: Info, input: inputs.InquiryPromoteInput
    ) -> ProcedurePayload:
        svc, actor = info.context.container.inquiries, info.context.actor
        return await mutate(
            lambda: svc.promote(
                actor, inputs.inquiry_id(input.id), input.code, input.content.to_domain()
            ),
            _procedure_payload(info),
            _procedure_failed,
        )
