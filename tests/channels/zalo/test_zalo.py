"""The Zalo gateways against a fake Zalo that fails the way channels.md §1 says Zalo does."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from adapters.channels.base import ChannelDeps, Endpoints
from adapters.channels.zalo import ZaloGroupGateway, ZaloOaGateway
from adapters.channels.zalo.gateway import render_text
from domain.channels import ChannelKind
from domain.ids import BulletinId, GroupId, WardId, new_id
from domain.ports import ChannelError, GroupRef, MediaRef, OutboundMessage, StoredToken
from tests.fakes.channel_deps import MemoryCredentials, channel_deps
from tests.fakes.servers import LiveServer, free_port, serve_app
from tests.fakes.zalo_server import FakeZalo

REF = "zalo-tan-mai"
PUBLIC = "https://gandan.example.vn"
DEFAULT_COVER = f"{PUBLIC}/static/cover.png"
LINK = f"{PUBLIC}/b/0193"
ICT = timezone(timedelta(hours=7))
GROUP_PATH = "/v3.0/oa/group/message"
BROADCAST_PATH = "/v2.0/oa/message"


class _CurrentFake:
    """One server for the module; each test swaps in a fresh FakeZalo behind it."""

    fake: FakeZalo

    async def __call__(self, scope, receive, send) -> None:
        await self.fake.app(scope, receive, send)


@pytest.fixture(scope="module")
def zalo_host() -> Iterator[tuple[_CurrentFake, LiveServer]]:
    current = _CurrentFake()
    with serve_app(current) as server:
        yield current, server


@pytest.fixture
def fake(zalo_host: tuple[_CurrentFake, LiveServer]) -> FakeZalo:
    current, _ = zalo_host
    current.fake = FakeZalo()
    return current.fake


@pytest.fixture
def endpoints(zalo_host: tuple[_CurrentFake, LiveServer]) -> Endpoints:
    _, server = zalo_host
    return Endpoints(zalo_api=server.base_url, zalo_oauth=server.base_url, public_base_url=PUBLIC)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


@pytest.fixture
def credentials(fake: FakeZalo, clock) -> MemoryCredentials:
    store = MemoryCredentials(
        {
            REF: {
                "app_id": fake.app_id,
                "secret_key": fake.secret_key,
                "oa_id": "579745863508352884",
                "default_cover_url": DEFAULT_COVER,
            }
        }
    )
    access, refresh = fake.issue_tokens()
    store.tokens[REF] = StoredToken(access, refresh, clock.now() + timedelta(hours=25))
    return store


@pytest.fixture
def deps(http, clock, endpoints, credentials, tmp_path) -> ChannelDeps:
    return channel_deps(
        http, clock, endpoints=endpoints, credentials=credentials, tmp_path=tmp_path
    )


def quick(gateway):
    """No real waiting beyond a few milliseconds in tests."""
    gateway.api.race_grace = (0.01, 0.05)
    if isinstance(gateway, ZaloOaGateway):
        gateway.verify_delays = (0.01, 0.01, 0.01)
    return gateway


@pytest.fixture
def group(deps) -> ZaloGroupGateway:
    return quick(ZaloGroupGateway(deps))


@pytest.fixture
def oa(deps) -> ZaloOaGateway:
    return quick(ZaloOaGateway(deps))


def group_ref(kind: ChannelKind = ChannelKind.ZALO_GROUP, *, ref: str | None = REF) -> GroupRef:
    return GroupRef(
        group_id=GroupId(new_id()),
        ward_id=WardId(new_id()),
        channel=kind,
        external_id="group-1" if kind is ChannelKind.ZALO_GROUP else "579745863508352884",
        name="Tổ dân phố 5",
        credentials_ref=ref,
    )


def bulletin(**overrides) -> OutboundMessage:
    fields = {
        "bulletin_id": BulletinId(new_id()),
        "kind": "scam_warning",
        "title": "Cảnh báo lừa đảo qua điện thoại",
        "body": "Đối tượng giả danh công an gọi điện.\nKhông chuyển tiền cho bất kỳ ai.",
        "ward_name": "Phường Tân Mai",
        "link": LINK,
    }
    fields.update(overrides)
    return OutboundMessage(**fields)


async def stored_media(deps, data: bytes, filename: str, content_type: str, media_type: str):
    key = await deps.blobs.put(data, content_type=content_type, filename=filename)
    return MediaRef(key, media_type, filename, content_type, len(data))


def secrets_of(fake: FakeZalo, credentials: MemoryCredentials, *tokens: StoredToken) -> list[str]:
    values = [fake.secret_key]
    for token in (credentials.tokens[REF], *tokens):
        values += [token.access_token, token.refresh_token or ""]
    return [v for v in values if v]


# -- groups ------------------------------------------------------------------------------------


async def test_a_bulletin_is_posted_to_a_group_as_one_text(group, fake, credentials) -> None:
    receipt = await group.publish(group_ref(), bulletin(), idempotency_key="d-1")

    [posted] = fake.group_messages
    assert posted["group_id"] == "group-1"
    assert posted["token"] == credentials.tokens[REF].access_token
    assert posted["message"]["text"] == (
        "Cảnh báo lừa đảo qua điện thoại\n\n"
        "Đối tượng giả danh công an gọi điện.\nKhông chuyển tiền cho bất kỳ ai.\n\n" + LINK
    )
    assert receipt.external_id == posted["message_id"]
    assert receipt.sandbox is False


async def test_an_image_and_a_file_are_uploaded_and_sent_before_the_text(group, fake, deps) -> None:
    photo = await stored_media(
        deps, b"\xff\xd8\xff" + b"0" * 5000, "doi-tuong.jpg", "image/jpeg", "image"
    )
    notice = await stored_media(deps, b"%PDF-1.7 ...", "thong-bao.pdf", "application/pdf", "file")

    receipt = await group.publish(
        group_ref(), bulletin(media=(photo, notice)), idempotency_key="d-1"
    )

    assert [(u["kind"], u["filename"], u["size"]) for u in fake.uploads] == [
        ("image", "doi-tuong.jpg", 5003),
        ("file", "thong-bao.pdf", 12),
    ]
    image, file, text = (m["message"] for m in fake.group_messages)
    assert image["attachment"]["payload"]["template_type"] == "media"
    assert image["attachment"]["payload"]["elements"][0]["media_type"] == "image"
    assert file["attachment"]["type"] == "file"
    assert text["text"].startswith("Cảnh báo")
    assert receipt.external_id == fake.group_messages[-1]["message_id"]


async def test_a_long_bulletin_is_cut_cleanly_and_keeps_its_link(group, fake) -> None:
    body = " ".join(["Người dân cần cảnh giác với các cuộc gọi lạ."] * 120)

    await group.publish(group_ref(), bulletin(body=body), idempotency_key="d-1")

    [text] = fake.texts()
    assert len(text) <= 2000
    assert text.endswith("…\n\n" + LINK)
    assert text.startswith("Cảnh báo lừa đảo qua điện thoại\n\n")
    cut = text.removesuffix("…\n\n" + LINK)
    assert cut[-1] not in " ." and body.startswith(cut.split("\n\n", 1)[1])


async def test_a_video_is_left_to_the_link_and_said_so(group, fake, deps) -> None:
    clip = await stored_media(deps, b"\x00" * 100, "clip.mp4", "video/mp4", "video")

    receipt = await group.publish(group_ref(), bulletin(media=(clip,)), idempotency_key="d-1")

    assert len(fake.group_messages) == 1 and fake.uploads == []
    assert "clip.mp4" in (receipt.detail or "")


async def test_publishing_again_with_the_same_key_posts_nothing_more(group, fake) -> None:
    first = await group.publish(group_ref(), bulletin(), idempotency_key="d-1")
    again = await group.publish(group_ref(), bulletin(), idempotency_key="d-1")

    assert again.external_id == first.external_id
    assert len(fake.group_messages) == 1


async def test_a_retry_after_the_image_went_out_sends_only_the_text(group, fake, deps) -> None:
    photo = await stored_media(deps, b"\x89PNG" + b"0" * 100, "anh.png", "image/png", "image")
    fake.fail_next(1, status=503, path=GROUP_PATH, after=1)  # the image passes, the text fails

    with pytest.raises(ChannelError) as failed:
        await group.publish(group_ref(), bulletin(media=(photo,)), idempotency_key="d-1")
    assert failed.value.retryable
    receipt = await group.publish(group_ref(), bulletin(media=(photo,)), idempotency_key="d-1")

    kinds = ["text" if "text" in m["message"] else "image" for m in fake.group_messages]
    assert kinds == ["image", "text"]
    assert receipt.external_id == fake.group_messages[-1]["message_id"]


@pytest.mark.parametrize(
    "title, body, link",
    [
        ("", "chữ " * 1000, LINK),
        ("Tiêu đề " * 400, "ngắn", LINK),
        ("Tiêu đề", "x" * 5000, None),
        ("Tiêu đề", "e\u0301" * 1500, LINK),  # decomposed: 3000 code points, 1500 after NFC
    ],
)
def test_group_text_never_exceeds_2000_characters_and_keeps_the_link(title, body, link) -> None:
    text = render_text(title, body, link)

    assert len(text) <= 2000
    assert not text.startswith("\n")
    if link:
        assert text.endswith("\n\n" + link)


# -- Official Account articles -----------------------------------------------------------------


async def test_a_bulletin_is_broadcast_as_an_article(oa, fake) -> None:
    receipt = await oa.publish(group_ref(ChannelKind.ZALO_OA), bulletin(), idempotency_key="d-1")

    [article] = fake.articles.values()
    assert article["body"] == {
        "type": "normal",
        "title": "Cảnh báo lừa đảo qua điện thoại",
        "author": "Phường Tân Mai",
        "description": "Đối tượng giả danh công an gọi điện. Không chuyển tiền cho bất kỳ ai.",
        "cover": {"cover_type": "photo", "photo_url": DEFAULT_COVER, "status": "show"},
        "body": [
            {"type": "text", "content": "Đối tượng giả danh công an gọi điện."},
            {"type": "text", "content": "Không chuyển tiền cho bất kỳ ai."},
            {"type": "text", "content": LINK},
        ],
        "status": "show",
    }
    [broadcast] = fake.broadcasts
    assert broadcast["article_id"] == article["id"] == receipt.external_id
    assert broadcast["message_id"] in (receipt.detail or "")


async def test_the_first_image_becomes_the_article_cover(oa, fake, deps) -> None:
    photo = await stored_media(deps, b"\xff\xd8\xff" + b"1" * 10, "anh.jpg", "image/jpeg", "image")

    await oa.publish(
        group_ref(ChannelKind.ZALO_OA), bulletin(media=(photo,)), idempotency_key="d-1"
    )

    [article] = fake.articles.values()
    assert article["body"]["cover"]["photo_url"] == f"{PUBLIC}/media/{photo.blob_key}"


async def test_long_article_fields_are_shortened_to_zalo_limits(oa, fake) -> None:
    message = bulletin(
        title="Tiêu đề " * 40, ward_name="Công an phường " * 10, body="Nội dung " * 100
    )

    await oa.publish(group_ref(ChannelKind.ZALO_OA), message, idempotency_key="d-1")

    [article] = fake.articles.values()
    assert len(article["body"]["title"]) <= 150 and article["body"]["title"].endswith("…")
    assert len(article["body"]["author"]) <= 50
    assert len(article["body"]["description"]) <= 300


async def test_an_article_being_processed_is_verified_again_until_ready(oa, fake) -> None:
    fake.verify_pending = 2

    receipt = await oa.publish(group_ref(ChannelKind.ZALO_OA), bulletin(), idempotency_key="d-1")

    [article] = fake.articles.values()
    assert article["verify_calls"] == 3
    assert receipt.external_id == article["id"]


async def test_an_article_still_processing_is_retried_later_without_a_second_article(
    oa, fake
) -> None:
    fake.verify_pending = 100
    target = group_ref(ChannelKind.ZALO_OA)

    with pytest.raises(ChannelError) as pending:
        await oa.publish(target, bulletin(), idempotency_key="d-1")
    assert (pending.value.retryable, pending.value.code) == (True, "zalo:-214")
    assert pending.value.retry_after
    fake.verify_pending = 0
    receipt = await oa.publish(target, bulletin(), idempotency_key="d-1")

    assert fake.articles_created == 1
    assert [b["article_id"] for b in fake.broadcasts] == [receipt.external_id]


async def test_a_retry_after_a_crash_between_create_and_broadcast_reuses_the_article(
    oa, fake
) -> None:
    fake.fail_next(1, status=503, path=BROADCAST_PATH)
    target = group_ref(ChannelKind.ZALO_OA)

    with pytest.raises(ChannelError) as crashed:
        await oa.publish(target, bulletin(), idempotency_key="d-1")
    assert crashed.value.retryable
    first = await oa.publish(target, bulletin(), idempotency_key="d-1")
    again = await oa.publish(target, bulletin(), idempotency_key="d-1")

    assert fake.articles_created == 1
    assert len(fake.broadcasts) == 1
    assert first == again
    assert "twice" not in (first.detail or "")


class _LoseOneAnswer(httpx.AsyncBaseTransport):
    """Delivers the request, then drops Zalo's answer: the case no retry can deduplicate."""

    def __init__(self, path: str) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._path = path
        self.lost = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if request.url.path == self._path and not self.lost:
            self.lost += 1
            await response.aread()
            await response.aclose()
            raise httpx.ReadTimeout("answer lost", request=request)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


