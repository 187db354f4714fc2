"""What each channel accepts, checked before approval so that nothing is refused after it.

Limits come from the channels' documentation (shared/channels.md); the ones marked there as
single-source are kept here, in one place, so they can be corrected without touching the gateways.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from domain.bulletin import Attachment, Bulletin, MediaType
from domain.channels import ChannelKind
from domain.errors import Msg

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
MB = 1024 * 1024


class Severity(StrEnum):
    BLOCKING = "blocking"  # approval is refused
    WARNING = "warning"  # it goes out, but not exactly as written


@dataclass(frozen=True, slots=True)
class Finding:
    channel: ChannelKind
    severity: Severity
    code: str
    message: Msg


@dataclass(frozen=True, slots=True)
class Rendering:
    """How the bulletin will look on one channel."""

    channel: ChannelKind
    title: str | None
    text: str
    media: tuple[str, ...]
    findings: tuple[Finding, ...]

    @property
    def blocking(self) -> bool:
        return any(f.severity is Severity.BLOCKING for f in self.findings)


@dataclass(frozen=True, slots=True)
class ChannelLimits:
    text_max: int
    title_max: int | None = None
    image_max_bytes: int | None = None
    file_max_bytes: int | None = None
    image_types: frozenset[str] = frozenset()
    file_types: frozenset[str] = frozenset()
    video: bool = True
    video_required: bool = False


LIMITS: dict[ChannelKind, ChannelLimits] = {
    ChannelKind.ZALO_GROUP: ChannelLimits(
        text_max=2000,
        image_max_bytes=1 * MB,
        file_max_bytes=5 * MB,
        image_types=frozenset({"image/jpeg", "image/png"}),
        file_types=frozenset(
            {
                "application/pdf",
                "application/msword",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "text/csv",
            }
        ),
        video=False,
    ),
    ChannelKind.ZALO_OA: ChannelLimits(
        text_max=100_000,
        title_max=150,
        image_max_bytes=1 * MB,
        image_types=frozenset({"image/jpeg", "image/png"}),
        video=False,
    ),
    ChannelKind.FACEBOOK_PAGE: ChannelLimits(
        text_max=63_206, image_max_bytes=4 * MB, file_max_bytes=0
    ),
    ChannelKind.YOUTUBE_CHANNEL: ChannelLimits(
        text_max=5000, title_max=100, file_max_bytes=0, video_required=True
    ),
    ChannelKind.PORTAL: ChannelLimits(text_max=1_000_000, title_max=200),
}

# Zalo refuses promotion-type messages (OA broadcasts) from 22:00 to 06:00, Vietnam time.
QUIET_START = time(22, 0)
QUIET_END = time(6, 0)


def in_quiet_hours(at: datetime) -> bool:
    local = at.astimezone(VIETNAM).time()
    return local >= QUIET_START or local < QUIET_END


def end_of_quiet_hours(at: datetime) -> datetime:
    """The next 06:00 in Vietnam at or after `at` (`at` itself when outside quiet hours)."""
    if not in_quiet_hours(at):
        return at
    local = at.astimezone(VIETNAM)
    day = local.date() if local.time() < QUIET_END else local.date() + timedelta(days=1)
    return datetime.combine(day, QUIET_END, VIETNAM)


def render(bulletin: Bulletin, channel: ChannelKind, link: str | None, now: datetime) -> Rendering:
    limits = LIMITS[channel]
    findings: list[Finding] = []

    def add(severity: Severity, code: str, vi: str, en: str) -> None:
        findings.append(Finding(channel, severity, code, Msg(vi, en)))

    text = compose_text(bulletin.title, bulletin.body, link, include_title=limits.title_max is None)
    if len(text) > limits.text_max:
        add(
            Severity.WARNING,
            "text_truncated",
            f"Nội dung dài hơn {limits.text_max} ký tự sẽ được cắt bớt và kèm đường dẫn.",
            f"Text longer than {limits.text_max} characters will be cut, with the link kept.",
        )
        text = truncate(text, limits.text_max, link)
    title = bulletin.title if limits.title_max else None
    if title and limits.title_max and len(title) > limits.title_max:
        add(
            Severity.BLOCKING,
            "title_too_long",
            f"Tiêu đề vượt quá {limits.title_max} ký tự cho phép trên kênh này.",
            f"The title is longer than the {limits.title_max} characters this channel allows.",
        )
    findings.extend(_media_findings(bulletin.attachments, channel, limits))
    if channel is ChannelKind.ZALO_OA:
        when = bulletin.scheduled_at or now
        if in_quiet_hours(when):
            add(
                Severity.WARNING,
                "quiet_hours",
                "Zalo không cho gửi tin quảng bá từ 22:00 đến 06:00: tin sẽ được gửi lúc 06:00.",
                "Zalo refuses broadcasts from 22:00 to 06:00: it will be sent at 06:00.",
            )
    media = tuple(a.filename for a in bulletin.attachments if _accepted(a, limits))
    return Rendering(channel, title, text, media, tuple(findings))


def _accepted(attachment: Attachment, limits: ChannelLimits) -> bool:
    if attachment.media_type is MediaType.VIDEO:
        return limits.video
    if attachment.media_type is MediaType.IMAGE:
        return limits.image_max_bytes is None or attachment.size_bytes <= limits.image_max_bytes
    return bool(limits.file_max_bytes) and attachment.size_bytes <= (limits.file_max_bytes or 0)


def _media_findings(
    attachments: Sequence[Attachment], channel: ChannelKind, limits: ChannelLimits
) -> list[Finding]:
    findings: list[Finding] = []

    def add(severity: Severity, code: str, vi: str, en: str) -> None:
        findings.append(Finding(channel, severity, code, Msg(vi, en)))

    videos = [a for a in attachments if a.media_type is MediaType.VIDEO]
    if limits.video_required and len(videos) != 1:
        add(
            Severity.BLOCKING,
            "video_required",
            "Kênh YouTube cần đúng một video đính kèm.",
            "A YouTube channel needs exactly one video attached.",
        )
    if videos and not limits.video:
        add(
            Severity.WARNING,
            "video_not_supported",
            "Kênh này không nhận video: chỉ gửi nội dung và đường dẫn.",
            "This channel takes no video: only the text and link are sent.",
        )
    for attachment in attachments:
        if attachment.media_type is MediaType.IMAGE:
            if limits.image_types and attachment.content_type not in limits.image_types:
                add(
                    Severity.BLOCKING,
                    "image_type",
                    f"Ảnh '{attachment.filename}' phải là JPG hoặc PNG trên kênh này.",
                    f"Image '{attachment.filename}' must be JPG or PNG on this channel.",
                )
            if limits.image_max_bytes and attachment.size_bytes > limits.image_max_bytes:
                add(
                    Severity.BLOCKING,
                    "image_too_large",
                    f"Ảnh '{attachment.filename}' lớn hơn {limits.image_max_bytes // MB} MB.",
                    f"Image '{attachment.filename}' is larger than {limits.image_max_bytes // MB} MB.",
                )
        elif attachment.media_type is MediaType.FILE:
            if not limits.file_max_bytes:
                add(
                    Severity.WARNING,
                    "file_not_supported",
                    f"Tệp '{attachment.filename}' không gửi được trên kênh này.",
                    f"File '{attachment.filename}' cannot be sent on this channel.",
                )
            elif attachment.size_bytes > limits.file_max_bytes:
                add(
                    Severity.BLOCKING,
                    "file_too_large",
                    f"Tệp '{attachment.filename}' lớn hơn {limits.file_max_bytes // MB} MB.",
                    f"File '{attachment.filename}' is larger than {limits.file_max_bytes // MB} MB.",
                )
            elif limits.file_types and attachment.content_type not in limits.file_types:
                add(
                    Severity.BLOCKING,
                    "file_type",
                    f"Tệp '{attachment.filename}' phải là PDF, DOC, DOCX hoặc CSV.",
                    f"File '{attachment.filename}' must be PDF, DOC, DOCX or CSV.",
                )
    return findings


def compose_text(title: str, body: str, link: str | None, *, include_title: bool = True) -> str:
    parts = [title.upper(), body] if include_title else [body]
    if link:
        parts.append(link)
    return "\n\n".join(parts)


def truncate(text: str, limit: int, link: str | None) -> str:
    """Cut at a word boundary and keep the link, so residents can read the rest."""
    tail = f"…\n\n{link}" if link else "…"
    room = max(0, limit - len(tail))
    cut = text[:room]
    if " " in cut[room // 2 :]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip() + tail
