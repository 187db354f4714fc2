"""Tables of tips: the tip, its history, thread and files; the sealed reporter; the audit log.

Imported by tables.py so one metadata holds all. The reporter's identity lives only in
`reporter_identity`, sealed; nothing in `tip` or `tip_message` names the reporter.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def _when(nullable: bool = False) -> sa.Column:
    return sa.Column(sa.DateTime(timezone=True), nullable=nullable)


class ReporterIdentityRow(SQLModel, table=True):
    """One per tip that kept anything of its reporter (an anonymous tip: the way back only)."""

    __tablename__ = "reporter_identity"

    id: uuid.UUID = Field(primary_key=True)
    key_id: str = Field(max_length=32)
    sealed: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    # HMAC-SHA256 of "platform:channel_user_id" under a key derived from the vault's; the
    # platform is inside the hash, so equal hashes mean the same person on the same platform.
    lookup_hash: str | None = Field(default=None, max_length=64, index=True)
    created_at: datetime = Field(sa_column=_when())


class TipRow(SQLModel, table=True):
    __tablename__ = "tip"
    __table_args__ = (
        sa.Index("ix_tip_ward_id_status", "ward_id", "status"),
        # Escalation: open tips by deadline.
        sa.Index("ix_tip_status_due_at", "status", "due_at"),
    )

    id: uuid.UUID = Field(primary_key=True)
    ward_id: uuid.UUID = Field(foreign_key="ward.id", index=True)
    group_id: uuid.UUID | None = Field(default=None, foreign_key="channel_group.id", index=True)
    tracking_code: str = Field(max_length=16, unique=True)
    category: str = Field(max_length=32, index=True)
    status: str = Field(max_length=16)
    source: str = Field(max_length=16)
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    body_folded: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    anonymous: bool
    reporter_id: uuid.UUID | None = Field(
        default=None, foreign_key="reporter_identity.id", index=True
    )
    assignee_id: uuid.UUID | None = Field(default=None, foreign_key="member.id", index=True)
    outcome: str | None = Field(default=None, max_length=16)
    arrests: int = 0
    dismiss_reason: str | None = Field(default=None, max_length=2000)
    received_at: datetime = Field(sa_column=_when())
    updated_at: datetime = Field(sa_column=_when())
    due_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    escalated_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    acknowledged_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))


class TipTransitionRow(SQLModel, table=True):
    __tablename__ = "tip_transition"

    tip_id: uuid.UUID = Field(foreign_key="tip.id", primary_key=True)
    seq: int = Field(primary_key=True)
    from_status: str = Field(max_length=16)
    to_status: str = Field(max_length=16)
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="member.id", index=True)
    at: datetime = Field(sa_column=_when())
    comment: str | None = Field(default=None, max_length=2000)


class TipMessageRow(SQLModel, table=True):
    __tablename__ = "tip_message"
    # A platform message joins a thread once; NULLs (app, portal, our own) are all distinct.
    __table_args__ = (sa.UniqueConstraint("channel", "external_message_id"),)

    id: uuid.UUID = Field(primary_key=True)
    tip_id: uuid.UUID = Field(foreign_key="tip.id", index=True)
    direction: str = Field(max_length=8)
    author_id: uuid.UUID | None = Field(default=None, foreign_key="member.id", index=True)
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    channel: str = Field(max_length=16)
    external_message_id: str | None = Field(default=None, max_length=256)
    at: datetime = Field(sa_column=_when())


class TipAttachmentRow(SQLModel, table=True):
    __tablename__ = "tip_attachment"

    tip_id: uuid.UUID = Field(foreign_key="tip.id", primary_key=True)
    position: int = Field(primary_key=True)
    blob_key: str = Field(max_length=128)
    media_type: str = Field(max_length=16)
    filename: str = Field(max_length=255)
    size_bytes: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    content_type: str = Field(max_length=128)


class AuditLogRow(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: uuid.UUID = Field(primary_key=True)
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="member.id", index=True)
    # The ward the subject belongs to: the audit log is read by that ward's admins.
    ward_id: uuid.UUID | None = Field(default=None, foreign_key="ward.id", index=True)
    action: str = Field(max_length=64)
    subject_type: str = Field(max_length=32)
    subject_id: uuid.UUID = Field(index=True)
    reason: str | None = Field(default=None, max_length=2000)
    at: datetime = Field(
        sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False, index=True)
    )


# Searching the body anywhere, with or without diacritics: a trigram GIN index on PostgreSQL.
sa.Index(
    "ix_tip_body_folded_trgm",
    TipRow.__table__.c.body_folded,
    postgresql_using="gin",
    postgresql_ops={"body_folded": "gin_trgm_ops"},
)
