"""Tables of the inbound inbox: signed webhook events, stored as received before we answer 200.

Retention: `payload` is the raw body, and raw bodies carry personal data (platform user ids,
what people wrote, portal contact details). It is kept only until the event is processed — the
processor then nulls it and sets `purged` — or, for an event given up on ("dead"), until the
worker's retention purge (GANDAN_INBOX_RETENTION_DAYS). What stays is the bookkeeping: which
platform message id arrived when and what became of it, so a redelivery is still recognised.
Imported by tables.py so one metadata holds all.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def _when(nullable: bool = False) -> sa.Column:
    return sa.Column(sa.DateTime(timezone=True), nullable=nullable)


class InboxEventRow(SQLModel, table=True):
    __tablename__ = "inbox_event"
    __table_args__ = (
        # Idempotency: a platform's redelivery of the same message is recognised here.
        sa.UniqueConstraint("channel", "external_id"),
        # The processor's claim: unprocessed rows by the time they are due.
        sa.Index("ix_inbox_event_processed_at_available_at", "processed_at", "available_at"),
    )

    id: uuid.UUID = Field(primary_key=True)
    channel: str = Field(max_length=16)
    external_id: str = Field(max_length=256)
    received_at: datetime = Field(sa_column=_when())
    payload: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    # JSON object of the signature headers only (no cookies, no addresses).
    headers: str = Field(default="{}", sa_column=sa.Column(sa.Text, nullable=False))
    # When it may next be claimed: now for a new event, the end of the lease while a processor
    # holds it, the retry time after a failure.
    available_at: datetime = Field(sa_column=_when())
    processed_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=1000)
    outcome: str | None = Field(default=None, max_length=32)
    purged: bool = False
