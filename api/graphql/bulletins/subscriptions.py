"""Live delivery status for the people watching a bulletin go out."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry import relay

from api.graphql.base import ClientError, query_ids
from api.graphql.bulletins.types import Delivery
from api.graphql.context import Info
from api.graphql.permissions import IsAuthenticated
from domain.access import Role
from domain.events import DeliveryUpdated
from domain.ids import BulletinId


@strawberry.type
class BulletinSubscription:
    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="Each change of a delivery of this bulletin, as it happens (staff of its ward).",
    )
    async def bulletin_delivery_updates(
        self, info: Info, bulletin_id: relay.GlobalID
    ) -> AsyncGenerator[Delivery, None]:
        (raw_id,) = query_ids([bulletin_id], "Bulletin", "bulletinId")
        context = info.context
        scope = context.actor.scope(Role.OFFICER)
        async with context.container.uow() as uow:
            bulletin = await uow.bulletins.get(BulletinId(raw_id), scope=scope)
        if bulletin is None:
            raise ClientError("Bulletin not found.", "Không tìm thấy bản tin.", "NOT_FOUND")
        async for event in context.container.bus.subscribe(DeliveryUpdated.__name__, scope=scope):
            if not isinstance(event, DeliveryUpdated) or event.bulletin_id != bulletin.id:
                continue
            # Read the delivery afresh: the event says that it changed, the database says how.
            async with context.container.uow() as uow:
                delivery = await uow.deliveries.get(event.delivery_id, scope=scope)
            if delivery is not None:
                yield Delivery.from_domain(delivery)