async def test_a_broadcast_whose_answer_was_lost_is_sent_again_and_flagged(
    fake, clock, endpoints, credentials, tmp_path
) -> None:
    transport = _LoseOneAnswer(BROADCAST_PATH)
    async with httpx.AsyncClient(transport=transport, timeout=5.0) as http:
        deps = channel_deps(
            http, clock, endpoints=endpoints, credentials=credentials, tmp_path=tmp_path
        )
        oa = quick(ZaloOaGateway(deps))
        target = group_ref(ChannelKind.ZALO_OA)

        with pytest.raises(ChannelError) as lost:
            await oa.publish(target, bulletin(), idempotency_key="d-1")
        assert (lost.value.retryable, lost.value.code) == (True, "transport")
        receipt = await oa.publish(target, bulletin(), idempotency_key="d-1")

    assert fake.articles_created == 1
    assert len(fake.broadcasts) == 2  # documented: Zalo takes no idempotency key
    assert "twice" in (receipt.detail or "")


async def test_the_night_ban_is_retried_at_six_in_the_morning_vietnam_time(oa, fake, clock) -> None:
    clock.current = datetime(2026, 11, 23, 23, 30, tzinfo=ICT).astimezone(UTC)
    fake.night_ban = True
    target = group_ref(ChannelKind.ZALO_OA)

    with pytest.raises(ChannelError) as banned:
        await oa.publish(target, bulletin(), idempotency_key="d-1")

    error = banned.value
    assert (error.retryable, error.code) == (True, "zalo:-234")
    assert clock.now() + timedelta(seconds=error.retry_after) == datetime(
        2026, 11, 24, 6, 0, tzinfo=ICT
    )
    fake.night_ban = False
    clock.advance(seconds=error.retry_after)
    await oa.publish(target, bulletin(), idempotency_key="d-1")
    assert fake.articles_created == 1 and len(fake.broadcasts) == 1


