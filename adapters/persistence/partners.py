"""Repositories of partner clients, their webhooks and the webhook delivery outbox.

Scoping: a client is within a scope when any of its units is; a delivery when the unit of its tip
is. Webhooks are reached through their client, which the service checks.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.persistence.mappers import utc
from adapters.persistence.partner_tables import (
    PartnerClientRow,
    PartnerClientWardRow,
    PartnerWebhookDeliveryRow,
    PartnerWebhookRow,
)
from adapters.persistence.repositories import _Repository, chunks, lock_for_write
from domain.access import Scope
from domain.ids import MemberId, TipId, WardId
from domain.partner import (
    DeliveryAttempt,
    PartnerClient,
    PartnerClientId,
    PartnerScope,
    PartnerWebhook,
    PartnerWebhookId,
    WebhookDelivery,
    WebhookDeliveryId,
    WebhookDeliveryStatus,
    WebhookEventType,
    WebhookStatus,
)
from domain.ports import Page
from domain.ports.partners import PartnerClientFilter, WebhookDeliveryFilter

client_t = PartnerClientRow.__table__
client_ward_t = PartnerClientWardRow.__table__
webhook_t = PartnerWebhookRow.__table__
delivery_t = PartnerWebhookDeliveryRow.__table__


def _postgres(session: AsyncSession) -> bool:
    return session.bind.dialect.name == "postgresql"


class SqlPartnerClientRepository(_Repository[PartnerClient]):  # type: ignore[type-var]
    table = client_t

    def _values(self, entity: PartnerClient) -> dict:
        return {
            "id": entity.id,
            "client_id": entity.client_id,
            "name": entity.name,
            "scopes": " ".join(sorted(entity.scopes)),
            "secret_hash": entity.secret_hash,
            "created_at": utc(entity.created_at),
            "created_by": entity.created_by,
            "revoked_at": utc(entity.revoked_at),
            "revoked_by": entity.revoked_by,
        }

    def _update_values(self, entity: PartnerClient) -> dict:
        # Only revocation changes a client; its units and secret are fixed at creation.
        return {"revoked_at": utc(entity.revoked_at), "revoked_by": entity.revoked_by}

    async def _entities(self, rows: Sequence[Any]) -> list[PartnerClient]:
        wards: dict[uuid.UUID, list[WardId]] = defaultdict(list)
        for part in chunks([row.id for row in rows]):
            query = (
                sa.select(client_ward_t)
                .where(client_ward_t.c.client_id.in_(part))
                .order_by(client_ward_t.c.client_id, client_ward_t.c.ward_id)
            )
            for row in (await self.session.execute(query)).all():
                wards[row.client_id].append(WardId(row.ward_id))
        return [
            PartnerClient(
                id=PartnerClientId(row.id),
                client_id=row.client_id,
                name=row.name,
                scopes=frozenset(row.scopes.split()),
                ward_ids=tuple(wards[row.id]),
                secret_hash=row.secret_hash,
                created_at=utc(row.created_at),
                created_by=MemberId(row.created_by) if row.created_by else None,
                revoked_at=utc(row.revoked_at),
                revoked_by=MemberId(row.revoked_by) if row.revoked_by else None,
            )
            for row in rows
        ]

    def _scoped(self, query: sa.Select, scope: Scope) -> sa.Select:
        if scope.everything:
            return query
        if not scope.wards:
            return query.where(sa.false())
        visible = sa.select(client_ward_t.c.client_id).where(
            client_ward_t.c.ward_id.in_(list(scope.wards))
        )
        return query.where(client_t.c.id.in_(visible))

    async def get(
        self, id: PartnerClientId, *, scope: Scope, for_update: bool = False
    ) -> PartnerClient | None:
        tracked = self._tracked.get(id)
        if tracked is not None:
            return tracked if scope.everything or set(tracked.ward_ids) & scope.wards else None
        return await super().get(id, scope=scope, for_update=for_update)

    async def by_client_id(self, client_id: str) -> PartnerClient | None:
        row = (
            await self.session.execute(sa.select(client_t).where(client_t.c.client_id == client_id))
        ).first()
        return (await self._entities([row]))[0] if row else None

    async def page(
        self, filter: PartnerClientFilter, *, scope: Scope, after: str | None, first: int
    ) -> Page[PartnerClient]:
        conditions = [] if filter.include_revoked else [client_t.c.revoked_at.is_(None)]
        return await self._page(conditions, scope=scope, after=after, first=first)

    async def _flush_children(self) -> None:
        rows = [{"client_id": c.id, "ward_id": w} for c in self._new for w in c.ward_ids]
        for part in chunks(rows):
            await self.session.execute(sa.insert(client_ward_t), list(part))


def _webhook(row: Any) -> PartnerWebhook:
    return PartnerWebhook(
        id=PartnerWebhookId(row.id),
        client=PartnerClientId(row.client_id),
        url=row.url,
        events=frozenset(WebhookEventType(e) for e in row.events.split()),
        secret_key_id=row.secret_key_id,
        secret_sealed=bytes(row.secret_sealed),
        created_at=utc(row.created_at),
        status=WebhookStatus(row.status),
        status_reason=row.status_reason,
        status_changed_at=utc(row.status_changed_at),
    )


class SqlPartnerWebhookRepository(_Repository[PartnerWebhook]):  # type: ignore[type-var]
    table = webhook_t

    def _values(self, entity: PartnerWebhook) -> dict:
        return {
            "id": entity.id,
            "client_id": entity.client,
            "url": entity.url,
            "events": " ".join(sorted(e.value for e in entity.events)),
            "secret_key_id": entity.secret_key_id,
            "secret_sealed": entity.secret_sealed,
            "status": entity.status.value,
            "status_reason": entity.status_reason,
            "status_changed_at": utc(entity.status_changed_at),
            "created_at": utc(entity.created_at),
        }

    def _update_values(self, entity: PartnerWebhook) -> dict:
        return {
            "status": entity.status.value,
            "status_reason": entity.status_reason,
            "status_changed_at": utc(entity.status_changed_at),
        }

    async def _entities(self, rows: Sequence[Any]) -> list[PartnerWebhook]:
        return [_webhook(row) for row in rows]

    async def get(  # type: ignore[override]
        self, id: PartnerWebhookId, *, for_update: bool = False
    ) -> PartnerWebhook | None:
        return await super().get(id, scope=Scope.all(), for_update=for_update)

    async def get_many(  # type: ignore[override]
        self, ids: Sequence[PartnerWebhookId]
    ) -> list[PartnerWebhook | None]:
        return await super().get_many(ids, scope=Scope.all())

    async def of_clients(
        self, client_ids: Sequence[PartnerClientId], *, include_deleted: bool = False
    ) -> list[list[PartnerWebhook]]:
        found: dict[uuid.UUID, list[PartnerWebhook]] = defaultdict(list)
        for part in chunks(list(dict.fromkeys(client_ids))):
            query = sa.select(webhook_t).where(webhook_t.c.client_id.in_(part))
            if not include_deleted:
                query = query.where(webhook_t.c.status != WebhookStatus.DELETED.value)
            for row in (await self.session.execute(query.order_by(webhook_t.c.id))).all():
                found[row.client_id].append(_webhook(row))
        return [found.get(c, []) for c in client_ids]

    async def listening_in(self, ward_id: WardId) -> list[PartnerWebhook]:
        query = (
            sa.select(webhook_t, client_t.c.scopes.label("client_scopes"))
            .join(client_t, client_t.c.id == webhook_t.c.client_id)
            .join(client_ward_t, client_ward_t.c.client_id == client_t.c.id)
            .where(
                client_ward_t.c.ward_id == ward_id,
                client_t.c.revoked_at.is_(None),
                webhook_t.c.status == WebhookStatus.ACTIVE.value,
            )
            .order_by(webhook_t.c.id)
        )
        rows = (await self.session.execute(query)).all()
        return [
            _webhook(row)
            for row in rows
            if PartnerScope.TIPS_READ.value in row.client_scopes.split()
        ]


def _attempts(raw: str) -> list[DeliveryAttempt]:
    return [
        DeliveryAttempt(
            at=utc(datetime.fromisoformat(a["at"])),
            status_code=a.get("status"),
            error=a.get("error"),
            duration_ms=a.get("ms"),
            replay=bool(a.get("replay")),
        )
        for a in json.loads(raw or "[]")
    ]


def _attempts_json(attempts: Sequence[DeliveryAttempt]) -> str:
    return json.dumps(
        [
            {
                "at": utc(a.at).isoformat(),
                "status": a.status_code,
                "error": a.error,
                "ms": a.duration_ms,
                "replay": a.replay,
            }
            for a in attempts
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )


class SqlWebhookDeliveryRepository(_Repository[WebhookDelivery]):  # type: ignore[type-var]
    table = delivery_t

    def __init__(self, session: AsyncSession, now: Any) -> None:
        super().__init__(session)
        self._now = now

    def _values(self, entity: WebhookDelivery) -> dict:
        values = self._update_values(entity)
        values.update(
            id=entity.id,
            webhook_id=entity.webhook,
            client_id=entity.client,
            ward_id=entity.ward_id,
            tip_id=entity.tip_id,
            event_type=entity.event_type.value,
            payload=entity.payload,
            created_at=utc(entity.created_at),
        )
        return values

    def _update_values(self, entity: WebhookDelivery) -> dict:
        return {
            "status": entity.status.value,
            "attempts": entity.attempts,
            "max_attempts": entity.max_attempts,
            "next_attempt_at": utc(entity.next_attempt_at),
            "lease_expires_at": utc(entity.lease_expires_at),
            "last_status_code": entity.last_status_code,
            "last_error": entity.last_error,
            "sent_at": utc(entity.sent_at),
            "replays": entity.replays,
            "log": _attempts_json(entity.log),
            "updated_at": utc(self._now()),
        }

    async def _entities(self, rows: Sequence[Any]) -> list[WebhookDelivery]:
        return [
            WebhookDelivery(
                id=WebhookDeliveryId(row.id),
                webhook=PartnerWebhookId(row.webhook_id),
                client=PartnerClientId(row.client_id),
                ward_id=WardId(row.ward_id),
                tip_id=TipId(row.tip_id),
                event_type=WebhookEventType(row.event_type),
                payload=row.payload,
                created_at=utc(row.created_at),
                status=WebhookDeliveryStatus(row.status),
                attempts=row.attempts,
                max_attempts=row.max_attempts,
                next_attempt_at=utc(row.next_attempt_at),
                lease_expires_at=utc(row.lease_expires_at),
                last_status_code=row.last_status_code,
                last_error=row.last_error,
                sent_at=utc(row.sent_at),
                replays=row.replays,
                log=_attempts(row.log),
            )
            for row in rows
        ]

    async def page(
        self, filter: WebhookDeliveryFilter, *, scope: Scope, after: str | None, first: int
    ) -> Page[WebhookDelivery]:
        c = delivery_t.c
        conditions: list[sa.ColumnElement[bool]] = []
        if filter.clients:
            conditions.append(c.client_id.in_(list(filter.clients)))
        if filter.webhooks:
            conditions.append(c.webhook_id.in_(list(filter.webhooks)))
        if filter.statuses:
            conditions.append(c.status.in_([s.value for s in filter.statuses]))
        return await self._page(
            conditions, scope=scope, after=after, first=first, newest_first=True
        )

    async def claim_due(self, now: datetime, limit: int) -> list[WebhookDelivery]:
        c = delivery_t.c
        pending = [WebhookDeliveryStatus.PENDING.value, WebhookDeliveryStatus.FAILED.value]
        due = sa.or_(
            sa.and_(c.status.in_(pending), c.next_attempt_at <= now),
            sa.and_(c.status == WebhookDeliveryStatus.SENDING.value, c.lease_expires_at <= now),
        )
        # Asked on every poll of every worker: an indexed probe answers "nothing due" without
        # taking SQLite's write lock.
        if await self.session.scalar(sa.select(c.id).where(due).limit(1)) is None:
            return []
        query = sa.select(delivery_t).where(due).order_by(c.next_attempt_at, c.id).limit(limit)
        if _postgres(self.session):
            # Each worker takes rows nobody else holds; a busy row is skipped, not waited for.
            query = query.with_for_update(skip_locked=True)
        else:
            await lock_for_write(self.session, delivery_t)
        deliveries = await self._entities((await self.session.execute(query)).all())
        for delivery in deliveries:
            self._tracked[delivery.id] = delivery
        return deliveries
