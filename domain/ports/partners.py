"""Ports of the partner feature: its repositories, the webhook sender and the secret box."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.access import Scope
from domain.ids import WardId
from domain.partner import (
    AttemptResult,
    PartnerClient,
    PartnerClientId,
    PartnerWebhook,
    PartnerWebhookId,
    WebhookDelivery,
    WebhookDeliveryId,
    WebhookDeliveryStatus,
)
from domain.ports.persistence import Page


@dataclass(frozen=True, slots=True)
class PartnerClientFilter:
    include_revoked: bool = True


@dataclass(frozen=True, slots=True)
class WebhookDeliveryFilter:
    clients: tuple[PartnerClientId, ...] = ()
    webhooks: tuple[PartnerWebhookId, ...] = ()
    statuses: tuple[WebhookDeliveryStatus, ...] = ()


class PartnerClientRepository(Protocol):
    """A client is within `scope` when any of its wards is."""

    async def get(
        self, id: PartnerClientId, *, scope: Scope, for_update: bool = False
    ) -> PartnerClient | None: ...

    async def get_many(
        self, ids: Sequence[PartnerClientId], *, scope: Scope
    ) -> list[PartnerClient | None]: ...

    def add(self, client: PartnerClient) -> None: ...

    async def by_client_id(self, client_id: str) -> PartnerClient | None:
        """By the public client id, whatever its wards (the token endpoint)."""
        ...

    async def page(
        self, filter: PartnerClientFilter, *, scope: Scope, after: str | None, first: int
    ) -> Page[PartnerClient]: ...


class PartnerWebhookRepository(Protocol):
    """Webhooks are reached through their client, whose access the service checks."""

    async def get(
        self, id: PartnerWebhookId, *, for_update: bool = False
    ) -> PartnerWebhook | None: ...

    async def get_many(self, ids: Sequence[PartnerWebhookId]) -> list[PartnerWebhook | None]: ...

    def add(self, webhook: PartnerWebhook) -> None: ...

    async def of_clients(
        self, client_ids: Sequence[PartnerClientId], *, include_deleted: bool = False
    ) -> list[list[PartnerWebhook]]: ...

    async def listening_in(self, ward_id: WardId) -> list[PartnerWebhook]:
        """Active webhooks of active clients that hold `ward_id` and may read tips."""
        ...


class WebhookDeliveryRepository(Protocol):
    """A delivery is within `scope` when the ward of its tip is."""

    async def get(
        self, id: WebhookDeliveryId, *, scope: Scope, for_update: bool = False
    ) -> WebhookDelivery | None: ...

    async def get_many(
        self, ids: Sequence[WebhookDeliveryId], *, scope: Scope
    ) -> list[WebhookDelivery | None]: ...

    def add(self, delivery: WebhookDelivery) -> None: ...

    async def page(
        self, filter: WebhookDeliveryFilter, *, scope: Scope, after: str | None, first: int
    ) -> Page[WebhookDelivery]:
        """Newest first."""
        ...

    async def claim_due(self, now: datetime, limit: int) -> list[WebhookDelivery]:
        """Due or abandoned deliveries, locked for this unit of work (SKIP LOCKED on PostgreSQL)."""
        ...


@dataclass(frozen=True, slots=True)
class WebhookSendResult:
    result: AttemptResult
    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None
    duration_ms: int | None = None


class WebhookSender(Protocol):
    async def send(
        self, url: str, *, message_id: str, timestamp: datetime, body: bytes, secret: bytes
    ) -> WebhookSendResult:
        """POST one signed message; never raises for what the endpoint or the network did."""
        ...


class SecretBox(Protocol):
    """Seals secrets at rest (adapters.crypto.Sealer)."""

    def seal(self, plaintext: bytes, *, context: bytes = b"") -> tuple[str, bytes]: ...

    def open(self, key_id: str, sealed: bytes, *, context: bytes = b"") -> bytes: ...