async def test_an_article_without_any_cover_is_refused_before_any_call(
    oa, fake, credentials
) -> None:
    del credentials.configs[REF]["default_cover_url"]

    with pytest.raises(ChannelError) as refused:
        await oa.publish(group_ref(ChannelKind.ZALO_OA), bulletin(), idempotency_key="d-1")

    assert (refused.value.retryable, refused.value.code) == (False, "zalo:no_cover")
    assert fake.requests == []


# -- tokens ------------------------------------------------------------------------------------


async def test_an_expired_token_is_refreshed_once_and_the_new_pair_kept(
    group, fake, credentials, clock, http, endpoints
) -> None:
    old = credentials.tokens[REF]
    fake.expire_tokens()

    await group.publish(group_ref(), bulletin(), idempotency_key="d-1")

    new = credentials.tokens[REF]
    assert fake.refreshes == [old.refresh_token]
    assert credentials.replacements == 1
    assert (new.access_token, new.refresh_token) != (old.access_token, old.refresh_token)
    assert new.expires_at == clock.now() + timedelta(seconds=90000)  # "expires_in": "90000"
    assert fake.group_messages[0]["token"] == new.access_token
    reused = await http.post(
        endpoints.zalo_oauth + "/v4/oa/access_token",
        headers={"secret_key": fake.secret_key},
        data={
            "refresh_token": old.refresh_token,
            "app_id": fake.app_id,
            "grant_type": "refresh_token",
        },
    )
    assert "access_token" not in reused.json() and reused.json()["error"] == -14014


