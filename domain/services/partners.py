"""Use cases of integration partners: clients and webhooks managed by admins, the partner's own
principal, the tip view partners get, and the webhook outbox (written in the transaction of the
tip change, sent by the worker, retried, replayed).

Who may do what:
- admins create a client for units where they are admin (every unit it names);
- an admin of any unit a client names sees it, revokes it and manages its webhooks: whoever
  answers for data a partner reads may cut it off;
- a partner manages its own webhooks, reads its own delivery log and replays its deliveries;
- nothing else of the API is open to a partner (it is never an Actor).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from domain.access import Actor, Role, Scope
from domain.errors import DomainError, ErrorCode, not_found
from domain.events import Event, PartnerClientRevoked, TipReceived, TipUpdated
from domain.ids import TipId, WardId, new_id
from domain.partner import (
    MAX_WEBHOOKS_PER_CLIENT,
    SECRET_BYTES,
    WEBHOOK_SECRET_PREFIX,
    AttemptResult,
    PartnerClient,
    PartnerClientId,
    PartnerPrincipal,
    PartnerScope,
    PartnerTipView,
    PartnerWebhook,
    PartnerWebhookId,
    WebhookDelivery,
    WebhookDeliveryId,
    WebhookDeliveryStatus,
    WebhookEventType,
    check_webhook_url,
    webhook_payload,
)
from domain.ports import Clock, EventPublisher, Page, UnitOfWork
from domain.ports.partners import (
    PartnerClientFilter,
    PartnerClientRepository,
    PartnerWebhookRepository,
    SecretBox,
    WebhookDeliveryFilter,
    WebhookDeliveryRepository,
    WebhookSender,
    WebhookSendResult,
)
from domain.tip import Tip, TipStatus

log = logging.getLogger(__name__)

VIEW_CACHE_SECONDS = 2.0

Caller = Actor | PartnerPrincipal


class PartnerUnitOfWork(UnitOfWork, Protocol):
    partners: PartnerClientRepository
    partner_webhooks: PartnerWebhookRepository
    webhook_deliveries: WebhookDeliveryRepository


class PartnerUnitOfWorkFactory(Protocol):
    def __call__(self) -> PartnerUnitOfWork: ...


@dataclass(frozen=True, slots=True)
class PartnerClientCreate:
    name: str
    ward_ids: tuple[WardId, ...]
    scopes: tuple[str, ...] = (PartnerScope.TIPS_READ.value,)


@dataclass(frozen=True, slots=True)
class PartnerWebhookCreate:
    url: str
    events: tuple[WebhookEventType, ...] | None = None
    # The client an admin acts for; a partner's webhooks are always its own.
    client: PartnerClientId | None = None


@dataclass(frozen=True, slots=True)
class SendJob:
    """A claimed delivery with what is needed to send it outside any transaction."""

    delivery_id: WebhookDeliveryId
    message_id: str
    url: str
    body: bytes
    secret: bytes
    lease: datetime | None


def webhook_secret_context(webhook_id: PartnerWebhookId) -> bytes:
    """Binds a sealed webhook secret to its row: moved to another row, it no longer opens."""
    return f"partner-webhook:{webhook_id}".encode()


def display_secret(secret: bytes) -> str:
    return WEBHOOK_SECRET_PREFIX + base64.b64encode(secret).decode()


def _event_type(event: Event) -> WebhookEventType | None:
    if isinstance(event, TipReceived):
        return WebhookEventType.TIP_CREATED
    if isinstance(event, TipUpdated):
        return WebhookEventType.TIP_UPDATED
    return None


class PartnerService:
    def __init__(
        self,
        uow: PartnerUnitOfWorkFactory,
        clock: Clock,
        publisher: EventPublisher,
        *,
        box: SecretBox,
        sender: WebhookSender,
        tip_ref: Callable[[TipId], str],
        allow_http: bool = False,
        allow_private: bool = False,
        lease: timedelta = timedelta(minutes=2),
        concurrency: int = 16,
        rand: Callable[[], float] = random.random,
        rand_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._publisher = publisher
        self._box = box
        self._sender = sender
        self._tip_ref = tip_ref
        self._allow_http = allow_http
        self._allow_private = allow_private
        self._lease = lease
        self._slots = asyncio.Semaphore(concurrency)
        self._rand = rand
        self._rand_bytes = rand_bytes
        self._recent: dict[tuple, tuple[float, asyncio.Future[PartnerTipView | None]]] = {}

    # clients (admins)

    async def create_client(
        self, actor: Actor, cmd: PartnerClientCreate
    ) -> tuple[PartnerClient, str]:
        """The new client and its secret, which is shown this once and stored only hashed."""
        actor.require_authenticated()
        async with self._uow() as uow:
            ward_ids = list(dict.fromkeys(cmd.ward_ids))
            found = await uow.wards.get_many(ward_ids, scope=actor.scope())
            for i, (ward_id, ward) in enumerate(zip(ward_ids, found, strict=True)):
                field = ("wardIds", str(i))
                if ward is None:
                    raise not_found("đơn vị", "Unit", field)
                actor.require(Role.ADMIN, ward_id, field)
            client, secret = PartnerClient.register(
                name=cmd.name,
                scopes=cmd.scopes,
                ward_ids=ward_ids,
                created_by=actor.member_id,
                now=self._clock.now(),
                rand=self._rand_bytes,
            )
            uow.partners.add(client)
            await uow.commit()
        log.info("partner client %s created by %s", client.client_id, actor.member_id)
        return client, secret

    async def revoke_client(self, actor: Actor, client_id: PartnerClientId) -> PartnerClient:
        actor.require_authenticated()
        async with self._uow() as uow:
            client = await self._admin_client(uow, actor, client_id, for_update=True)
            client.revoke(actor_id=actor.member_id, now=self._clock.now())
            await uow.commit()
        log.info("partner client %s revoked by %s", client.client_id, actor.member_id)
        # Ends its live subscriptions at once, on every replica. Should the bus lose it, each
        # subscription checks the client again on its own (api/graphql/partners/subscriptions.py).
        await self._publisher.publish(PartnerClientRevoked(client.id))
        return client

    async def clients(
        self, actor: Actor, filter: PartnerClientFilter, *, after: str | None, first: int
    ) -> Page[PartnerClient]:
        async with self._uow() as uow:
            return await uow.partners.page(
                filter, scope=actor.scope(Role.ADMIN), after=after, first=first
            )

    async def _admin_client(
        self,
        uow: PartnerUnitOfWork,
        actor: Actor,
        client_id: PartnerClientId,
        *,
        for_update: bool = False,
        field: tuple[str, ...] = ("id",),
    ) -> PartnerClient:
        client = await uow.partners.get(
            client_id, scope=actor.scope(Role.ADMIN), for_update=for_update
        )
        if client is None:
            raise not_found("ứng dụng đối tác", "Partner client", field)
        return client

    # the partner itself

    async def find_client(self, client_id: str) -> PartnerClient | None:
        """The client behind a client id, for the token endpoint (which checks the secret)."""
        if not client_id or len(client_id) > 64:
            return None
        async with self._uow() as uow:
            return await uow.partners.by_client_id(client_id)

    async def principal(
        self, client_id: str, scopes: Sequence[str], ward_ids: Sequence[WardId]
    ) -> PartnerPrincipal | None:
        """The partner behind a verified access token, or None when its client is gone or revoked.

        What the token says is narrowed to what the client holds now: a unit or scope taken
        away since the token was issued is not granted by it."""
        client = await self.find_client(client_id)
        if client is None or not client.active:
            return None
        return PartnerPrincipal(
            client=client.id,
            client_id=client.client_id,
            name=client.name,
            scopes=frozenset(scopes) & client.scopes,
            ward_ids=frozenset(ward_ids) & frozenset(client.ward_ids),
        )

    async def still_active(self, principal: PartnerPrincipal) -> bool:
        async with self._uow() as uow:
            client = await uow.partners.get(principal.client, scope=Scope.all())
        return client is not None and client.active

    # webhooks

    async def create_webhook(
        self, caller: Caller, cmd: PartnerWebhookCreate
    ) -> tuple[PartnerWebhook, str]:
        """The new webhook and its signing secret ('whsec_…'), shown this once, stored sealed."""
        url = check_webhook_url(
            cmd.url, allow_http=self._allow_http, allow_private=self._allow_private
        )
        async with self._uow() as uow:
            client = await self._client_of(uow, caller, cmd.client)
            if not client.active:
                raise not_found("ứng dụng đối tác", "Partner client", ("clientId",))
            if PartnerScope.TIPS_READ.value not in client.scopes:
                raise DomainError.one(
                    ErrorCode.FORBIDDEN,
                    "Ứng dụng không có phạm vi tips:read.",
                    "The client lacks the tips:read scope.",
                    ("clientId",),
                )
            (existing,) = await uow.partner_webhooks.of_clients([client.id])
            if len(existing) >= MAX_WEBHOOKS_PER_CLIENT:
                raise DomainError.one(
                    ErrorCode.OUT_OF_RANGE,
                    f"Mỗi ứng dụng có tối đa {MAX_WEBHOOKS_PER_CLIENT} webhook.",
                    f"A client has at most {MAX_WEBHOOKS_PER_CLIENT} webhooks.",
                    ("url",),
                )
            webhook_id = PartnerWebhookId(new_id())
            secret = self._rand_bytes(SECRET_BYTES)
            key_id, sealed = self._box.seal(secret, context=webhook_secret_context(webhook_id))
            webhook = PartnerWebhook.create(
                webhook_id=webhook_id,
                client=client.id,
                url=url,
                events=cmd.events,
                secret_key_id=key_id,
                secret_sealed=sealed,
                now=self._clock.now(),
            )
            uow.partner_webhooks.add(webhook)
            await uow.commit()
        return webhook, display_secret(secret)

    async def delete_webhook(self, caller: Caller, webhook_id: PartnerWebhookId) -> PartnerWebhook:
        async with self._uow() as uow:
            webhook = await uow.partner_webhooks.get(webhook_id, for_update=True)
            if webhook is None or not await self._may_manage(uow, caller, webhook.client):
                raise not_found("webhook", "Webhook")
            webhook.delete(self._clock.now())
            await uow.commit()
        return webhook

    async def webhooks_of(
        self, client_ids: Sequence[PartnerClientId]
    ) -> list[list[PartnerWebhook]]:
        """For loaders: the caller already saw the clients."""
        async with self._uow() as uow:
            return await uow.partner_webhooks.of_clients(client_ids)

    async def _client_of(
        self, uow: PartnerUnitOfWork, caller: Caller, client_id: PartnerClientId | None
    ) -> PartnerClient:
        if isinstance(caller, PartnerPrincipal):
            if client_id is not None and client_id != caller.client:
                raise not_found("ứng dụng đối tác", "Partner client", ("clientId",))
            client = await uow.partners.get(caller.client, scope=Scope.all())
            if client is None:
                raise not_found("ứng dụng đối tác", "Partner client", ("clientId",))
            return client
        caller.require_authenticated()
        if client_id is None:
            raise DomainError.one(
                ErrorCode.REQUIRED,
                "Cần chọn ứng dụng đối tác.",
                "Choose the partner client.",
                ("clientId",),
            )
        return await self._admin_client(uow, caller, client_id, field=("clientId",))

    async def _may_manage(
        self, uow: PartnerUnitOfWork, caller: Caller, client_id: PartnerClientId
    ) -> bool:
        if isinstance(caller, PartnerPrincipal):
            return caller.client == client_id
        if not caller.authenticated:
            return False
        return await uow.partners.get(client_id, scope=caller.scope(Role.ADMIN)) is not None

    # the delivery log

    async def deliveries(
        self,
        caller: Caller,
        filter: WebhookDeliveryFilter,
        *,
        after: str | None,
        first: int,
    ) -> Page[WebhookDelivery]:
        """A partner's own deliveries; an admin's, those of tips of the units where admin."""
        if isinstance(caller, PartnerPrincipal):
            filter = WebhookDeliveryFilter(
                clients=(caller.client,), webhooks=filter.webhooks, statuses=filter.statuses
            )
        scope = self._delivery_scope(caller)
        async with self._uow() as uow:
            return await uow.webhook_deliveries.page(filter, scope=scope, after=after, first=first)

    async def delivery(self, caller: Caller, delivery_id: WebhookDeliveryId) -> WebhookDelivery:
        async with self._uow() as uow:
            return await self._visible_delivery(uow, caller, delivery_id)

    async def replay(self, caller: Caller, delivery_id: WebhookDeliveryId) -> WebhookDelivery:
        """Queue a past delivery to be sent again at once, with the same webhook-id and body."""
        async with self._uow() as uow:
            delivery = await self._visible_delivery(uow, caller, delivery_id, for_update=True)
            webhook = await uow.partner_webhooks.get(delivery.webhook)
            if webhook is None or not webhook.active:
                raise DomainError.one(
                    ErrorCode.INVALID_TRANSITION,
                    "Webhook đã bị tắt hoặc xoá; không thể gửi lại.",
                    "The webhook was disabled or deleted; nothing can be replayed to it.",
                    ("deliveryId",),
                )
            delivery.replay(self._clock.now())
            await uow.commit()
        return delivery

    def _delivery_scope(self, caller: Caller) -> Scope:
        if isinstance(caller, PartnerPrincipal):
            return caller.scope()
        return caller.scope(Role.ADMIN)

    async def _visible_delivery(
        self,
        uow: PartnerUnitOfWork,
        caller: Caller,
        delivery_id: WebhookDeliveryId,
        *,
        for_update: bool = False,
    ) -> WebhookDelivery:
        if isinstance(caller, Actor):
            caller.require_authenticated()
        delivery = await uow.webhook_deliveries.get(
            delivery_id, scope=self._delivery_scope(caller), for_update=for_update
        )
        if delivery is None or (
            isinstance(caller, PartnerPrincipal) and delivery.client != caller.client
        ):
            raise not_found("lượt gửi webhook", "Webhook delivery", ("deliveryId",))
        return delivery

    # what partners see of a tip

    async def tip_view(self, scope: Scope, tip_id: TipId) -> PartnerTipView | None:
        async with self._uow() as uow:
            tip = await uow.tips.get(tip_id, scope=scope)
            if tip is None:
                return None
            return await self._view(uow, tip)

    async def tip_update(self, event: Event, scope: Scope) -> PartnerTipView | None:
        """What a TipReceived or TipUpdated event shows a partner whose units are `scope`, or
        None (another unit's tip, another kind of event).

        Every subscriber of this process receives the same event: the first one reads the tip,
        the others share its read for a moment (so a thousand partners cost one query, not a
        thousand). What is shared holds nothing subscriber-specific; the scope is checked on it."""
        if _event_type(event) is None:
            return None
        status = event.status if isinstance(event, TipUpdated) else None
        key = (type(event).__name__, event.tip_id, status)  # type: ignore[attr-defined]
        now = time.monotonic()
        cached = self._recent.get(key)
        if cached is None or cached[0] < now:
            if len(self._recent) > 1000:
                self._recent = {k: v for k, v in self._recent.items() if v[0] >= now}
            future: asyncio.Future[PartnerTipView | None] = asyncio.ensure_future(
                self._event_view(event)
            )
            cached = self._recent[key] = (now + VIEW_CACHE_SECONDS, future)
        try:
            view = await asyncio.shield(cached[1])
        except Exception:
            self._recent.pop(key, None)
            raise
        if view is None or not scope.allows(view.ward_id):
            return None
        return view

    async def _event_view(self, event: Event) -> PartnerTipView | None:
        async with self._uow() as uow:
            tip = await uow.tips.get(event.tip_id, scope=Scope.all())  # type: ignore[attr-defined]
            view = await self._view(uow, tip) if tip is not None else None
        if view is not None and isinstance(event, TipUpdated):
            # The state this event announced, even when a later change was read.
            view = _with_status(view, event.status)
        return view

    async def _view(self, uow: UnitOfWork, tip: Tip) -> PartnerTipView | None:
        ward = await uow.wards.get(tip.ward_id, scope=Scope.all())
        if ward is None:
            return None
        return PartnerTipView(
            tip_id=tip.id,
            ward_id=tip.ward_id,
            ward_code=ward.code,
            ward_name=ward.name,
            category=tip.category,
            status=tip.status,
            received_at=tip.received_at,
            updated_at=tip.updated_at or tip.received_at,
            overdue=tip.overdue(self._clock.now()),
        )

    def tip_ref(self, tip_id: TipId) -> str:
        return self._tip_ref(tip_id)

    # the outbox

    async def enqueue(self, uow: Any, events: Sequence[Event]) -> int:
        """Write a pending delivery per listening webhook for each tip event, in the unit of work
        that made the change: the deliveries exist if and only if the change was committed.

        Called by the unit of work just before it commits (see api/bootstrap.py)."""
        tip_events = [(e, t) for e in events if (t := _event_type(e)) is not None]
        if not tip_events:
            return 0
        now = self._clock.now()
        listeners: dict[WardId, list[PartnerWebhook]] = {}
        written = 0
        for event, event_type in tip_events:
            ward_id: WardId = event.ward_id  # type: ignore[attr-defined]
            if ward_id not in listeners:
                listeners[ward_id] = await uow.partner_webhooks.listening_in(ward_id)
            hooks = [w for w in listeners[ward_id] if event_type in w.events]
            if not hooks:
                continue
            tip = await uow.tips.get(event.tip_id, scope=Scope.all())  # type: ignore[attr-defined]
            view = await self._view(uow, tip) if tip is not None else None
            if view is None:
                continue
            if isinstance(event, TipUpdated):
                # The state this event announced, not a later one the same unit of work reached.
                view = _with_status(view, event.status)
            payload = webhook_payload(event_type, view, self._tip_ref(view.tip_id), now)
            for webhook in hooks:
                uow.webhook_deliveries.add(
                    WebhookDelivery.create(
                        webhook=webhook,
                        ward_id=view.ward_id,
                        tip_id=view.tip_id,
                        event_type=event_type,
                        payload=payload,
                        now=now,
                    )
                )
                written += 1
        return written

    async def run_once(self, limit: int = 50) -> int:
        """Claim up to `limit` due deliveries, send them concurrently, record every outcome."""
        jobs = await self.claim(limit)
        if jobs:
            await asyncio.gather(*(self._send(job) for job in jobs))
        return len(jobs)

    async def claim(self, limit: int) -> list[SendJob]:
        now = self._clock.now()
        async with self._uow() as uow:
            deliveries = await uow.webhook_deliveries.claim_due(now, limit)
            if not deliveries:
                return []
            webhooks = {
                w.id: w
                for w in await uow.partner_webhooks.get_many(
                    list(dict.fromkeys(d.webhook for d in deliveries))
                )
                if w is not None
            }
            clients = {
                c.id: c
                for c in await uow.partners.get_many(
                    list(dict.fromkeys(d.client for d in deliveries)), scope=Scope.all()
                )
                if c is not None
            }
            jobs: list[SendJob] = []
            for delivery in deliveries:
                if delivery.abandoned(now):
                    delivery.recover(now)
                    if delivery.status is WebhookDeliveryStatus.DEAD or not delivery.due(now):
                        continue
                webhook = webhooks.get(delivery.webhook)
                client = clients.get(delivery.client)
                reason = _stop_reason(webhook, client, delivery.ward_id)
                if reason is not None:
                    delivery.give_up(reason, now)
                    continue
                assert webhook is not None
                try:
                    secret = self._box.open(
                        webhook.secret_key_id,
                        webhook.secret_sealed,
                        context=webhook_secret_context(webhook.id),
                    )
                except Exception as error:  # a key removed from configuration, a moved row
                    log.error("webhook %s: secret cannot be opened: %s", webhook.id, error)
                    delivery.give_up("the webhook's signing secret cannot be opened", now)
                    continue
                delivery.claim(now, self._lease)
                jobs.append(
                    SendJob(
                        delivery_id=delivery.id,
                        message_id=delivery.message_id,
                        url=webhook.url,
                        body=delivery.payload.encode("utf-8"),
                        secret=secret,
                        lease=delivery.lease_expires_at,
                    )
                )
            await uow.commit()
        return jobs

    async def _send(self, job: SendJob) -> None:
        async with self._slots:
            try:
                result = await self._sender.send(
                    job.url,
                    message_id=job.message_id,
                    timestamp=self._clock.now(),
                    body=job.body,
                    secret=job.secret,
                )
            except Exception as error:  # a bug in the sender must not lose the delivery
                log.exception("webhook sender failed unexpectedly")
                result = WebhookSendResult(
                    AttemptResult.TRANSIENT, error=f"internal error: {type(error).__name__}"
                )
        await self.record(job.delivery_id, result, lease=job.lease)

    async def record(
        self,
        delivery_id: WebhookDeliveryId,
        result: WebhookSendResult,
        *,
        lease: datetime | None = None,
    ) -> None:
        """Store the outcome of an attempt, if the delivery is still under the claim that made
        it; a 410 also disables the webhook."""
        now = self._clock.now()
        async with self._uow() as uow:
            delivery = await uow.webhook_deliveries.get(
                delivery_id, scope=Scope.all(), for_update=True
            )
            if delivery is None or delivery.status is not WebhookDeliveryStatus.SENDING:
                return  # recovered by another worker after our lease ran out
            if lease is not None and delivery.lease_expires_at != lease:
                return
            if result.result is AttemptResult.SENT:
                delivery.succeed(
                    status_code=result.status_code or 200,
                    duration_ms=result.duration_ms,
                    now=now,
                )
            else:
                delivery.fail(
                    result.result,
                    status_code=result.status_code,
                    error=result.error or f"HTTP {result.status_code}",
                    retry_after=result.retry_after,
                    duration_ms=result.duration_ms,
                    now=now,
                    rand=self._rand,
                )
            if result.result is AttemptResult.GONE:
                webhook = await uow.partner_webhooks.get(delivery.webhook, for_update=True)
                if webhook is not None:
                    webhook.disable("the endpoint answered 410 Gone", now)
                    log.info("webhook %s disabled: its endpoint answered 410", webhook.id)
            await uow.commit()


def _stop_reason(
    webhook: PartnerWebhook | None, client: PartnerClient | None, ward_id: WardId
) -> str | None:
    if webhook is None or not webhook.active:
        return "the webhook was disabled or deleted"
    if client is None or not client.active:
        return "the partner client was revoked"
    if ward_id not in client.ward_ids or PartnerScope.TIPS_READ.value not in client.scopes:
        return "the partner client no longer reads tips of this unit"
    return None


def _with_status(view: PartnerTipView, status: str) -> PartnerTipView:
    try:
        return replace(view, status=TipStatus(status))
    except ValueError:
        return view
