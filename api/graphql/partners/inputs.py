"""Input objects of partners and their conversion to domain commands, with field paths."""

from __future__ import annotations

import strawberry
from strawberry import relay

from api.graphql.base import decode_id
from api.graphql.partners.types import PartnerScope, WebhookDeliveryStatus, WebhookEventType
from api.graphql.tips.types import TipCategory, TipStatus
from domain.ids import WardId
from domain.partner import PartnerClientId, PartnerWebhookId, WebhookDeliveryId
from domain.partner import PartnerScope as DomainPartnerScope
from domain.services.partners import PartnerClientCreate, PartnerWebhookCreate


def client_id(gid: relay.GlobalID, field: str = "id") -> PartnerClientId:
    return PartnerClientId(decode_id(gid, "PartnerClient", (field,)))


def webhook_id(gid: relay.GlobalID, field: str = "id") -> PartnerWebhookId:
    return PartnerWebhookId(decode_id(gid, "PartnerWebhook", (field,)))


def delivery_id(gid: relay.GlobalID, field: str = "deliveryId") -> WebhookDeliveryId:
    return WebhookDeliveryId(decode_id(gid, "WebhookDelivery", (field,)))


@strawberry.input
class PartnerClientCreateInput:
    name: str
    ward_ids: list[relay.GlobalID] = strawberry.field(
        description="The units whose tips the partner follows; you must be admin of each."
    )
    scopes: list[PartnerScope] | None = strawberry.field(
        default=None, description="Default: TIPS_READ."
    )

    def to_command(self) -> PartnerClientCreate:
        wards = tuple(
            WardId(decode_id(g, "Ward", ("wardIds", str(i)))) for i, g in enumerate(self.ward_ids)
        )
        scopes = self.scopes if self.scopes is not None else [DomainPartnerScope.TIPS_READ]
        return PartnerClientCreate(
            name=self.name, ward_ids=wards, scopes=tuple(s.value for s in scopes)
        )


@strawberry.input
class PartnerClientRevokeInput:
    id: relay.GlobalID


@strawberry.input
class PartnerWebhookCreateInput:
    url: str = strawberry.field(
        description="https, on a public address (plain http and loopback only in development)."
    )
    events: list[WebhookEventType] | None = strawberry.field(
        default=None, description="Default: both TIP_CREATED and TIP_UPDATED."
    )
    client_id: relay.GlobalID | None = strawberry.field(
        default=None,
        description="The client, when an admin creates it; a partner's webhooks are its own.",
    )

    def to_command(self) -> PartnerWebhookCreate:
        return PartnerWebhookCreate(
            url=self.url,
            events=tuple(self.events) if self.events is not None else None,
            client=client_id(self.client_id, "clientId") if self.client_id else None,
        )


@strawberry.input
class PartnerWebhookDeleteInput:
    id: relay.GlobalID


@strawberry.input
class PartnerWebhookReplayInput:
    delivery_id: relay.GlobalID


@strawberry.input
class PartnerClientFilter:
    include_revoked: bool = True


@strawberry.input
class WebhookDeliveryFilter:
    client_id: relay.GlobalID | None = None
    webhook_id: relay.GlobalID | None = None
    statuses: list[WebhookDeliveryStatus] | None = None


@strawberry.input(description="Every field narrows; what is left out does not.")
class PartnerTipUpdateFilter:
    ward_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None, description="Units by global id (among the partner's)."
    )
    ward_codes: list[str] | None = strawberry.field(
        default=None, description="Units by code, e.g. HM-TANMAI (among the partner's)."
    )
    categories: list[TipCategory] | None = None
    statuses: list[TipStatus] | None = None