async def test_a_token_about_to_expire_is_refreshed_before_the_call(
    group, fake, credentials, clock
) -> None:
    old = credentials.tokens[REF]
    credentials.tokens[REF] = StoredToken(
        old.access_token, old.refresh_token, clock.now() + timedelta(minutes=1)
    )

    await group.publish(group_ref(), bulletin(), idempotency_key="d-1")

    assert fake.requests == [("POST", "/v4/oa/access_token"), ("POST", GROUP_PATH)]
    assert credentials.replacements == 1


async def test_a_token_about_to_expire_still_serves_when_its_refresh_is_refused(
    group, fake, credentials, clock
) -> None:
    old = credentials.tokens[REF]
    credentials.tokens[REF] = StoredToken(
        old.access_token, old.refresh_token, clock.now() + timedelta(minutes=1)
    )
    fake.revoke_refresh_tokens()

    await group.publish(group_ref(), bulletin(), idempotency_key="d-1")

    assert fake.group_messages[0]["token"] == old.access_token
    assert credentials.replacements == 0


async def test_concurrent_publishes_with_an_expired_token_refresh_once(
    group, fake, credentials
) -> None:
    fake.expire_tokens()

    await asyncio.gather(
        group.publish(group_ref(), bulletin(), idempotency_key="d-1"),
        group.publish(group_ref(), bulletin(), idempotency_key="d-2"),
    )

    assert fake.refresh_count == 1 and fake.refused_refreshes == []
    assert credentials.replacements == 1
    assert len(fake.group_messages) == 2


