"""tipUpdates: live tip changes for integration partners, over graphql-transport-ws.

The partner's access token travels in connection_init ({"Authorization": "Bearer <token>"}) and is
checked there, its client included. A revocation ends the stream at once (PartnerClientRevoked, on
the bus); should the bus lose that event, the client is checked again before any update sent more
than a minute after the last check. Events come from the container's bus, so with Redis they
arrive from every replica; each is read back from the database as a `PartnerTipUpdate`, which
never says who reported the tip nor what the report says.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Any

import strawberry

from api.graphql.base import ClientError, query_ids
from api.graphql.context import Context, Info
from api.graphql.partners.inputs import PartnerTipUpdateFilter
from api.graphql.partners.types import PartnerTipUpdate
from domain.access import Scope
from domain.events import Event, PartnerClientRevoked, TipReceived, TipUpdated
from domain.ids import WardId
from domain.partner import PartnerPrincipal, PartnerScope
from domain.ports import EventStream
from domain.services.partners import PartnerService

RECHECK_SECONDS = 60.0
MAX_WARD_CODES = 100
_END = object()
# Checks of one client that start this close together share one read (see still_active).
SHARED_CHECK_SECONDS = 2.0
_checks: weakref.WeakKeyDictionary[
    PartnerService, dict[Any, tuple[float, asyncio.Future[bool]]]
] = weakref.WeakKeyDictionary()


async def still_active(service: PartnerService, partner: PartnerPrincipal) -> bool:
    """`service.still_active(partner)`, one read per client per moment in this process.

    A partner's subscriptions come due for their check together (on the first event after a
    quiet minute, every one of them): a read each made that event wait for 1,000 database round
    trips with 1,000 subscriptions, its last subscriber 1.9 s instead of 0.4 s
    (bench/tip_fanout.py). The check depends on the client alone, so its subscriptions share
    it, as tip_update shares its read; the answer is at most SHARED_CHECK_SECONDS older."""
    checks = _checks.setdefault(service, {})
    now = time.monotonic()
    entry = checks.get(partner.client)
    if entry is None or now - entry[0] > SHARED_CHECK_SECONDS:
        if len(checks) > 1000:
            for client in [c for c, (at, _) in checks.items() if now - at > SHARED_CHECK_SECONDS]:
                del checks[client]
        entry = (now, asyncio.ensure_future(service.still_active(partner)))
        checks[partner.client] = entry
    try:
        return await asyncio.shield(entry[1])
    except Exception:
        if checks.get(partner.client) is entry:
            del checks[partner.client]  # the next check reads again
        raise


async def merged(stream: EventStream, topics: Sequence[tuple[str, Scope]]) -> AsyncIterator[Event]:
    """The events of several (topic, scope) subscriptions as one stream, in arrival order."""
    queue: asyncio.Queue[Any] = asyncio.Queue()

    async def pump(topic: str, scope: Scope) -> None:
        try:
            async for event in stream.subscribe(topic, scope=scope):
                queue.put_nowait(event)
        finally:
            queue.put_nowait(_END)  # the bus closed: so does this stream

    tasks = [asyncio.create_task(pump(topic, scope)) for topic, scope in topics]
    try:
        while (item := await queue.get()) is not _END:
            yield item
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _scope(
    context: Context, partner: PartnerPrincipal, filter: PartnerTipUpdateFilter
) -> Scope:
    """The partner's units, narrowed by the filter. Units that are not the partner's are simply
    not followed (as if they did not exist)."""
    wards = set(partner.ward_ids)
    if filter.ward_ids is not None:
        wards &= {WardId(w) for w in query_ids(filter.ward_ids, "Ward", "wardIds")}
    if filter.ward_codes is not None:
        if len(filter.ward_codes) > MAX_WARD_CODES:
            raise ClientError(
                f"At most {MAX_WARD_CODES} ward codes.", f"Tối đa {MAX_WARD_CODES} mã đơn vị."
            )
        found: set[WardId] = set()
        async with context.container.uow() as uow:
            for code in filter.ward_codes:
                ward = await uow.wards.by_code(code.strip())
                if ward is not None:
                    found.add(ward.id)
        wards &= found
    return Scope(wards=frozenset(wards))


@strawberry.type
class PartnerSubscription:
    @strawberry.subscription(
        description="Each new or changed tip of the partner's units (scope tips:read), as it"
        " happens, without reporter identity. Partners only: connect with a partner access token."
    )
    async def tip_updates(
        self, info: Info, filter: PartnerTipUpdateFilter | None = None
    ) -> AsyncGenerator[PartnerTipUpdate, None]:
        context = info.context
        partner = context.partner
        if partner is None:
            raise ClientError(
                "tipUpdates is for integration partners: connect with a partner access token.",
                "tipUpdates dành cho đối tác: hãy kết nối bằng mã truy cập của đối tác.",
                "FORBIDDEN",
            )
        if not partner.has(PartnerScope.TIPS_READ):
            raise ClientError(
                "The access token lacks the tips:read scope.",
                "Mã truy cập thiếu phạm vi tips:read.",
                "FORBIDDEN",
            )
        f = filter or PartnerTipUpdateFilter()
        scope = await _scope(context, partner, f)
        categories, statuses = set(f.categories or ()), set(f.statuses or ())
        service = context.container.partners
        checked = time.monotonic()
        topics = [
            (TipReceived.__name__, scope),
            (TipUpdated.__name__, scope),
            # Revocations belong to no ward: only the system's scope hears them.
            (PartnerClientRevoked.__name__, Scope.all()),
        ]
        async for event in merged(context.container.bus, topics):
            revoked = isinstance(event, PartnerClientRevoked) and event.client == partner.client
            if not revoked and time.monotonic() - checked > RECHECK_SECONDS:
                # The bus may have lost the revocation (Redis pub/sub is fire-and-forget).
                checked = time.monotonic()
                revoked = not await still_active(service, partner)
            if revoked:
                raise ClientError(
                    "The partner client was revoked.",
                    "Ứng dụng đối tác đã bị thu hồi.",
                    "UNAUTHENTICATED",
                )
            view = await service.tip_update(event, scope)
            if view is None:
                continue
            if (categories and view.category not in categories) or (
                statuses and view.status not in statuses
            ):
                continue
            yield PartnerTipUpdate.from_view(view)
