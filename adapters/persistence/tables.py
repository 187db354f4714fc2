"""SQLModel tables. They never leave the persistence package: mappers turn them into entities."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING
metadata = SQLModel.metadata


def _when(nullable: bool = False) -> sa.Column:
    return sa.Column(sa.DateTime(timezone=True), nullable=nullable)


class WardRow(SQLModel, table=True):
    __tablename__ = "ward"

    id: uuid.UUID = Field(primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=200)
    name_folded: str = Field(max_length=200)
    parent_id: uuid.UUID | None = Field(default=None, foreign_key="ward.id", index=True)
    created_at: datetime = Field(sa_column=_when())


class GroupRow(SQLModel, table=True):
    __tablename__ = "channel_group"
    __table_args__ = (
        sa.UniqueConstraint("channel", "external_id"),
        sa.Index("ix_channel_group_ward_id_channel", "ward_id", "channel"),
    )

    id: uuid.UUID = Field(primary_key=True)
    ward_id: uuid.UUID = Field(foreign_key="ward.id", index=True)
    channel: str = Field(max_length=32, index=True)
    external_id: str = Field(max_length=128)
    name: str = Field(max_length=200)
    name_folded: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    credentials_ref: str | None = Field(default=None, max_length=128)
    created_at: datetime = Field(sa_column=_when())
    archived_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))


class MemberRow(SQLModel, table=True):
    __tablename__ = "member"
    __table_args__ = (sa.Index("ix_member_ward_id_phone", "ward_id", "phone"),)

    id: uuid.UUID = Field(primary_key=True)
    ward_id: uuid.UUID = Field(foreign_key="ward.id", index=True)
    full_name: str = Field(max_length=120)
    name_folded: str = Field(max_length=120)
    phone: str | None = Field(default=None, max_length=16, index=True)
    address: str | None = Field(default=None, max_length=300)
    household_size: int | None = None
    created_at: datetime = Field(sa_column=_when())
    removed_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))


class GroupMembershipRow(SQLModel, table=True):
    __tablename__ = "group_membership"

    group_id: uuid.UUID = Field(foreign_key="channel_group.id", primary_key=True)
    member_id: uuid.UUID = Field(foreign_key="member.id", primary_key=True, index=True)


class MemberIdentityRow(SQLModel, table=True):
    __tablename__ = "member_identity"

    platform: str = Field(max_length=16, primary_key=True)
    external_id: str = Field(max_length=128, primary_key=True)
    member_id: uuid.UUID = Field(foreign_key="member.id", index=True)


class RoleGrantRow(SQLModel, table=True):
    __tablename__ = "role_grant"
    __table_args__ = (sa.Index("ix_role_grant_ward_id_role", "ward_id", "role"),)

    member_id: uuid.UUID = Field(foreign_key="member.id", primary_key=True)
    ward_id: uuid.UUID = Field(foreign_key="ward.id", primary_key=True)
    role: str = Field(max_length=16, primary_key=True)


class BulletinRow(SQLModel, table=True):
    __tablename__ = "bulletin"
    __table_args__ = (
        sa.Index("ix_bulletin_ward_id_status", "ward_id", "status"),
        sa.Index("ix_bulletin_ward_id_published_at", "ward_id", "published_at"),
    )

    id: uuid.UUID = Field(primary_key=True)
    ward_id: uuid.UUID = Field(foreign_key="ward.id", index=True)
    author_id: uuid.UUID = Field(foreign_key="member.id", index=True)
    kind: str = Field(max_length=32, index=True)
    title: str = Field(max_length=200)
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    search_folded: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    status: str = Field(max_length=32, index=True)
    scheduled_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    approved_by: uuid.UUID | None = Field(default=None, foreign_key="member.id", index=True)
    approved_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    published_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    created_at: datetime = Field(sa_column=_when())
    updated_at: datetime = Field(sa_column=_when())


class BulletinAttachmentRow(SQLModel, table=True):
    __tablename__ = "bulletin_attachment"

    bulletin_id: uuid.UUID = Field(foreign_key="bulletin.id", primary_key=True)
    position: int = Field(primary_key=True)
    blob_key: str = Field(max_length=128)
    media_type: str = Field(max_length=16)
    filename: str = Field(max_length=255)
    size_bytes: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    content_type: str = Field(max_length=128)


class BulletinTargetGroupRow(SQLModel, table=True):
    __tablename__ = "bulletin_target_group"

    bulletin_id: uuid.UUID = Field(foreign_key="bulletin.id", primary_key=True)
    group_id: uuid.UUID = Field(foreign_key="channel_group.id", primary_key=True, index=True)


class BulletinTargetWardRow(SQLModel, table=True):
    __tablename__ = "bulletin_target_ward"

    bulletin_id: uuid.UUID = Field(foreign_key="bulletin.id", primary_key=True)
    ward_id: uuid.UUID = Field(foreign_key="ward.id", primary_key=True, index=True)


class BulletinTransitionRow(SQLModel, table=True):
    __tablename__ = "bulletin_transition"

    bulletin_id: uuid.UUID = Field(foreign_key="bulletin.id", primary_key=True)
    seq: int = Field(primary_key=True)
    from_status: str = Field(max_length=32)
    to_status: str = Field(max_length=32)
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="member.id", index=True)
    at: datetime = Field(sa_column=_when())
    comment: str | None = Field(default=None, max_length=2000)


class DeliveryRow(SQLModel, table=True):
    __tablename__ = "delivery"
    __table_args__ = (
        sa.UniqueConstraint("bulletin_id", "group_id"),
        # The worker's claim: due rows by status and time.
        sa.Index("ix_delivery_status_next_attempt_at", "status", "next_attempt_at"),
        sa.Index("ix_delivery_status_lease_expires_at", "status", "lease_expires_at"),
    )

    id: uuid.UUID = Field(primary_key=True)
    bulletin_id: uuid.UUID = Field(foreign_key="bulletin.id", index=True)
    group_id: uuid.UUID = Field(foreign_key="channel_group.id", index=True)
    channel: str = Field(max_length=32, index=True)
    status: str = Field(max_length=16)
    attempts: int = 0
    max_attempts: int = 6
    next_attempt_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    lease_expires_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    last_error: str | None = Field(default=None, max_length=1000)
    external_post_id: str | None = Field(default=None, max_length=256)
    external_url: str | None = Field(default=None, max_length=1000)
    idempotency_key: str = Field(max_length=64, unique=True)
    sandbox: bool = False
    sent_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    history: str = Field(default="[]", sa_column=sa.Column(sa.Text, nullable=False))
    created_at: datetime = Field(sa_column=_when())
    updated_at: datetime = Field(sa_column=_when())


class DeliveryReachRow(SQLModel, table=True):
    __tablename__ = "delivery_reach"

    delivery_id: uuid.UUID = Field(foreign_key="delivery.id", primary_key=True)
    views: int | None = None
    reactions: int | None = None
    shares: int | None = None
    comments: int | None = None
    fetched_at: datetime = Field(sa_column=_when())


class ChannelTokenRow(SQLModel, table=True):
    """Rotating OAuth tokens of channel accounts, sealed with the configured secret key."""

    __tablename__ = "channel_token"

    ref: str = Field(max_length=128, primary_key=True)
    sealed: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    key_id: str = Field(max_length=32)
    version: int = 0
    updated_at: datetime = Field(sa_column=_when())


class ChannelStateRow(SQLModel, table=True):
    __tablename__ = "channel_state"

    key: str = Field(max_length=200, primary_key=True)
    value: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    updated_at: datetime = Field(sa_column=_when())


# The text filters match anywhere in the folded name: a trigram GIN index serves that on
# PostgreSQL; on SQLite the same declaration is a plain index.
for _table in (WardRow.__table__, GroupRow.__table__, MemberRow.__table__):
    sa.Index(
        f"ix_{_table.name}_name_folded_trgm",
        _table.c.name_folded,
        postgresql_using="gin",
        postgresql_ops={"name_folded": "gin_trgm_ops"},
    )
sa.Index(
    "ix_bulletin_search_folded_trgm",
    BulletinRow.__table__.c.search_folded,
    postgresql_using="gin",
    postgresql_ops={"search_folded": "gin_trgm_ops"},
)

# Tables of later features live in their own modules; importing them registers them on `metadata`.
from adapters.persistence import (  # noqa: E402, F401
    inbox_tables,
    inquiry_tables,
    partner_tables,
    tip_tables,
)