async def test_two_workers_with_an_expired_token_refresh_once(deps, fake, credentials) -> None:
    """Separate gateways hold separate locks, like separate processes; the store decides."""
    fake.expire_tokens()
    one, two = quick(ZaloGroupGateway(deps)), quick(ZaloOaGateway(deps))

    await asyncio.gather(
        one.publish(group_ref(), bulletin(), idempotency_key="d-1"),
        two.publish(group_ref(ChannelKind.ZALO_OA), bulletin(), idempotency_key="d-2"),
    )

    assert fake.refresh_count == 1
    assert credentials.replacements == 1
    assert len(fake.group_messages) == 1 and len(fake.broadcasts) == 1


class _AnotherWorkerWins(MemoryCredentials):
    """Stores another worker's pair just before our compare-and-swap, which then fails."""

    theirs: StoredToken

    async def replace_token(self, ref: str, new: StoredToken, *, expected_version: int) -> bool:
        current = self.tokens[ref]
        self.tokens[ref] = StoredToken(
            self.theirs.access_token,
            self.theirs.refresh_token,
            self.theirs.expires_at,
            current.version + 1,
        )
        return await super().replace_token(ref, new, expected_version=expected_version)


async def test_losing_the_swap_uses_the_pair_the_winner_stored(
    fake, http, clock, endpoints, tmp_path, credentials
) -> None:
    racing = _AnotherWorkerWins(credentials.configs)
    racing.tokens = dict(credentials.tokens)
    access, refresh = fake.issue_tokens()
    racing.theirs = StoredToken(access, refresh, clock.now() + timedelta(hours=25))
    deps = channel_deps(http, clock, endpoints=endpoints, credentials=racing, tmp_path=tmp_path)
    fake.expire_tokens()
    fake.access_tokens[access] = True

    await quick(ZaloGroupGateway(deps)).publish(group_ref(), bulletin(), idempotency_key="d-1")

    assert racing.replacements == 0
    assert racing.tokens[REF].access_token == access
    assert fake.group_messages[0]["token"] == access


