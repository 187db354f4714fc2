"""Tables of the knowledge base (articles, their versions and history) and of inquiries.

Imported by tables.py so one metadata holds all. An article's content is one JSON document per
version: it is read whole, never queried by part, and its shape is the domain's to change.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def _when(nullable: bool = False) -> sa.Column:
    return sa.Column(sa.DateTime(timezone=True), nullable=nullable)


class ProcedureRow(SQLModel, table=True):
    __tablename__ = "procedure"

    id: uuid.UUID = Field(primary_key=True)
    code: str = Field(max_length=64, unique=True)
    status: str = Field(max_length=16, index=True)
    version: int
    name: str = Field(max_length=300)
    department: str = Field(max_length=32, index=True)
    content: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    updated_at: datetime = Field(sa_column=_when())


class ProcedureRevisionRow(SQLModel, table=True):
    __tablename__ = "procedure_revision"

    procedure_id: uuid.UUID = Field(foreign_key="procedure.id", primary_key=True)
    version: int = Field(primary_key=True)
    content: str = Field(sa_column=sa.Column(sa.Text, nullable=False))


class ProcedureTransitionRow(SQLModel, table=True):
    __tablename__ = "procedure_transition"

    procedure_id: uuid.UUID = Field(foreign_key="procedure.id", primary_key=True)
    seq: int = Field(primary_key=True)
    from_status: str = Field(max_length=16)
    to_status: str = Field(max_length=16)
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="member.id", index=True)
    at: datetime = Field(sa_column=_when())
    comment: str | None = Field(default=None, max_length=2000)


class InquiryRow(SQLModel, table=True):
    __tablename__ = "inquiry"
    __table_args__ = (
        sa.Index("ix_inquiry_ward_id_status", "ward_id", "status"),
        # The queue: open inquiries of a department, oldest deadline first.
        sa.Index("ix_inquiry_status_department_due_at", "status", "department", "due_at"),
        # The worker's escalation probe: open and past the deadline, whatever the department.
        sa.Index("ix_inquiry_status_due_at", "status", "due_at"),
        # A platform message becomes one inquiry; NULLs (app, portal) are all distinct.
        sa.UniqueConstraint("source", "external_message_id"),
    )

    id: uuid.UUID = Field(primary_key=True)
    ward_id: uuid.UUID = Field(foreign_key="ward.id", index=True)
    group_id: uuid.UUID | None = Field(default=None, foreign_key="channel_group.id", index=True)
    source: str = Field(max_length=16)
    status: str = Field(max_length=16)
    question: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    question_folded: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    procedure_code: str | None = Field(default=None, max_length=64, index=True)
    match_confidence: float | None = None
    answer: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    answered_by: uuid.UUID | None = Field(default=None, foreign_key="member.id", index=True)
    department: str | None = Field(default=None, max_length=32, index=True)
    reopened: bool = False
    asker_member_id: uuid.UUID | None = Field(default=None, foreign_key="member.id", index=True)
    asker_id: uuid.UUID | None = Field(default=None, foreign_key="reporter_identity.id", index=True)
    external_message_id: str | None = Field(default=None, max_length=256)
    received_at: datetime = Field(
        sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False, index=True)
    )
    updated_at: datetime = Field(sa_column=_when())
    due_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    escalated_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))


class InquiryTransitionRow(SQLModel, table=True):
    __tablename__ = "inquiry_transition"

    inquiry_id: uuid.UUID = Field(foreign_key="inquiry.id", primary_key=True)
    seq: int = Field(primary_key=True)
    from_status: str = Field(max_length=16)
    to_status: str = Field(max_length=16)
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="member.id", index=True)
    at: datetime = Field(sa_column=_when())
    comment: str | None = Field(default=None, max_length=2000)


sa.Index(
    "ix_inquiry_question_folded_trgm",
    InquiryRow.__table__.c.question_folded,
    postgresql_using="gin",
    postgresql_ops={"question_folded": "gin_trgm_ops"},
)
