"""Queries over tips: the staff's lists, a reporter's status by tracking code, the audit log."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from api.graphql.base import ClientError, Connection, decode_cursor, page_size, query_ids
from api.graphql.context import Info
from api.graphql.permissions import IsAuthenticated
from api.graphql.tips.inputs import AuditLogFilter, TipFilter
from api.graphql.tips.types import AuditEntry, PublicTipReply, PublicTipStatus, Tip
from domain import ports
from domain.access import Role
from domain.ids import MemberId, TipId, WardId

# A limiter forgets its clients when it knows this many: memory stays bounded whatever the traffic.
_LIMITER_CLIENTS = 50_000


def _first(info: Info, first: int) -> int:
    return page_size(first, info.context.container.settings.max_page_size)


def _aware(value: datetime | None, field: str) -> datetime | None:
    if value is not None and value.utcoffset() is None:
        raise ClientError(
            f"'{field}' must carry a time zone (e.g. 2026-11-23T08:00:00+07:00).",
            f"'{field}' phải kèm múi giờ (ví dụ 2026-11-23T08:00:00+07:00).",
        )
    return value


def throttle(info: Info, what: str) -> None:
    """Refuse a caller that asks too fast (per client address)."""
    container = info.context.container
    limiter = container.tip_limiter
    if len(limiter._buckets) > _LIMITER_CLIENTS:
        limiter._buckets.clear()
    client = getattr(getattr(info.context.request, "client", None), "host", None) or "?"
    if limiter.wait_seconds((what, client), container.clock.now()) > 0:
        raise ClientError(
            "Too many requests; try again in a moment.",
            "Quá nhiều yêu cầu; vui lòng thử lại sau ít phút.",
            "RATE_LIMITED",
        )


@strawberry.type
class TipQuery:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Tips of the units where you are an officer or above, newest first.",
    )
    async def tips(
        self,
        info: Info,
        filter: TipFilter | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Tip]:
        f = filter or TipFilter()
        container = info.context.container
        domain_filter = ports.TipFilter(
            ward_ids=tuple(WardId(w) for w in query_ids(f.ward_ids, "Ward", "wardIds")),
            categories=tuple(f.categories or ()),
            statuses=tuple(f.statuses or ()),
            assignee_ids=tuple(
                MemberId(m) for m in query_ids(f.assignee_ids, "Member", "assigneeIds")
            ),
            overdue=f.overdue,
            now=container.clock.now(),
            text=f.text,
            received_from=_aware(f.received_from, "receivedFrom"),
            received_to=_aware(f.received_to, "receivedTo"),
        )
        async with container.uow() as uow:
            page = await uow.tips.page(
                domain_filter,
                scope=info.context.actor.scope(Role.OFFICER),
                after=decode_cursor(after),
                first=_first(info, first),
            )
        return Connection.from_page(page, Tip.from_domain, lambda t: str(t.id))

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="One tip; null when absent or not of your units.",
    )
    async def tip(self, info: Info, id: relay.GlobalID) -> Tip | None:
        (key,) = query_ids([id], "Tip", "id")
        tip = await info.context.loaders.tips_by_id.load(TipId(key))
        return Tip.from_domain(tip) if tip else None

    @strawberry.field(
        description="A tip's state and the police's messages, for whoever holds its tracking"
        " code: no token needed. Null for a code that names no tip. Rate-limited per client."
    )
    async def tip_status(self, info: Info, tracking_code: str) -> PublicTipStatus | None:
        throttle(info, "tipStatus")
        view = await info.context.container.tips.status_for_reporter(tracking_code)
        if view is None:
            return None
        tip = view.tip
        return PublicTipStatus(
            tracking_code=tip.tracking_code,
            status=tip.status,
            received_at=tip.received_at,
            updated_at=tip.updated_at or tip.received_at,
            replies=[PublicTipReply(body=m.body, at=m.at) for m in view.replies],
        )

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Sensitive acts (such as revealing a reporter) in the units you administer,"
        " newest first.",
    )
    async def audit_log(
        self,
        info: Info,
        filter: AuditLogFilter | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[AuditEntry]:
        f = filter or AuditLogFilter()
        domain_filter = ports.AuditFilter(
            ward_ids=tuple(WardId(w) for w in query_ids(f.ward_ids, "Ward", "wardIds")),
            actions=tuple(f.actions or ()),
            subject_ids=query_ids(f.subject_ids, "Tip", "subjectIds"),
            actor_ids=tuple(MemberId(m) for m in query_ids(f.actor_ids, "Member", "actorIds")),
            at_from=_aware(f.at_from, "atFrom"),
            at_to=_aware(f.at_to, "atTo"),
        )
        async with info.context.container.uow() as uow:
            page = await uow.audit.page(
                domain_filter,
                scope=info.context.actor.scope(Role.ADMIN),
                after=decode_cursor(after),
                first=_first(info, first),
            )
        return Connection.from_page(page, AuditEntry.from_domain, lambda e: str(e.id))