async def test_a_refused_refresh_token_is_permanent(group, fake, credentials) -> None:
    fake.expire_tokens()
    fake.revoke_refresh_tokens()

    with pytest.raises(ChannelError) as refused:
        await group.publish(group_ref(), bulletin(), idempotency_key="d-1")

    assert (refused.value.retryable, refused.value.code) == (False, "zalo:reauthorise")
    assert credentials.replacements == 0 and fake.group_messages == []


async def test_a_token_refused_again_after_refreshing_is_permanent(group, fake) -> None:
    fake.error_next(-216, 2, path=GROUP_PATH)

    with pytest.raises(ChannelError) as refused:
        await group.publish(group_ref(), bulletin(), idempotency_key="d-1")

    assert (refused.value.retryable, refused.value.code) == (False, "zalo:-216")
    assert fake.refresh_count == 1


async def test_missing_credentials_are_permanent_before_any_call(group, fake) -> None:
    for target in (group_ref(ref=None), group_ref(ref="nobody")):
        with pytest.raises(ChannelError) as missing:
            await group.publish(target, bulletin(), idempotency_key="d-1")
        assert (missing.value.retryable, missing.value.code) == (False, "credentials")
    assert fake.requests == []


# -- failures ----------------------------------------------------------------------------------


@pytest.mark.parametrize("retry_after, expected", [(None, 60.0), (7, 7.0)])
async def test_a_rate_limit_is_retryable_after_the_window(
    group, fake, retry_after, expected
) -> None:
    fake.rate_limit_next(retry_after=retry_after)

    with pytest.raises(ChannelError) as limited:
        await group.publish(group_ref(), bulletin(), idempotency_key="d-1")

    assert (limited.value.retryable, limited.value.code) == (True, "zalo:-32")
    assert limited.value.retry_after == expected


async def test_a_burst_of_5xx_is_retryable_until_it_passes(group, fake) -> None:
    fake.fail_next(2, status=503)

    for _ in range(2):
        with pytest.raises(ChannelError) as unavailable:
            await group.publish(group_ref(), bulletin(), idempotency_key="d-1")
        assert (unavailable.value.retryable, unavailable.value.code) == (True, "503")
    await group.publish(group_ref(), bulletin(), idempotency_key="d-1")

    assert len(fake.group_messages) == 1


async def test_an_unreachable_zalo_is_retryable(deps, fake) -> None:
    deps.endpoints = Endpoints(zalo_api=f"http://127.0.0.1:{free_port()}")

    with pytest.raises(ChannelError) as unreachable:
        await quick(ZaloGroupGateway(deps)).publish(group_ref(), bulletin(), idempotency_key="d-1")

    assert (unreachable.value.retryable, unreachable.value.code) == (True, "transport")


@pytest.mark.parametrize("code", [-201, -213, -221, -223, -224, -230, -237, -240])
async def test_refusals_are_permanent(group, fake, code) -> None:
    fake.error_next(code)

    with pytest.raises(ChannelError) as refused:
        await group.publish(group_ref(), bulletin(), idempotency_key="d-1")

    assert (refused.value.retryable, refused.value.code) == (False, f"zalo:{code}")


async def test_running_out_of_quota_is_retryable_later(group, fake) -> None:
    fake.error_next(-211)

    with pytest.raises(ChannelError) as exhausted:
        await group.publish(group_ref(), bulletin(), idempotency_key="d-1")

    assert exhausted.value.retryable and exhausted.value.retry_after >= 600


