"""Mutations of tips: noun first, one input, a payload with the object and userErrors."""

from __future__ import annotations

from typing import Any

import strawberry

from api.graphql.base import UserError, mutate
from api.graphql.context import Info
from api.graphql.tips import inputs
from api.graphql.tips.queries import throttle
from api.graphql.tips.types import PublicTipReceipt, ReporterIdentity, Tip, TipMessage
from domain.access import Role, Scope
from domain.errors import DomainError, ErrorCode, not_found
from domain.reporter import TipSource
from domain.services.tips import TipReceipt, TipSubmission


@strawberry.type
class TipPayload:
    tip: Tip | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(
    description="The tracking code at once. `tip` is there for staff of the tip's unit only."
)
class TipSubmitPayload:
    receipt: PublicTipReceipt | None = None
    tip: Tip | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class TipReplyPayload:
    message: TipMessage | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class TipFollowUpPayload:
    accepted: bool = False
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class TipRevealReporterPayload:
    reporter: ReporterIdentity | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _tip(tip: Any) -> TipPayload:
    return TipPayload(tip=Tip.from_domain(tip))


def _failed(errors: list[UserError]) -> TipPayload:
    return TipPayload(user_errors=errors)


@strawberry.type
class TipMutation:
    @strawberry.mutation(
        description="Report a tip from the mobile app or the portal: no token needed, anonymous"
        " allowed, files allowed (multipart). The tracking code comes back at once, and is sent"
        " on the reporter's channel with an acknowledgement."
    )
    async def tip_submit(self, info: Info, input: inputs.TipSubmitInput) -> TipSubmitPayload:
        container, actor = info.context.container, info.context.actor

        async def run() -> TipReceipt:
            if not actor.authenticated:
                throttle(info, "tipSubmit")
            if input.source not in (TipSource.APP, TipSource.PORTAL):
                raise DomainError.one(
                    ErrorCode.INVALID,
                    "Tin báo qua Zalo và Messenger được nhận qua kênh đó, không qua đây.",
                    "Zalo and Messenger tips arrive from their platforms, not here.",
                    ("source",),
                )
            ward_id = inputs.ward_id_of(input)
            if ward_id is None and input.ward_code and input.ward_code.strip():
                async with container.uow() as uow:
                    ward = await uow.wards.by_code(input.ward_code.strip())
                ward_id = ward.id if ward else None
                if ward_id is None:
                    raise not_found("đơn vị", "Unit", ("wardCode",))
            if ward_id is None:
                raise DomainError.one(
                    ErrorCode.REQUIRED,
                    "Cần chọn đơn vị nhận tin báo.",
                    "Choose the unit the tip is for.",
                    ("wardId",),
                )
            reporter = input.reporter_identity()
            async with container.uow() as uow:
                if await uow.wards.get(ward_id, scope=Scope.all()) is None:
                    raise not_found("đơn vị", "Unit", ("wardId",))
            files = await inputs.read_files(
                input.files, container.blobs, container.settings.max_upload_bytes
            )
            return await container.tips.submit(
                actor,
                TipSubmission(
                    ward_id=ward_id,
                    body=input.body,
                    source=input.source,
                    anonymous=input.anonymous,
                    category=input.category,
                    reporter=reporter,
                    attachments=files,
                ),
            )

        def ok(receipt: TipReceipt) -> TipSubmitPayload:
            tip = receipt.tip
            staff = actor.has(Role.OFFICER, tip.ward_id) and actor.member_id is not None
            return TipSubmitPayload(
                receipt=PublicTipReceipt.from_domain(tip),
                tip=Tip.from_domain(tip) if staff else None,
            )

        return await mutate(run, ok, lambda errors: TipSubmitPayload(user_errors=errors))

    @strawberry.mutation(description="Say what a tip is about (officer and above of its unit).")
    async def tip_triage(self, info: Info, input: inputs.TipTriageInput) -> TipPayload:
        svc, actor = info.context.container.tips, info.context.actor
        return await mutate(
            lambda: svc.triage(actor, inputs.tip_id(input.id), input.category, input.comment),
            _tip,
            _failed,
        )

    @strawberry.mutation(
        description="Give a tip to an officer of its unit, or hand it over to another."
    )
    async def tip_assign(self, info: Info, input: inputs.TipAssignInput) -> TipPayload:
        svc, actor = info.context.container.tips, info.context.actor
        return await mutate(
            lambda: svc.assign(actor, inputs.tip_id(input.id), input.to_assignee(), input.comment),
            _tip,
            _failed,
        )

    @strawberry.mutation(description="Start investigating (the assigned officer or a commander).")
    async def tip_start_investigation(
        self, info: Info, input: inputs.TipStartInvestigationInput
    ) -> TipPayload:
        svc, actor = info.context.container.tips, info.context.actor
        return await mutate(
            lambda: svc.start_investigation(actor, inputs.tip_id(input.id), input.comment),
            _tip,
            _failed,
        )

    @strawberry.mutation(
        description="Close an investigated tip with its outcome (the assigned officer or a"
        " commander)."
    )
    async def tip_resolve(self, info: Info, input: inputs.TipResolveInput) -> TipPayload:
        svc, actor = info.context.container.tips, info.context.actor
        return await mutate(
            lambda: svc.resolve(
                actor, inputs.tip_id(input.id), input.outcome, input.arrests, input.comment
            ),
            _tip,
            _failed,
        )

    @strawberry.mutation(
        description="Set a tip aside, with the reason (the assigned officer or a commander)."
    )
    async def tip_dismiss(self, info: Info, input: inputs.TipDismissInput) -> TipPayload:
        svc, actor = info.context.container.tips, info.context.actor
        return await mutate(
            lambda: svc.dismiss(actor, inputs.tip_id(input.id), input.reason),
            _tip,
            _failed,
        )

    @strawberry.mutation(
        description="Write to the reporter on the channel the tip came from (Zalo, Messenger, the"
        " app, or the portal, where tipStatus shows it). Nobody learns who they are."
    )
    async def tip_reply(self, info: Info, input: inputs.TipReplyInput) -> TipReplyPayload:
        svc, actor = info.context.container.tips, info.context.actor
        return await mutate(
            lambda: svc.reply(actor, inputs.tip_id(input.id), input.text),
            lambda message: TipReplyPayload(message=TipMessage.from_domain(message)),
            lambda errors: TipReplyPayload(user_errors=errors),
        )

    @strawberry.mutation(
        description="The reporter answers, holding only the tracking code (no token needed): the"
        " answer joins the tip's thread. An unknown code is NOT_FOUND."
    )
    async def tip_follow_up(self, info: Info, input: inputs.TipFollowUpInput) -> TipFollowUpPayload:
        throttle(info, "tipFollowUp")
        svc = info.context.container.tips
        return await mutate(
            lambda: svc.follow_up(input.tracking_code, input.text),
            lambda message: TipFollowUpPayload(accepted=True),
            lambda errors: TipFollowUpPayload(accepted=False, user_errors=errors),
        )

    @strawberry.mutation(
        description="Who reported the tip: for a commander of its unit or its assigned officer"
        " only, with a reason; every reveal is written to the audit log."
    )
    async def tip_reveal_reporter(
        self, info: Info, input: inputs.TipRevealReporterInput
    ) -> TipRevealReporterPayload:
        svc, actor = info.context.container.tips, info.context.actor
        return await mutate(
            lambda: svc.reveal_reporter(actor, inputs.tip_id(input.id), input.reason),
            lambda identity: TipRevealReporterPayload(
                reporter=ReporterIdentity.from_domain(identity)
            ),
            lambda errors: TipRevealReporterPayload(user_errors=errors),
        )
