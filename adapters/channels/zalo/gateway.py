"""Publishing bulletins to Zalo: into OA-managed groups (GMF) and as OA article broadcasts.

What a retry after a crash can and cannot repeat. Zalo takes no idempotency key on any call, so the
gateways keep their progress in ChannelState under the delivery's idempotency key:

- ZaloGroupGateway sends images, then files, then the text, one group message each. After each
  message Zalo accepts, its message id is recorded, and a retry skips the messages already
  recorded; once the text is recorded the same receipt comes back without calling Zalo. Uploads
  post nothing, so repeating them is harmless (it only spends upload quota). NOT deduplicable: a
  crash, or a timeout, after Zalo accepted a message but before its id was recorded — that one
  message is sent again on the retry.
- ZaloOaGateway creates an article, waits for Zalo to process it, then broadcasts it. The article
  token is recorded right after create and the article id right after verify, so a retry never
  creates a second article; once the broadcast's message id is recorded, a retry returns the
  receipt without broadcasting. NOT deduplicable: a crash or timeout after Zalo accepted the
  broadcast but before its id was recorded. The attempt is noted before the call, so such a retry
  broadcasts again but says so in the receipt's detail.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

from adapters.channels.base import ChannelDeps, missing_credentials
from adapters.channels.zalo.client import ARTICLE_PROCESSING, ZaloClient
from domain.channels import ChannelKind
from domain.ports import (
    ChannelError,
    DeliveryReceipt,
    GroupRef,
    MediaRef,
    OutboundMessage,
    Reach,
)
from domain.text import nfc

TEXT_LIMIT = 2000
TITLE_LIMIT = 150
AUTHOR_LIMIT = 50
DESCRIPTION_LIMIT = 300
IMAGE_LIMIT = 1024 * 1024
FILE_LIMIT = 5 * 1024 * 1024
IMAGE_TYPES = {"image/jpeg": "jpg", "image/jpg": "jpg", "image/png": "png"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}
FILE_TYPES = {
    "application/pdf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "text/csv",
}
FILE_SUFFIXES = {".pdf", ".doc", ".docx", ".csv"}
ELLIPSIS = "…"


class ZaloGroupGateway:
    """Posts a bulletin into an OA-managed Zalo group: its images and files, then its text."""

    kind = ChannelKind.ZALO_GROUP

    def __init__(self, deps: ChannelDeps) -> None:
        self._deps = deps
        self.api = ZaloClient(deps)

    async def publish(
        self, target: GroupRef, message: OutboundMessage, *, idempotency_key: str
    ) -> DeliveryReceipt:
        ref = _credentials_ref(self._deps, target)
        images, files, skipped = _group_media(message.media)
        progress = _Progress(self._deps, f"zalo_group:{idempotency_key}")
        sent = await progress.load()
        if "text" in sent:
            return DeliveryReceipt(external_id=sent["text"], detail=sent.get("detail"))
        for index, media in enumerate(images):
            step = f"image:{index}"
            if step not in sent:
                content = await _content(self._deps, media, IMAGE_LIMIT)
                upload = await self.api.upload(
                    ref,
                    "/v2.0/oa/upload/image",
                    filename=media.filename,
                    content=content,
                    content_type=media.content_type,
                )
                attachment = _media_attachment("image", _required(upload, "attachment_id"))
                await progress.record(step, await self._send(ref, target, attachment=attachment))
        for index, media in enumerate(files):
            step = f"file:{index}"
            if step not in sent:
                content = await _content(self._deps, media, FILE_LIMIT)
                upload = await self.api.upload(
                    ref,
                    "/v2.0/oa/upload/file",
                    filename=media.filename,
                    content=content,
                    content_type=media.content_type,
                )
                attachment = {"type": "file", "payload": {"token": _required(upload, "token")}}
                await progress.record(step, await self._send(ref, target, attachment=attachment))
        text = render_text(message.title, message.body, message.link)
        message_id = await self._send(ref, target, text=text)
        detail = f"not sent to Zalo: {', '.join(skipped)}" if skipped else None
        if detail:
            await progress.record("detail", detail)
        await progress.record("text", message_id)
        return DeliveryReceipt(external_id=message_id, detail=detail)

    async def reach(self, target: GroupRef, external_id: str) -> Reach | None:
        return None  # GMF answers no per-message views or reactions

    async def _send(
        self,
        ref: str,
        target: GroupRef,
        *,
        text: str | None = None,
        attachment: Mapping[str, Any] | None = None,
    ) -> str:
        body = {"text": text} if text is not None else {"attachment": attachment}
        data = await self.api.post(
            ref,
            "/v3.0/oa/group/message",
            {"recipient": {"group_id": target.external_id}, "message": body},
        )
        return _required(data, "message_id")


class ZaloOaGateway:
    """Broadcasts a bulletin to an Official Account's followers as an article."""

    kind = ChannelKind.ZALO_OA

    # Zalo processes a new article asynchronously; verify answers -214 until it is done.
    verify_delays: tuple[float, ...] = (0.5, 1.0, 2.0)

    def __init__(self, deps: ChannelDeps) -> None:
        self._deps = deps
        self.api = ZaloClient(deps)

    async def publish(
        self, target: GroupRef, message: OutboundMessage, *, idempotency_key: str
    ) -> DeliveryReceipt:
        ref = _credentials_ref(self._deps, target)
        progress = _Progress(self._deps, f"zalo_oa:{idempotency_key}")
        done = await progress.load()
        if "message_id" in done:
            return _oa_receipt(done)
        if "article_id" not in done:
            if "token" not in done:
                article = self._article(ref, message)
                created = await self.api.post(ref, "/v2.0/article/create", article)
                await progress.record("token", _required(created, "token"))
            await progress.record("article_id", await self._verify(ref, done["token"]))
        if "attempted_at" in done:
            await progress.record("repeated", done["attempted_at"])
        await progress.record("attempted_at", self._deps.clock.now().isoformat())
        try:
            sent = await self.api.post(ref, "/v2.0/oa/message", _broadcast(done["article_id"]))
        except ChannelError as error:
            if error.code != "transport":  # Zalo answered: nothing went out
                await progress.forget("attempted_at")
            raise
        await progress.record("message_id", _required(sent, "message_id"))
        await progress.record("sent_at", self._deps.clock.now().isoformat())
        return _oa_receipt(done)

    async def reach(self, target: GroupRef, external_id: str) -> Reach | None:
        return None  # the article and broadcast APIs report no per-article reach

    def _article(self, ref: str, message: OutboundMessage) -> dict[str, Any]:
        images = [m for m in message.media if m.media_type == "image"]
        config = self._deps.credentials.config(ref) or {}
        cover = public_media_url(self._deps, images[0]) if images else None
        cover = cover or config.get("default_cover_url")
        if not cover:
            raise ChannelError(
                "a Zalo article needs a cover: attach an image or configure default_cover_url",
                retryable=False,
                code="zalo:no_cover",
            )
        title = shorten(nfc(message.title).strip(), TITLE_LIMIT)
        paragraphs = _paragraphs(message.body)
        description = shorten(" ".join(paragraphs) or title, DESCRIPTION_LIMIT)
        if message.link:
            paragraphs.append(message.link)
        return {
            "type": "normal",
            "title": title,
            "author": shorten(nfc(message.ward_name).strip(), AUTHOR_LIMIT),
            "description": description,
            "cover": {"cover_type": "photo", "photo_url": cover, "status": "show"},
            "body": [{"type": "text", "content": p} for p in paragraphs],
            "status": "show",
        }

    async def _verify(self, ref: str, token: str) -> str:
        for delay in self.verify_delays:
            try:
                return await self._verify_once(ref, token)
            except ChannelError as error:
                if error.code != f"zalo:{ARTICLE_PROCESSING}":
                    raise
            await asyncio.sleep(delay)
        # The last try: still processing now surfaces as a retryable error, and the recorded
        # token lets the retry verify the same article instead of creating another.
        return await self._verify_once(ref, token)

    async def _verify_once(self, ref: str, token: str) -> str:
        verified = await self.api.post(ref, "/v2.0/article/verify", {"token": token})
        return _required(verified, "id")


