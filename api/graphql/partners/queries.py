"""Queries of partners: admins list clients; a partner reads itself and its delivery log; admins
read the deliveries of tips of their units."""

from __future__ import annotations

import strawberry

from api.graphql.base import Connection, decode_cursor, page_size, query_ids, unauthenticated
from api.graphql.context import Info
from api.graphql.partners.inputs import PartnerClientFilter, WebhookDeliveryFilter
from api.graphql.partners.types import (
    PartnerClient,
    PartnerViewer,
    PartnerWebhook,
    WebhookDelivery,
    partner_wards,
)
from api.graphql.permissions import IsAuthenticated
from domain.access import Scope
from domain.partner import PartnerClientId, PartnerScope, PartnerWebhookId
from domain.ports import partners as ports


def _first(info: Info, first: int) -> int:
    return page_size(first, info.context.container.settings.max_page_size)


@strawberry.type
class PartnerQuery:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Partner clients that hold a unit where you are admin, oldest first.",
    )
    async def partner_clients(
        self,
        info: Info,
        filter: PartnerClientFilter | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[PartnerClient]:
        f = filter or PartnerClientFilter()
        page = await info.context.container.partners.clients(
            info.context.actor,
            ports.PartnerClientFilter(include_revoked=f.include_revoked),
            after=decode_cursor(after),
            first=_first(info, first),
        )
        return Connection.from_page(page, PartnerClient.from_domain, lambda c: str(c.id))

    @strawberry.field(
        description="Webhook deliveries, newest first: a partner's own (with a partner token),"
        " or, for admins, those of tips of their units."
    )
    async def partner_webhook_deliveries(
        self,
        info: Info,
        filter: WebhookDeliveryFilter | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[WebhookDelivery]:
        context = info.context
        caller = context.partner or context.actor
        if context.partner is None and not context.actor.authenticated:
            raise unauthenticated()
        f = filter or WebhookDeliveryFilter()
        clients = query_ids([f.client_id] if f.client_id else [], "PartnerClient", "clientId")
        webhooks = query_ids([f.webhook_id] if f.webhook_id else [], "PartnerWebhook", "webhookId")
        page = await context.container.partners.deliveries(
            caller,
            ports.WebhookDeliveryFilter(
                clients=tuple(PartnerClientId(c) for c in clients),
                webhooks=tuple(PartnerWebhookId(w) for w in webhooks),
                statuses=tuple(f.statuses or ()),
            ),
            after=decode_cursor(after),
            first=_first(info, first),
        )
        return Connection.from_page(page, WebhookDelivery.from_domain, lambda d: str(d.id))

    @strawberry.field(
        description="The calling partner: its client, units and webhooks. Null without a"
        " partner token."
    )
    async def partner_viewer(self, info: Info) -> PartnerViewer | None:
        partner = info.context.partner
        if partner is None:
            return None
        container = info.context.container
        async with container.uow() as uow:
            wards = [
                w
                for w in await uow.wards.get_many(
                    sorted(partner.ward_ids, key=str), scope=Scope.all()
                )
                if w is not None
            ]
        (webhooks,) = await container.partners.webhooks_of([partner.client])
        return PartnerViewer(
            client_id=partner.client_id,
            name=partner.name,
            scopes=sorted((PartnerScope(s) for s in partner.scopes), key=lambda s: s.value),
            wards=partner_wards(wards),
            webhooks=[PartnerWebhook.from_domain(w) for w in webhooks],
        )
