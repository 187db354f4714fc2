"""Rows to entities and back. Only this module knows both shapes.

Rows are SQLAlchemy result rows of the tables in `tables.py`, read by column name."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from domain.bulletin import Attachment, Bulletin, BulletinKind, BulletinStatus, MediaType
from domain.channels import ChannelKind
from domain.delivery import Delivery, DeliveryStatus
from domain.group import Group
from domain.history import Transition
from domain.ids import BulletinId, DeliveryId, GroupId, MemberId, TipId, WardId
from domain.member import ChannelIdentity, Member
from domain.ports import AuditEntry, SealedReporter
from domain.reporter import ReporterId, TipSource
from domain.text import fold
from domain.tip import MessageDirection, Tip, TipCategory, TipMessage, TipOutcome, TipStatus
from domain.ward import Ward


def utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes and drops the offset of aware ones, so everything is
    converted to UTC on the way in and labelled UTC on the way out."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def ward_from_row(row: Any) -> Ward:
    return Ward(
        id=WardId(row.id),
        code=row.code,
        name=row.name,
        parent_id=WardId(row.parent_id) if row.parent_id else None,
        created_at=utc(row.created_at),
    )


def ward_values(ward: Ward) -> dict:
    return {
        "id": ward.id,
        "code": ward.code,
        "name": ward.name,
        "name_folded": fold(ward.name),
        "parent_id": ward.parent_id,
        "created_at": utc(ward.created_at),
    }


def group_from_row(row: Any) -> Group:
    return Group(
        id=GroupId(row.id),
        ward_id=WardId(row.ward_id),
        channel=ChannelKind(row.channel),
        external_id=row.external_id,
        name=row.name,
        description=row.description,
        credentials_ref=row.credentials_ref,
        created_at=utc(row.created_at),
        archived_at=utc(row.archived_at),
    )


def group_values(group: Group) -> dict:
    return {
        "id": group.id,
        "ward_id": group.ward_id,
        "channel": group.channel.value,
        "external_id": group.external_id,
        "name": group.name,
        "name_folded": fold(group.name),
        "description": group.description,
        "credentials_ref": group.credentials_ref,
        "created_at": utc(group.created_at),
        "archived_at": utc(group.archived_at),
    }


def member_from_row(
    row: Any, group_ids: list[GroupId], identities: list[ChannelIdentity]
) -> Member:
    return Member(
        id=MemberId(row.id),
        ward_id=WardId(row.ward_id),
        full_name=row.full_name,
        phone=row.phone,
        address=row.address,
        household_size=row.household_size,
        created_at=utc(row.created_at),
        group_ids=group_ids,
        identities=identities,
        removed_at=utc(row.removed_at),
    )


def member_values(member: Member) -> dict:
    return {
        "id": member.id,
        "ward_id": member.ward_id,
        "full_name": member.full_name,
        "name_folded": fold(member.full_name),
        "phone": member.phone,
        "address": member.address,
        "household_size": member.household_size,
        "created_at": utc(member.created_at),
        "removed_at": utc(member.removed_at),
    }


def transition_values(owner_id: Any, seq: int, step: Transition) -> dict:
    return {
        "bulletin_id": owner_id,
        "seq": seq,
        "from_status": str(step.from_status),
        "to_status": str(step.to_status),
        "actor_id": step.actor_id,
        "at": utc(step.at),
        "comment": step.comment,
    }


def transition_from_row(row: Any) -> Transition:
    return Transition(
        row.from_status,
        row.to_status,
        MemberId(row.actor_id) if row.actor_id else None,
        utc(row.at),
        row.comment,
    )


def bulletin_values(bulletin: Bulletin) -> dict:
    return {
        "id": bulletin.id,
        "ward_id": bulletin.ward_id,
        "author_id": bulletin.author_id,
        "kind": bulletin.kind.value,
        "title": bulletin.title,
        "body": bulletin.body,
        "search_folded": fold(f"{bulletin.title} {bulletin.body}"),
        "status": bulletin.status.value,
        "scheduled_at": utc(bulletin.scheduled_at),
        "approved_by": bulletin.approved_by,
        "approved_at": utc(bulletin.approved_at),
        "published_at": utc(bulletin.published_at),
        "created_at": utc(bulletin.created_at),
        "updated_at": utc(bulletin.updated_at),
    }


def attachment_values(bulletin_id: Any, position: int, attachment: Attachment) -> dict:
    return {
        "bulletin_id": bulletin_id,
        "position": position,
        "blob_key": attachment.blob_key,
        "media_type": attachment.media_type.value,
        "filename": attachment.filename,
        "size_bytes": attachment.size_bytes,
        "content_type": attachment.content_type,
    }


def attachment_from_row(row: Any) -> Attachment:
    return Attachment(
        blob_key=row.blob_key,
        media_type=MediaType(row.media_type),
        filename=row.filename,
        size_bytes=row.size_bytes,
        content_type=row.content_type,
    )


def bulletin_from_row(
    row: Any,
    *,
    attachments: list[Attachment],
    group_ids: list[GroupId],
    ward_ids: list[WardId],
    history: list[Transition],
) -> Bulletin:
    return Bulletin(
        id=BulletinId(row.id),
        ward_id=WardId(row.ward_id),
        author_id=MemberId(row.author_id),
        kind=BulletinKind(row.kind),
        title=row.title,
        body=row.body,
        created_at=utc(row.created_at),
        updated_at=utc(row.updated_at),
        attachments=tuple(attachments),
        target_group_ids=tuple(group_ids),
        target_ward_ids=tuple(ward_ids),
        status=BulletinStatus(row.status),
        scheduled_at=utc(row.scheduled_at),
        approved_by=MemberId(row.approved_by) if row.approved_by else None,
        approved_at=utc(row.approved_at),
        history=history,
    )


def delivery_values(delivery: Delivery, now: datetime) -> dict:
    history = [
        {
            "from": str(step.from_status),
            "to": str(step.to_status),
            "actor": str(step.actor_id) if step.actor_id else None,
            "at": utc(step.at).isoformat(),
            "comment": step.comment,
        }
        for step in delivery.history
    ]
    return {
        "id": delivery.id,
        "bulletin_id": delivery.bulletin_id,
        "group_id": delivery.group_id,
        "channel": delivery.channel.value,
        "status": delivery.status.value,
        "attempts": delivery.attempts,
        "max_attempts": delivery.max_attempts,
        "next_attempt_at": utc(delivery.next_attempt_at),
        "lease_expires_at": utc(delivery.lease_expires_at),
        "last_error": delivery.last_error,
        "external_post_id": delivery.external_post_id,
        "external_url": delivery.external_url,
        "idempotency_key": delivery.idempotency_key,
        "sandbox": delivery.sandbox,
        "sent_at": utc(delivery.sent_at),
        "history": json.dumps(history, ensure_ascii=False),
        "updated_at": now,
    }


def delivery_from_row(row: Any) -> Delivery:
    history = [
        Transition(
            h["from"],
            h["to"],
            MemberId(uuid.UUID(h["actor"])) if h.get("actor") else None,
            datetime.fromisoformat(h["at"]),
            h.get("comment"),
        )
        for h in json.loads(row.history or "[]")
    ]
    return Delivery(
        id=DeliveryId(row.id),
        bulletin_id=BulletinId(row.bulletin_id),
        group_id=GroupId(row.group_id),
        channel=ChannelKind(row.channel),
        idempotency_key=row.idempotency_key,
        next_attempt_at=utc(row.next_attempt_at),
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        max_attempts=row.max_attempts,
        last_error=row.last_error,
        external_post_id=row.external_post_id,
        external_url=row.external_url,
        sent_at=utc(row.sent_at),
        sandbox=bool(row.sandbox),
        lease_expires_at=utc(row.lease_expires_at),
        history=history,
    )


# Tips. The reporter is only ever an opaque reporter_id here: the identity stays sealed.


def tip_values(tip: Tip) -> dict:
    return {
        "id": tip.id,
        "ward_id": tip.ward_id,
        "group_id": tip.group_id,
        "tracking_code": tip.tracking_code,
        "category": tip.category.value,
        "status": tip.status.value,
        "source": tip.source.value,
        "body": tip.body,
        "body_folded": fold(tip.body),
        "anonymous": tip.anonymous,
        "reporter_id": tip.reporter_id,
        "assignee_id": tip.assignee_id,
        "outcome": tip.outcome.value if tip.outcome else None,
        "arrests": tip.arrests,
        "dismiss_reason": tip.dismiss_reason,
        "received_at": utc(tip.received_at),
        "updated_at": utc(tip.updated_at or tip.received_at),
        "due_at": utc(tip.due_at),
        "escalated_at": utc(tip.escalated_at),
        "acknowledged_at": utc(tip.acknowledged_at),
    }


def tip_from_row(row: Any, *, attachments: list[Attachment], history: list[Transition]) -> Tip:
    return Tip(
        id=TipId(row.id),
        ward_id=WardId(row.ward_id),
        tracking_code=row.tracking_code,
        category=TipCategory(row.category),
        source=TipSource(row.source),
        body=row.body,
        anonymous=bool(row.anonymous),
        reporter_id=ReporterId(row.reporter_id) if row.reporter_id else None,
        received_at=utc(row.received_at),
        status=TipStatus(row.status),
        group_id=GroupId(row.group_id) if row.group_id else None,
        assignee_id=MemberId(row.assignee_id) if row.assignee_id else None,
        outcome=TipOutcome(row.outcome) if row.outcome else None,
        arrests=row.arrests,
        dismiss_reason=row.dismiss_reason,
        due_at=utc(row.due_at),
        escalated_at=utc(row.escalated_at),
        acknowledged_at=utc(row.acknowledged_at),
        updated_at=utc(row.updated_at),
        attachments=tuple(attachments),
        history=history,
    )


def tip_transition_values(tip_id: Any, seq: int, step: Transition) -> dict:
    values = transition_values(tip_id, seq, step)
    del values["bulletin_id"]
    return {"tip_id": tip_id, **values}


def tip_attachment_values(tip_id: Any, position: int, attachment: Attachment) -> dict:
    values = attachment_values(tip_id, position, attachment)
    del values["bulletin_id"]
    return {"tip_id": tip_id, **values}


def tip_message_values(message: TipMessage) -> dict:
    return {
        "id": message.id,
        "tip_id": message.tip_id,
        "direction": message.direction.value,
        "author_id": message.author_id,
        "body": message.body,
        "channel": message.channel.value,
        "external_message_id": message.external_message_id,
        "at": utc(message.at),
    }


def tip_message_from_row(row: Any) -> TipMessage:
    return TipMessage(
        id=row.id,
        tip_id=TipId(row.tip_id),
        direction=MessageDirection(row.direction),
        body=row.body,
        channel=TipSource(row.channel),
        at=utc(row.at),
        author_id=MemberId(row.author_id) if row.author_id else None,
        external_message_id=row.external_message_id,
    )


def sealed_reporter_values(reporter: SealedReporter) -> dict:
    return {
        "id": reporter.id,
        "key_id": reporter.key_id,
        "sealed": reporter.sealed,
        "lookup_hash": reporter.lookup_hash,
        "created_at": utc(reporter.created_at),
    }


def sealed_reporter_from_row(row: Any) -> SealedReporter:
    return SealedReporter(
        id=ReporterId(row.id),
        key_id=row.key_id,
        sealed=bytes(row.sealed),
        lookup_hash=row.lookup_hash,
        created_at=utc(row.created_at),
    )


def audit_values(entry: AuditEntry) -> dict:
    return {
        "id": entry.id,
        "actor_id": entry.actor_id,
        "ward_id": entry.ward_id,
        "action": entry.action,
        "subject_type": entry.subject_type,
        "subject_id": entry.subject_id,
        "reason": entry.reason,
        "at": utc(entry.at),
    }


def audit_from_row(row: Any) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        actor_id=MemberId(row.actor_id) if row.actor_id else None,
        action=row.action,
        subject_type=row.subject_type,
        subject_id=row.subject_id,
        ward_id=WardId(row.ward_id) if row.ward_id else None,
        reason=row.reason,
        at=utc(row.at),
    )
