"""Mutations of bulletins: noun first, one input, a payload with the object and userErrors."""

from __future__ import annotations

import dataclasses
from typing import Any

import strawberry

from api.graphql.base import UserError, mutate
from api.graphql.bulletins import inputs
from api.graphql.bulletins.media import MAX_VIDEO_BYTES, sniff
from api.graphql.bulletins.types import Attachment, Bulletin, Delivery
from api.graphql.context import Info
from domain.access import Role
from domain.bulletin import Attachment as DomainAttachment
from domain.bulletin import MediaType
from domain.errors import DomainError, ErrorCode, Problem, not_found

CHUNK = 1024 * 1024
UNSTORED = "unstored"


def _size(limit: int) -> str:
    return f"{limit / 1024 / 1024:g} MB" if limit >= 1024 * 1024 else f"{limit / 1024:g} KB"


def _too_large(limit: int) -> DomainError:
    return DomainError.one(
        ErrorCode.INVALID_FILE,
        f"Tệp lớn hơn {_size(limit)}.",
        f"The file is larger than {_size(limit)}.",
        ("file",),
    )


@strawberry.type
class BulletinPayload:
    bulletin: Bulletin | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeliveryPayload:
    delivery: Delivery | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class AttachmentUploadPayload:
    attachment: Attachment | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _bulletin_payload(bulletin: Any) -> BulletinPayload:
    return BulletinPayload(bulletin=Bulletin.from_domain(bulletin))


def _bulletin_failed(errors: list[UserError]) -> BulletinPayload:
    return BulletinPayload(user_errors=errors)


async def _read(file: Any, limit: int, video_limit: int) -> bytes:
    """The upload's bytes, refused as soon as it passes its limit: images and documents
    `limit`, videos (recognised from their first bytes) `video_limit`."""
    data = await file.read(limit + 1)
    if len(data) <= limit:
        return data
    found = sniff(data[:64])
    if found is None or found.media_type is not MediaType.VIDEO:
        raise _too_large(limit)
    parts = [data]
    total = len(data)
    while total <= video_limit:
        chunk = await file.read(min(CHUNK, video_limit + 1 - total))
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
    if total > video_limit:
        raise _too_large(video_limit)
    return b"".join(parts)


