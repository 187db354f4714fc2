"""GraphQL types of integration partners: clients, webhooks, deliveries and the tip update a
partner receives. Built from domain objects only.

`PartnerTipUpdate` is everything a partner learns about a tip, on the subscription and in webhook
payloads alike: where, what kind, how far along, whether late. Never who reported it, and not the
report's text, which may itself name or identify the reporter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Self

import strawberry
from strawberry import relay
from strawberry.dataloader import DataLoader

from api.graphql.base import parse_uuid
from api.graphql.context import Info
from api.graphql.organisation.types import Ward, _by_ids
from api.graphql.tips.types import TipCategory, TipStatus
from domain.access import Role
from domain.ids import WardId
from domain.partner import (
    DeliveryAttempt,
    PartnerClientId,
    PartnerTipView,
    PartnerWebhookId,
    WebhookDeliveryId,
)
from domain.partner import PartnerClient as DomainPartnerClient
from domain.partner import PartnerScope as DomainPartnerScope
from domain.partner import PartnerWebhook as DomainPartnerWebhook
from domain.partner import WebhookDelivery as DomainWebhookDelivery
from domain.partner import WebhookDeliveryStatus as DomainWebhookDeliveryStatus
from domain.partner import WebhookEventType as DomainWebhookEventType
from domain.partner import WebhookStatus as DomainWebhookStatus

PartnerScope = strawberry.enum(
    DomainPartnerScope,
    name="PartnerScope",
    description="What a partner's access token allows: TIPS_READ is OAuth2 scope `tips:read`.",
)
WebhookEventType = strawberry.enum(
    DomainWebhookEventType,
    name="WebhookEventType",
    description="TIP_CREATED is `tip.created`, TIP_UPDATED is `tip.updated` in payloads.",
)
PartnerWebhookStatus = strawberry.enum(
    DomainWebhookStatus,
    name="PartnerWebhookStatus",
    description="ACTIVE; DISABLED after its endpoint answered 410 Gone; DELETED.",
)
WebhookDeliveryStatus = strawberry.enum(
    DomainWebhookDeliveryStatus,
    name="WebhookDeliveryStatus",
    description="pending → sending → sent, or failed (retried later) → dead; sent and dead"
    " deliveries can be replayed.",
)


class PartnerLoaders:
    """Per-request loaders of the partner types (the shared Loaders know nothing of partners)."""

    def __init__(self, info: Info) -> None:
        context = info.context
        container, actor, partner = context.container, context.actor, context.partner
        self.owner = (actor, partner)

        async def clients(ids: list[PartnerClientId]) -> list[DomainPartnerClient | None]:
            async with container.uow() as uow:
                return await uow.partners.get_many(ids, scope=actor.scope(Role.ADMIN))

        async def webhooks(ids: list[PartnerClientId]) -> list[list[DomainPartnerWebhook]]:
            return await container.partners.webhooks_of(ids)

        async def webhooks_by_id(
            ids: list[PartnerWebhookId],
        ) -> list[DomainPartnerWebhook | None]:
            async with container.uow() as uow:
                return await uow.partner_webhooks.get_many(ids)

        async def deliveries(ids: list[WebhookDeliveryId]) -> list[DomainWebhookDelivery | None]:
            async with container.uow() as uow:
                return await uow.webhook_deliveries.get_many(ids, scope=actor.scope(Role.ADMIN))

        self.clients_by_id = DataLoader(load_fn=clients)
        self.webhooks_by_client = DataLoader(load_fn=webhooks)
        self.webhooks_by_id = DataLoader(load_fn=webhooks_by_id)
        self.deliveries_by_id = DataLoader(load_fn=deliveries)


def partner_loaders(info: Info) -> PartnerLoaders:
    """This request's partner loaders, made on first use (and again if the caller changed, as a
    WebSocket's connection_init does)."""
    context = info.context
    found: PartnerLoaders | None = getattr(context, "_partner_loaders", None)
    if found is None or found.owner != (context.actor, context.partner):
        found = PartnerLoaders(info)
        context._partner_loaders = found  # type: ignore[attr-defined]
    return found


@strawberry.type(description="A unit as a partner knows it; `id` is the unit's global id.")
class PartnerWard:
    id: relay.GlobalID
    code: str
    name: str


@strawberry.type(
    description="A change of a tip of the partner's units: where, what kind, how far along."
    " Never who reported it, nor the report's text."
)
class PartnerTipUpdate:
    id: relay.GlobalID = strawberry.field(description="The tip's global id, stable across updates.")
    ward: PartnerWard
    category: TipCategory
    status: TipStatus
    received_at: datetime
    updated_at: datetime
    overdue: bool = strawberry.field(description="Still open past its category's deadline.")

    @classmethod
    def from_view(cls, view: PartnerTipView) -> Self:
        return cls(
            id=relay.GlobalID("Tip", str(view.tip_id)),
            ward=PartnerWard(
                id=relay.GlobalID("Ward", str(view.ward_id)),
                code=view.ward_code,
                name=view.ward_name,
            ),
            category=view.category,
            status=view.status,
            received_at=view.received_at,
            updated_at=view.updated_at,
            overdue=view.overdue,
        )


