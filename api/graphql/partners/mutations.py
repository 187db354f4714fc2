"""Mutations of partners. Admins create and revoke clients; admins and the partner itself
manage webhooks and replay deliveries. Secrets appear once, in the payload that created them."""

from __future__ import annotations

from typing import Any

import strawberry

from api.graphql.base import UserError, mutate
from api.graphql.context import Info
from api.graphql.partners import inputs
from api.graphql.partners.types import PartnerClient, PartnerWebhook, WebhookDelivery
from domain.access import Actor
from domain.partner import PartnerPrincipal


@strawberry.type
class PartnerClientCreatePayload:
    partner_client: PartnerClient | None = None
    client_secret: str | None = strawberry.field(
        default=None,
        description="The client secret, shown this once: only its hash is kept.",
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class PartnerClientPayload:
    partner_client: PartnerClient | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class PartnerWebhookCreatePayload:
    webhook: PartnerWebhook | None = None
    secret: str | None = strawberry.field(
        default=None,
        description="The signing secret ('whsec_…'), shown this once: verify webhook-signature"
        " with it.",
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class PartnerWebhookPayload:
    webhook: PartnerWebhook | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class WebhookDeliveryPayload:
    delivery: WebhookDelivery | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _caller(info: Info) -> Actor | PartnerPrincipal:
    """The partner when a partner token came, else the member (who must be signed in)."""
    context = info.context
    if context.partner is not None:
        return context.partner
    context.actor.require_authenticated()
    return context.actor


def _failed(payload: type) -> Any:
    return lambda errors: payload(user_errors=errors)


@strawberry.type
class PartnerMutation:
    @strawberry.mutation(
        description="Register an integration partner for units where you are admin. The payload"
        " carries its client secret, once."
    )
    async def partner_client_create(
        self, info: Info, input: inputs.PartnerClientCreateInput
    ) -> PartnerClientCreatePayload:
        container, actor = info.context.container, info.context.actor

        async def run():
            actor.require_authenticated()
            return await container.partners.create_client(actor, input.to_command())

        return await mutate(
            run,
            lambda made: PartnerClientCreatePayload(
                partner_client=PartnerClient.from_domain(made[0]), client_secret=made[1]
            ),
            _failed(PartnerClientCreatePayload),
        )

    @strawberry.mutation(
        description="Revoke a partner client (admin of one of its units): its tokens and"
        " subscriptions stop, its webhooks receive nothing more."
    )
    async def partner_client_revoke(
        self, info: Info, input: inputs.PartnerClientRevokeInput
    ) -> PartnerClientPayload:
        container, actor = info.context.container, info.context.actor

        async def run():
            actor.require_authenticated()
            return await container.partners.revoke_client(actor, inputs.client_id(input.id))

        return await mutate(
            run,
            lambda client: PartnerClientPayload(partner_client=PartnerClient.from_domain(client)),
            _failed(PartnerClientPayload),
        )

    @strawberry.mutation(
        description="Register a webhook for a partner (the partner itself, or an admin naming"
        " the client). The payload carries its signing secret, once."
    )
    async def partner_webhook_create(
        self, info: Info, input: inputs.PartnerWebhookCreateInput
    ) -> PartnerWebhookCreatePayload:
        container = info.context.container

        async def run():
            return await container.partners.create_webhook(_caller(info), input.to_command())

        return await mutate(
            run,
            lambda made: PartnerWebhookCreatePayload(
                webhook=PartnerWebhook.from_domain(made[0]), secret=made[1]
            ),
            _failed(PartnerWebhookCreatePayload),
        )

    @strawberry.mutation(description="Delete a webhook: nothing more is sent to it.")
    async def partner_webhook_delete(
        self, info: Info, input: inputs.PartnerWebhookDeleteInput
    ) -> PartnerWebhookPayload:
        container = info.context.container

        async def run():
            return await container.partners.delete_webhook(
                _caller(info), inputs.webhook_id(input.id)
            )

        return await mutate(
            run,
            lambda webhook: PartnerWebhookPayload(webhook=PartnerWebhook.from_domain(webhook)),
            _failed(PartnerWebhookPayload),
        )

    @strawberry.mutation(
        description="Send a past delivery again, at once: same webhook-id and body, a new"
        " webhook-timestamp and signature."
    )
    async def partner_webhook_replay(
        self, info: Info, input: inputs.PartnerWebhookReplayInput
    ) -> WebhookDeliveryPayload:
        container = info.context.container

        async def run():
            return await container.partners.replay(
                _caller(info), inputs.delivery_id(input.delivery_id)
            )

        return await mutate(
            run,
            lambda delivery: WebhookDeliveryPayload(delivery=WebhookDelivery.from_domain(delivery)),
            _failed(WebhookDeliveryPayload),
        )