@strawberry.type
class BulletinMutation:
    @strawberry.mutation(description="Write a draft for one of your units (officer and above).")
    async def bulletin_create(
        self, info: Info, input: inputs.BulletinCreateInput
    ) -> BulletinPayload:
        container, actor = info.context.container, info.context.actor

        async def run():
            actor.require_authenticated()
            command = await input.to_command(container.blobs)
            return await container.bulletins.create(actor, command)

        return await mutate(run, _bulletin_payload, _bulletin_failed)

    @strawberry.mutation(
        description="Change a bulletin not yet published. A change after approval sends it back"
        " for approval and withdraws its unsent deliveries."
    )
    async def bulletin_update(
        self, info: Info, input: inputs.BulletinUpdateInput
    ) -> BulletinPayload:
        container, actor = info.context.container, info.context.actor

        async def run():
            actor.require_authenticated()
            command = await input.to_command(container.blobs)
            return await container.bulletins.edit(actor, command)

        return await mutate(run, _bulletin_payload, _bulletin_failed)

    @strawberry.mutation(description="Send a draft (or a rejected bulletin) for approval.")
    async def bulletin_submit(
        self, info: Info, input: inputs.BulletinTransitionInput
    ) -> BulletinPayload:
        svc, actor = info.context.container.bulletins, info.context.actor
        return await mutate(
            lambda: svc.submit(actor, input.to_id(), input.comment),
            _bulletin_payload,
            _bulletin_failed,
        )

    @strawberry.mutation(
        description="Approve a submitted bulletin (a commander of its ward, never its author):"
        " one delivery per target group is written with the approval. Refused with userErrors at"
        " ['channels', channel, code] while a channel would refuse it."
    )
    async def bulletin_approve(
        self, info: Info, input: inputs.BulletinTransitionInput
    ) -> BulletinPayload:
        svc, actor = info.context.container.bulletins, info.context.actor
        return await mutate(
            lambda: svc.approve(actor, input.to_id(), input.comment),
            _bulletin_payload,
            _bulletin_failed,
        )

    @strawberry.mutation(
        description="Send a submitted bulletin back to its author, with the reason as comment."
    )
    async def bulletin_reject(
        self, info: Info, input: inputs.BulletinTransitionInput
    ) -> BulletinPayload:
        svc, actor = info.context.container.bulletins, info.context.actor
        return await mutate(
            lambda: svc.reject(actor, input.to_id(), input.comment),
            _bulletin_payload,
            _bulletin_failed,
        )

    @strawberry.mutation(description="Withdraw a bulletin not yet published, with its deliveries.")
    async def bulletin_cancel(
        self, info: Info, input: inputs.BulletinTransitionInput
    ) -> BulletinPayload:
        svc, actor = info.context.container.bulletins, info.context.actor
        return await mutate(
            lambda: svc.cancel(actor, input.to_id(), input.comment),
            _bulletin_payload,
            _bulletin_failed,
        )

    @strawberry.mutation(
        description="Set, move or (with a null time) clear when a bulletin is published. The time"
        " is not content: an approved bulletin stays approved."
    )
    async def bulletin_schedule(
        self, info: Info, input: inputs.BulletinScheduleInput
    ) -> BulletinPayload:
        svc, actor = info.context.container.bulletins, info.context.actor

        async def run():
            try:
                return await svc.schedule(actor, input.to_id(), input.to_time(), input.comment)
            except DomainError as error:
                # The entity names its own field; this input calls it `at`.
                raise DomainError(
                    *(
                        Problem(p.code, p.message, ("at",)) if p.field == ("scheduledAt",) else p
                        for p in error.problems
                    )
                ) from None

        return await mutate(run, _bulletin_payload, _bulletin_failed)

    @strawberry.mutation(description="Send a dead delivery again (officer and above).")
    async def delivery_retry(self, info: Info, input: inputs.DeliveryRetryInput) -> DeliveryPayload:
        svc, actor = info.context.container.bulletins, info.context.actor
        return await mutate(
            lambda: svc.retry_delivery(actor, input.to_id(), input.comment),
            lambda delivery: DeliveryPayload(delivery=Delivery.from_domain(delivery)),
            lambda errors: DeliveryPayload(user_errors=errors),
        )

    @strawberry.mutation(
        description="Store a file to attach to bulletins of a unit (officer and above). Images"
        " and documents up to the upload limit, videos up to 512 MB; the type is read from the"
        " file's bytes, whatever the client declares."
    )
    async def attachment_upload(
        self, info: Info, input: inputs.AttachmentUploadInput
    ) -> AttachmentUploadPayload:
        container, actor = info.context.container, info.context.actor

        async def run() -> DomainAttachment:
            actor.require_authenticated()  # before reading anything a stranger sent
            ward_id = input.to_ward_id()
            if await info.context.loaders.wards_by_id.load(ward_id) is None:
                raise not_found("đơn vị", "Unit", ("wardId",))
            actor.require(Role.OFFICER, ward_id, ("wardId",))
            data = await _read(input.file, container.settings.max_upload_bytes, MAX_VIDEO_BYTES)
            filename = inputs.filename_of(getattr(input.file, "filename", None)) or "tep"
            found = sniff(data, filename)
            if found is None:
                raise DomainError.one(
                    ErrorCode.INVALID_FILE,
                    "Chỉ nhận ảnh JPEG, PNG, GIF, WEBP; video MP4, MOV; tệp PDF, DOC, DOCX, CSV"
                    " hoặc văn bản.",
                    "Only JPEG, PNG, GIF or WEBP images, MP4 or MOV videos, PDF, DOC, DOCX, CSV"
                    " or text files are accepted.",
                    ("file",),
                )
            try:  # checked before storing anything
                attachment = DomainAttachment(
                    blob_key=UNSTORED,
                    media_type=found.media_type,
                    filename=filename,
                    size_bytes=len(data),
                    content_type=found.content_type,
                )
            except DomainError as error:
                raise error.under("file") from None
            key = await container.blobs.put(
                data, content_type=found.content_type, filename=filename
            )
            return dataclasses.replace(attachment, blob_key=key)

        return await mutate(
            run,
            lambda a: AttachmentUploadPayload(attachment=Attachment.from_domain(a)),
            lambda errors: AttachmentUploadPayload(user_errors=errors),
        )
