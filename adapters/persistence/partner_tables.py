"""Tables of integration partners: OAuth2 clients with their units, webhooks, and the webhook
delivery outbox. Imported by tables.py so one metadata holds all.

A client's secret is kept only as a scrypt hash; a webhook's signing secret only sealed (AES-GCM,
bound to its row). A delivery's payload holds no reporter identity and no tip text.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def _when(nullable: bool = False) -> sa.Column:
    return sa.Column(sa.DateTime(timezone=True), nullable=nullable)


class PartnerClientRow(SQLModel, table=True):
    __tablename__ = "partner_client"

    id: uuid.UUID = Field(primary_key=True)
    client_id: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    scopes: str = Field(max_length=200)  # space-separated, as in OAuth2
    secret_hash: str = Field(max_length=200)
    created_at: datetime = Field(sa_column=_when())
    created_by: uuid.UUID | None = Field(default=None, foreign_key="member.id", index=True)
    revoked_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    revoked_by: uuid.UUID | None = Field(default=None, foreign_key="member.id", index=True)


class PartnerClientWardRow(SQLModel, table=True):
    __tablename__ = "partner_client_ward"

    client_id: uuid.UUID = Field(foreign_key="partner_client.id", primary_key=True)
    # Indexed: which webhooks listen in a ward is asked on every tip change.
    ward_id: uuid.UUID = Field(foreign_key="ward.id", primary_key=True, index=True)


class PartnerWebhookRow(SQLModel, table=True):
    __tablename__ = "partner_webhook"

    id: uuid.UUID = Field(primary_key=True)
    client_id: uuid.UUID = Field(foreign_key="partner_client.id", index=True)
    url: str = Field(max_length=2000)
    events: str = Field(max_length=200)  # space-separated event types
    secret_key_id: str = Field(max_length=32)
    secret_sealed: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    status: str = Field(max_length=16)
    status_reason: str | None = Field(default=None, max_length=500)
    status_changed_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    created_at: datetime = Field(sa_column=_when())


class PartnerWebhookDeliveryRow(SQLModel, table=True):
    __tablename__ = "partner_webhook_delivery"
    __table_args__ = (
        # The worker's claim: due rows by status and time, abandoned ones by lease.
        sa.Index("ix_partner_webhook_delivery_status_next_attempt_at", "status", "next_attempt_at"),
        sa.Index(
            "ix_partner_webhook_delivery_status_lease_expires_at", "status", "lease_expires_at"
        ),
    )

    id: uuid.UUID = Field(primary_key=True)
    webhook_id: uuid.UUID = Field(foreign_key="partner_webhook.id", index=True)
    client_id: uuid.UUID = Field(foreign_key="partner_client.id", index=True)
    ward_id: uuid.UUID = Field(foreign_key="ward.id", index=True)
    tip_id: uuid.UUID = Field(foreign_key="tip.id", index=True)
    event_type: str = Field(max_length=32)
    payload: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    status: str = Field(max_length=16)
    attempts: int = 0
    max_attempts: int = 10
    next_attempt_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    lease_expires_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=1000)
    sent_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    replays: int = 0
    log: str = Field(default="[]", sa_column=sa.Column(sa.Text, nullable=False))
    created_at: datetime = Field(sa_column=_when())
    updated_at: datetime = Field(sa_column=_when())