@strawberry.type(
    name="PartnerWebhook",
    description="Where a partner receives signed tip events (Standard Webhooks). Its secret is"
    " shown once, when it is created.",
)
class PartnerWebhook(relay.Node):
    id_: relay.NodeID[str] = strawberry.field(name="_id_", description="internal")
    url: str
    events: list[WebhookEventType]
    status: PartnerWebhookStatus
    status_reason: str | None
    status_changed_at: datetime | None
    created_at: datetime

    @classmethod
    def from_domain(cls, webhook: DomainPartnerWebhook) -> Self:
        return cls(
            id_=str(webhook.id),
            url=webhook.url,
            events=sorted(webhook.events, key=lambda e: e.value),
            status=webhook.status,
            status_reason=webhook.status_reason,
            status_changed_at=webhook.status_changed_at,
            created_at=webhook.created_at,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        """Through its client: null unless the caller administers one of the client's units."""
        loaders = partner_loaders(info)
        webhooks = await _by_ids(loaders.webhooks_by_id, node_ids, lambda w: w)
        clients = await loaders.clients_by_id.load_many(
            [w.client for w in webhooks if w is not None]
        )
        visible = {c.id for c in clients if c is not None}
        return [
            cls.from_domain(w) if w is not None and w.client in visible else None for w in webhooks
        ]


@strawberry.type(
    name="PartnerClient",
    description="An integration partner's OAuth2 client (client credentials): the units whose"
    " tips it follows and what its tokens may do. Its secret is shown once, at creation.",
)
class PartnerClient(relay.Node):
    id_: relay.NodeID[str] = strawberry.field(name="_id_", description="internal")
    client_id: str = strawberry.field(description="The OAuth2 client_id.")
    name: str
    scopes: list[PartnerScope]
    created_at: datetime
    revoked_at: datetime | None
    ward_ids: strawberry.Private[tuple[WardId, ...]]

    @classmethod
    def from_domain(cls, client: DomainPartnerClient) -> Self:
        return cls(
            id_=str(client.id),
            client_id=client.client_id,
            name=client.name,
            scopes=sorted((DomainPartnerScope(s) for s in client.scopes), key=lambda s: s.value),
            created_at=client.created_at,
            revoked_at=client.revoked_at,
            ward_ids=client.ward_ids,
        )

    @strawberry.field(description="False once revoked: its tokens stop working at once.")
    def active(self) -> bool:
        return self.revoked_at is None

    @strawberry.field(description="Its units (those you may see).")
    async def wards(self, info: Info) -> list[Ward]:
        found = await info.context.loaders.wards_by_id.load_many(list(self.ward_ids))
        return [Ward.from_domain(w) for w in found if w is not None]

    @strawberry.field(description="Its webhooks, deleted ones aside.")
    async def webhooks(self, info: Info) -> list[PartnerWebhook]:
        key = PartnerClientId(parse_uuid(self.id_))
        found = await partner_loaders(info).webhooks_by_client.load(key)
        return [PartnerWebhook.from_domain(w) for w in found]

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await _by_ids(partner_loaders(info).clients_by_id, node_ids, cls.from_domain)


@strawberry.type(description="What the partner itself holds: its client, units and webhooks.")
class PartnerViewer:
    client_id: str
    name: str
    scopes: list[PartnerScope]
    wards: list[PartnerWard]
    webhooks: list[PartnerWebhook]


@strawberry.type(description="One attempt to send a webhook delivery.")
class WebhookAttempt:
    at: datetime
    status_code: int | None = strawberry.field(description="The endpoint's HTTP status, if any.")
    error: str | None
    duration_ms: int | None
    replay: bool = strawberry.field(description="Made after the delivery was replayed.")

    @classmethod
    def from_domain(cls, attempt: DeliveryAttempt) -> Self:
        return cls(
            at=attempt.at,
            status_code=attempt.status_code,
            error=attempt.error,
            duration_ms=attempt.duration_ms,
            replay=attempt.replay,
        )


@strawberry.type(
    name="WebhookDelivery",
    description="One tip event for one webhook: the outbox row the worker sends, retries and"
    " replays. `webhookId` is the `webhook-id` header, the same on every attempt.",
)
class WebhookDelivery(relay.Node):
    id_: relay.NodeID[str] = strawberry.field(name="_id_", description="internal")
    webhook_id: str = strawberry.field(description="The `webhook-id` header (idempotency key).")
    event_type: WebhookEventType
    status: WebhookDeliveryStatus
    payload: str = strawberry.field(description="The JSON body, exactly as it is signed and sent.")
    attempts: int = strawberry.field(description="Attempts since it was created or replayed.")
    max_attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    sent_at: datetime | None
    replays: int
    created_at: datetime
    attempt_log: list[WebhookAttempt] = strawberry.field(description="The latest attempts.")
    webhook_key: strawberry.Private[PartnerWebhookId]

    @classmethod
    def from_domain(cls, delivery: DomainWebhookDelivery) -> Self:
        return cls(
            id_=str(delivery.id),
            webhook_id=delivery.message_id,
            event_type=delivery.event_type,
            status=delivery.status,
            payload=delivery.payload,
            attempts=delivery.attempts,
            max_attempts=delivery.max_attempts,
            next_attempt_at=delivery.next_attempt_at,
            last_status_code=delivery.last_status_code,
            last_error=delivery.last_error,
            sent_at=delivery.sent_at,
            replays=delivery.replays,
            created_at=delivery.created_at,
            attempt_log=[WebhookAttempt.from_domain(a) for a in delivery.log],
            webhook_key=delivery.webhook,
        )

    @strawberry.field(description="The webhook it was sent to.")
    async def webhook(self, info: Info) -> PartnerWebhook | None:
        found = await partner_loaders(info).webhooks_by_id.load(self.webhook_key)
        return PartnerWebhook.from_domain(found) if found else None

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await _by_ids(partner_loaders(info).deliveries_by_id, node_ids, cls.from_domain)


def partner_wards(wards: Sequence) -> list[PartnerWard]:
    return [
        PartnerWard(id=relay.GlobalID("Ward", str(w.id)), code=w.code, name=w.name) for w in wards
    ]