async def test_a_disabled_group_is_permanent(group, fake) -> None:
    fake.disabled_groups.add("group-1")

    with pytest.raises(ChannelError) as disabled:
        await group.publish(group_ref(), bulletin(), idempotency_key="d-1")

    assert (disabled.value.retryable, disabled.value.code) == (False, "zalo:-237")


@pytest.mark.parametrize(
    "filename, content_type, size",
    [
        ("lon.jpg", "image/jpeg", 1024 * 1024 + 1),
        ("dong.gif", "image/gif", 1000),
    ],
)
async def test_an_image_zalo_would_refuse_is_refused_before_any_call(
    group, fake, deps, filename, content_type, size
) -> None:
    photo = await stored_media(deps, b"0" * size, filename, content_type, "image")

    with pytest.raises(ChannelError) as refused:
        await group.publish(group_ref(), bulletin(media=(photo,)), idempotency_key="d-1")

    assert (refused.value.retryable, refused.value.code) == (False, "zalo:media")
    assert fake.requests == []


async def test_the_fake_refuses_an_oversize_image_too(group, fake, credentials) -> None:
    response = await group.api.upload(
        REF, "/v2.0/oa/upload/image", filename="a.jpg", content=b"0" * 10, content_type="image/jpeg"
    )
    assert response["attachment_id"]
    with pytest.raises(ChannelError) as refused:
        await group.api.upload(
            REF,
            "/v2.0/oa/upload/image",
            filename="lon.jpg",
            content=b"0" * (1024 * 1024 + 1),
            content_type="image/jpeg",
        )
    assert (refused.value.retryable, refused.value.code) == (False, "zalo:-201")


async def test_get_parameters_travel_as_one_json_data_parameter(group, fake) -> None:
    fake.groups |= {"group-2", "group-3"}

    data = await group.api.get(REF, "/v3.0/oa/group/getgroupsofoa", {"offset": 1, "count": 5})

    assert data["total"] == 3
    assert [g["group_id"] for g in data["groups"]] == ["group-2", "group-3"]


async def test_secrets_never_appear_in_errors_or_logs(
    group, fake, credentials, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    old = credentials.tokens[REF]
    fake.echo_secrets = True
    echo = f"invalid {old.access_token} {old.refresh_token} {fake.secret_key}"
    errors: list[ChannelError] = []

    fake.error_next(-216, 2, message=echo, path=GROUP_PATH)  # refused before and after refresh
    with pytest.raises(ChannelError) as refused_twice:
        await group.publish(group_ref(), bulletin(), idempotency_key="d-1")
    errors.append(refused_twice.value)
    now = credentials.tokens[REF]
    fake.error_next(-201, message=f"bad {now.access_token} {now.refresh_token} {fake.secret_key}")
    with pytest.raises(ChannelError) as refused:
        await group.publish(group_ref(), bulletin(), idempotency_key="d-2")
    errors.append(refused.value)
    fake.expire_tokens()
    fake.revoke_refresh_tokens()
    with pytest.raises(ChannelError) as reauthorise:
        await group.publish(group_ref(), bulletin(), idempotency_key="d-3")
    errors.append(reauthorise.value)

    secrets = secrets_of(fake, credentials, old)
    assert "***" in str(errors[0])  # the echo arrived and was blanked out
    for error in errors:
        for secret in secrets:
            assert secret not in str(error) and secret not in repr(error.args)
    for secret in secrets:
        assert secret not in caplog.text


async def test_reach_is_not_reported_by_zalo(group, oa) -> None:
    assert await group.reach(group_ref(), "1") is None
    assert await oa.reach(group_ref(ChannelKind.ZALO_OA), "1") is None


def test_the_gateways_declare_their_kinds() -> None:
    assert ZaloGroupGateway.kind is ChannelKind.ZALO_GROUP
    assert ZaloOaGateway.kind is ChannelKind.ZALO_OA
