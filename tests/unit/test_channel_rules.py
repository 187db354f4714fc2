"""What each channel accepts: quiet hours, truncation with the link kept, media rules."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from domain.bulletin import Attachment, Bulletin, BulletinKind, MediaType
from domain.channel_rules import (
    LIMITS,
    MB,
    VIETNAM,
    Severity,
    compose_text,
    end_of_quiet_hours,
    in_quiet_hours,
    render,
    truncate,
)
from domain.channels import ChannelKind
from domain.ids import GroupId, MemberId, WardId

K = ChannelKind
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # 15:00 in Hà Nội
LINK = "https://gandan.example.vn/bulletins/0193"


def ict(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment given in Vietnam time (UTC+7)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=VIETNAM)


def attachment(media_type: MediaType, content_type: str, size: int, name: str = "f") -> Attachment:
    suffix = content_type.rsplit("/", 1)[-1]
    return Attachment(f"{uuid.uuid4().hex}", media_type, f"{name}.{suffix}", size, content_type)


VIDEO = attachment(MediaType.VIDEO, "video/mp4", 5 * MB, "canh-bao")


def bulletin(**overrides) -> Bulletin:
    fields = dict(
        ward_id=WardId(uuid.uuid4()),
        author_id=MemberId(uuid.uuid4()),
        kind=BulletinKind.SCAM_WARNING,
        title="Cảnh báo lừa đảo qua điện thoại",
        body="Không cung cấp mã OTP cho bất kỳ ai.",
        now=NOW,
        target_group_ids=[GroupId(uuid.uuid4())],
    )
    return Bulletin.draft(**(fields | overrides))


def codes(b: Bulletin, channel: ChannelKind, now: datetime = NOW) -> dict[str, Severity]:
    return {f.code: f.severity for f in render(b, channel, LINK, now).findings}


# quiet hours -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "quiet"),
    [
        (ict(23, 21, 59), False),
        (ict(23, 22, 0), True),
        (ict(23, 23, 30), True),
        (ict(24, 0, 0), True),
        (ict(24, 5, 59), True),
        (ict(24, 6, 0), False),
        (ict(24, 12, 0), False),
    ],
)
def test_quiet_hours_run_from_22_00_to_06_00_vietnam_time(local: datetime, quiet: bool) -> None:
    assert in_quiet_hours(local) is quiet
    assert in_quiet_hours(local.astimezone(UTC)) is quiet  # the zone of the input does not matter


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (ict(23, 21, 59), ict(23, 21, 59)),  # not quiet: itself
        (ict(23, 22, 0), ict(24, 6, 0)),  # evening: next morning
        (ict(23, 23, 0), ict(24, 6, 0)),
        (ict(24, 0, 0), ict(24, 6, 0)),  # after midnight: the same morning
        (ict(24, 5, 59), ict(24, 6, 0)),
        (ict(24, 6, 0), ict(24, 6, 0)),  # the end itself is allowed
    ],
)
def test_end_of_quiet_hours(local: datetime, expected: datetime) -> None:
    assert end_of_quiet_hours(local.astimezone(UTC)) == expected


def test_zalo_oa_warns_of_quiet_hours_at_its_scheduled_time() -> None:
    late = bulletin(scheduled_at=ict(23, 23, 0))
    assert codes(late, K.ZALO_OA) == {"quiet_hours": Severity.WARNING}
    assert codes(bulletin(), K.ZALO_OA) == {}  # 15:00 now


def test_quiet_hours_are_judged_by_now_when_not_scheduled() -> None:
    night = ict(23, 22, 0).astimezone(UTC)
    b = bulletin(now=night - timedelta(minutes=1))
    assert "quiet_hours" in codes(b, K.ZALO_OA, now=night)
    assert "quiet_hours" not in codes(b, K.ZALO_OA, now=night - timedelta(minutes=1))


@pytest.mark.parametrize("channel", [K.ZALO_GROUP, K.FACEBOOK_PAGE, K.PORTAL])
def test_only_the_oa_broadcast_has_quiet_hours(channel: ChannelKind) -> None:
    assert "quiet_hours" not in codes(bulletin(scheduled_at=ict(23, 23, 0)), channel)


# text ------------------------------------------------------------------------------------------


def test_short_text_is_title_body_and_link() -> None:
    rendering = render(bulletin(), K.ZALO_GROUP, LINK, NOW)
    assert rendering.text == (
        "CẢNH BÁO LỪA ĐẢO QUA ĐIỆN THOẠI\n\nKhông cung cấp mã OTP cho bất kỳ ai.\n\n" + LINK
    )
    assert rendering.title is None
    assert rendering.findings == ()


@pytest.mark.parametrize("channel", [K.ZALO_OA, K.YOUTUBE_CHANNEL, K.PORTAL])
def test_channels_with_a_title_field_keep_it_out_of_the_text(channel: ChannelKind) -> None:
    rendering = render(bulletin(), channel, LINK, NOW)
    assert rendering.title == "Cảnh báo lừa đảo qua điện thoại"
    assert rendering.text == "Không cung cấp mã OTP cho bất kỳ ai.\n\n" + LINK


def test_long_text_is_cut_at_a_word_and_keeps_the_link() -> None:
    body = "Người dân cần cảnh giác với các cuộc gọi mạo danh. " * 80  # ~4,000 characters
    rendering = render(bulletin(body=body), K.ZALO_GROUP, LINK, NOW)
    limit = LIMITS[K.ZALO_GROUP].text_max
    assert len(rendering.text) <= limit
    assert rendering.text.endswith("…\n\n" + LINK)
    cut = rendering.text.removesuffix("…\n\n" + LINK)
    assert body.startswith(cut.split("\n\n", 1)[1])  # a prefix of the body...
    assert not cut.endswith(" ")
    assert cut.rsplit(" ", 1)[-1] in body.split()  # ...ending with a whole word
    assert [(f.code, f.severity) for f in rendering.findings] == [
        ("text_truncated", Severity.WARNING)
    ]
    assert not rendering.blocking


def test_text_at_the_limit_is_not_cut() -> None:
    head = len(compose_text("T", "", LINK))
    body = "x" * (LIMITS[K.ZALO_GROUP].text_max - head)
    rendering = render(bulletin(title="T", body=body), K.ZALO_GROUP, LINK, NOW)
    assert len(rendering.text) == LIMITS[K.ZALO_GROUP].text_max
    assert rendering.findings == ()


@pytest.mark.parametrize("link", [LINK, None])
@pytest.mark.parametrize("limit", [60, 100, 500])
def test_truncate_stays_within_the_limit(link: str | None, limit: int) -> None:
    text = "một hai ba bốn năm sáu bảy tám chín mười " * 50
    cut = truncate(text, limit, link)
    assert len(cut) <= limit
    assert cut.endswith(f"…\n\n{link}" if link else "…")


def test_truncate_without_a_space_cuts_inside_the_word() -> None:
    assert truncate("x" * 50, 10, None) == "x" * 9 + "…"


# media -----------------------------------------------------------------------------------------


def test_youtube_needs_exactly_one_video() -> None:
    assert codes(bulletin(), K.YOUTUBE_CHANNEL) == {"video_required": Severity.BLOCKING}
    two = bulletin(attachments=[VIDEO, attachment(MediaType.VIDEO, "video/mp4", MB, "b")])
    assert codes(two, K.YOUTUBE_CHANNEL) == {"video_required": Severity.BLOCKING}
    one = render(bulletin(attachments=[VIDEO]), K.YOUTUBE_CHANNEL, LINK, NOW)
    assert one.findings == () and one.media == ("canh-bao.mp4",)


@pytest.mark.parametrize("channel", [K.ZALO_GROUP, K.ZALO_OA])
def test_zalo_sends_a_video_bulletin_as_text_and_link(channel: ChannelKind) -> None:
    rendering = render(bulletin(attachments=[VIDEO]), channel, LINK, NOW)
    assert {f.code: f.severity for f in rendering.findings} == {
        "video_not_supported": Severity.WARNING
    }
    assert rendering.media == ()
    assert rendering.text.endswith(LINK)


@pytest.mark.parametrize(
    ("channel", "size", "blocked"),
    [
        (K.ZALO_GROUP, 1 * MB, False),
        (K.ZALO_GROUP, 1 * MB + 1, True),
        (K.ZALO_OA, 1 * MB + 1, True),
        (K.FACEBOOK_PAGE, 4 * MB, False),
        (K.FACEBOOK_PAGE, 4 * MB + 1, True),
        (K.PORTAL, 50 * MB, False),
    ],
)
def test_image_size_limits(channel: ChannelKind, size: int, blocked: bool) -> None:
    image = attachment(MediaType.IMAGE, "image/jpeg", size, "anh")
    rendering = render(bulletin(attachments=[image]), channel, LINK, NOW)
    assert ("image_too_large" in {f.code for f in rendering.findings}) is blocked
    assert rendering.blocking is blocked
    assert rendering.media == (() if blocked else ("anh.jpeg",))


def test_zalo_takes_only_jpg_and_png_images() -> None:
    gif = attachment(MediaType.IMAGE, "image/gif", 1000, "anh")
    assert codes(bulletin(attachments=[gif]), K.ZALO_GROUP) == {"image_type": Severity.BLOCKING}
    assert codes(bulletin(attachments=[gif]), K.FACEBOOK_PAGE) == {}
    png = attachment(MediaType.IMAGE, "image/png", 1000, "anh")
    assert codes(bulletin(attachments=[png]), K.ZALO_GROUP) == {}


def test_file_rules() -> None:
    pdf = attachment(MediaType.FILE, "application/pdf", 2 * MB, "mau-don")
    big = attachment(MediaType.FILE, "application/pdf", 5 * MB + 1, "lon")
    zipped = attachment(MediaType.FILE, "application/zip", 1000, "nen")
    assert codes(bulletin(attachments=[pdf]), K.ZALO_GROUP) == {}
    assert codes(bulletin(attachments=[big]), K.ZALO_GROUP) == {"file_too_large": Severity.BLOCKING}
    assert codes(bulletin(attachments=[zipped]), K.ZALO_GROUP) == {"file_type": Severity.BLOCKING}
    assert codes(bulletin(attachments=[pdf]), K.FACEBOOK_PAGE) == {
        "file_not_supported": Severity.WARNING
    }


@pytest.mark.parametrize(("channel", "limit"), [(K.YOUTUBE_CHANNEL, 100), (K.ZALO_OA, 150)])
def test_title_limits(channel: ChannelKind, limit: int) -> None:
    extra = [VIDEO] if channel is K.YOUTUBE_CHANNEL else []
    fits = bulletin(title="T" * limit, attachments=extra)
    too_long = bulletin(title="T" * (limit + 1), attachments=extra)
    assert "title_too_long" not in codes(fits, channel)
    assert codes(too_long, channel).get("title_too_long") is Severity.BLOCKING
    assert "title_too_long" not in codes(too_long, K.ZALO_GROUP)  # no title field there