def render_text(title: str, body: str, link: str | None, limit: int = TEXT_LIMIT) -> str:
    """Title, body and link as one group message of at most `limit` characters (NFC, since
    Zalo counts characters and decomposed diacritics would count twice).

    When too long the body is cut at a word boundary and marked with "…"; the link always
    survives, since it leads to the whole bulletin.
    """
    title, body = nfc(title).strip(), nfc(body).strip()
    head, tail = [title] if title else [], [link] if link else []
    full = "\n\n".join([*head, body, *tail] if body else [*head, *tail])
    if len(full) <= limit:
        return full
    room = limit - len("\n\n".join([*head, *tail])) - 2  # 2: the separator before the body
    if room < 20:  # not even a sentence fits beside the title: shorten the title instead
        room = limit - sum(len(t) + 2 for t in tail)
        return "\n\n".join([shorten(title, room), *tail])
    return "\n\n".join([*head, shorten(body, room), *tail])


def shorten(text: str, limit: int) -> str:
    """`text` within `limit` characters, cut after a whole word and ended with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space >= limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(" \n\t,;:.-–—") + ELLIPSIS


def public_media_url(deps: ChannelDeps, media: MediaRef) -> str:
    """Where Zalo can fetch one of our stored images (the API's public media route)."""
    return f"{deps.endpoints.public_base_url.rstrip('/')}/media/{media.blob_key}"


class _Progress:
    """The steps of one publish already done, as JSON in ChannelState; written after each step.

    `load` returns the live mapping, so what `record` adds is visible through it at once.
    """

    def __init__(self, deps: ChannelDeps, key: str) -> None:
        self._state = deps.state
        self._key = key
        self._values: dict[str, str] = {}

    async def load(self) -> dict[str, str]:
        raw = await self._state.get(self._key)
        self._values = json.loads(raw) if raw else {}
        return self._values

    async def record(self, step: str, value: str) -> None:
        self._values[step] = value
        await self._state.put(self._key, json.dumps(self._values))

    async def forget(self, step: str) -> None:
        self._values.pop(step, None)
        await self._state.put(self._key, json.dumps(self._values))


def _credentials_ref(deps: ChannelDeps, target: GroupRef) -> str:
    ref = target.credentials_ref
    if not ref or deps.credentials.config(ref) is None:
        raise missing_credentials(ref)
    return ref


def _group_media(
    media: Sequence[MediaRef],
) -> tuple[list[MediaRef], list[MediaRef], list[str]]:
    """Images and files a group message can carry, checked before any call; what it cannot."""
    images: list[MediaRef] = []
    files: list[MediaRef] = []
    skipped: list[str] = []
    for item in media:
        suffix = PurePosixPath(item.filename).suffix.lower()
        content_type = item.content_type.split(";")[0].strip().lower()
        if item.media_type == "image":
            if content_type not in IMAGE_TYPES and suffix not in IMAGE_SUFFIXES:
                raise _refused(f"Zalo takes only JPG and PNG images, not '{item.filename}'")
            _check_size(item, item.size_bytes, IMAGE_LIMIT)
            images.append(item)
        elif item.media_type == "file":
            if content_type not in FILE_TYPES and suffix not in FILE_SUFFIXES:
                raise _refused(
                    f"Zalo takes only PDF, DOC, DOCX and CSV files, not '{item.filename}'"
                )
            _check_size(item, item.size_bytes, FILE_LIMIT)
            files.append(item)
        else:
            # GMF has no video message; the text's link leads to the bulletin with its video.
            skipped.append(f"{item.media_type} '{item.filename}'")
    return images, files, skipped


async def _content(deps: ChannelDeps, media: MediaRef, limit: int) -> bytes:
    content = await deps.blobs.get(media.blob_key)
    _check_size(media, len(content), limit)
    return content


def _check_size(media: MediaRef, size: int, limit: int) -> None:
    if size > limit:
        raise _refused(
            f"'{media.filename}' is {size} bytes; Zalo takes at most {limit // (1024 * 1024)} MB"
        )


def _refused(reason: str) -> ChannelError:
    return ChannelError(reason, retryable=False, code="zalo:media")


def _media_attachment(media_type: str, attachment_id: str) -> dict[str, Any]:
    return {
        "type": "template",
        "payload": {
            "template_type": "media",
            "elements": [{"media_type": media_type, "attachment_id": attachment_id}],
        },
    }


def _broadcast(article_id: str) -> dict[str, Any]:
    # An empty target reaches every follower; Zalo has no free-text broadcast, only articles.
    return {
        "recipient": {"target": {}},
        "message": {"attachment": _media_attachment("article", article_id)},
    }


def _oa_receipt(done: Mapping[str, str]) -> DeliveryReceipt:
    detail = f"broadcast {done['message_id']} at {done.get('sent_at', '?')}"
    if "repeated" in done:
        detail += (
            f"; an earlier broadcast at {done['repeated']} got no answer, "
            "so followers may have received it twice"
        )
    return DeliveryReceipt(external_id=done["article_id"], detail=detail)


def _required(data: Mapping[str, Any], field: str) -> str:
    value = data.get(field)
    if value is None or value == "":
        raise ChannelError(
            f"Zalo answered success without data.{field}",
            retryable=True,
            code="zalo:bad_response",
        )
    return str(value)


def _paragraphs(text: str) -> list[str]:
    return [re.sub(r"\s+", " ", p).strip() for p in nfc(text).split("\n") if p.strip()]
