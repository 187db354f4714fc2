"""Live queues: officers watch their units' inquiries arrive and move."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from api.graphql.base import query_ids
from api.graphql.context import Info
from api.graphql.inquiries.inputs import InquiryUpdatesFilter
from api.graphql.inquiries.types import Inquiry
from api.graphql.permissions import IsAuthenticated
from domain.access import Role
from domain.events import InquiryReceived, InquiryUpdated
from domain.ids import WardId
from domain.services.inquiries import InquiryService


@strawberry.type
class InquirySubscription:
    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="Each new inquiry and each change of one, in the units where you are an"
        " officer or above, filtered as asked.",
    )
    async def inquiry_updates(
        self, info: Info, filter: InquiryUpdatesFilter | None = None
    ) -> AsyncGenerator[Inquiry, None]:
        f = filter or InquiryUpdatesFilter()
        wards = {WardId(w) for w in query_ids(f.ward_ids, "Ward", "wardIds")}
        departments, statuses = set(f.departments or ()), set(f.statuses or ())
        context = info.context
        scope = context.actor.scope(Role.OFFICER)
        # Received and updated events share one stream: an inquiry's first event is received.
        stream = context.container.bus.subscribe(InquiryUpdated.__name__, scope=scope)
        async for event in stream:
            if not isinstance(event, InquiryUpdated | InquiryReceived):
                continue
            if wards and event.ward_id not in wards:
                continue
            # Read afresh: the event says that it changed, the database says how.
            async with context.container.uow() as uow:
                inquiry = await uow.inquiries.get(event.inquiry_id, scope=scope)
            if inquiry is None or not InquiryService.visible_to(context.actor, inquiry):
                continue
            if departments and inquiry.department not in departments:
                continue
            if statuses and inquiry.status not in statuses:
                continue
            yield Inquiry.from_domain(inquiry)
