"""YouTubeGateway against the fake token endpoint and Data API: resumable upload, resume after
interruptions and crashes, quota errors, token refresh, reach."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from adapters.channels.youtube import YouTubeGateway
from domain.channels import ChannelKind
from domain.ids import BulletinId, GroupId, WardId, new_id
from domain.ports import ChannelError, GroupRef, MediaRef, OutboundMessage, Reach, StoredToken
from tests.conftest import FakeClock
from tests.fakes.channel_deps import MemoryCredentials, channel_deps
from tests.fakes.servers import LiveServer, serve_app
from tests.fakes.youtube_server import FakeYouTube

CHUNK = 256 * 1024
SIZE = 3 * CHUNK + 12_345  # three full chunks and a short last one
REF = "youtube:phuong-hoang-liet"
CLIENT_ID = "gandan-test.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-client-secret-do-not-leak"
REFRESH_TOKEN = "1//refresh-token-do-not-leak"
KEY = "delivery-0001"


@pytest.fixture(scope="module")
def youtube_server() -> Iterator[tuple[FakeYouTube, LiveServer]]:
    fake = FakeYouTube(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, refresh_token=REFRESH_TOKEN
    )
    with serve_app(fake.app) as server:
        yield fake, server


@pytest.fixture
def fake(youtube_server: tuple[FakeYouTube, LiveServer]) -> FakeYouTube:
    fake, _ = youtube_server
    fake.reset()
    return fake


@pytest.fixture
def credentials() -> MemoryCredentials:
    return MemoryCredentials(
        {
            REF: {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "refresh_token": REFRESH_TOKEN,
            }
        }
    )


@pytest.fixture(scope="module")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


@pytest.fixture
def deps(http, clock, youtube_server, fake: FakeYouTube, credentials: MemoryCredentials):
    _, server = youtube_server
    return channel_deps(
        http,
        clock,
        endpoints=fake.endpoints(server),
        credentials=credentials,
        upload_chunk_bytes=CHUNK,
    )


def make_gateway(deps) -> YouTubeGateway:
    gateway = YouTubeGateway(deps)
    gateway.resume_backoff = 0.005  # keep the test run fast; the logic is the same
    return gateway


@pytest.fixture
def gateway(deps) -> YouTubeGateway:
    return make_gateway(deps)


def channel(credentials_ref: str | None = REF) -> GroupRef:
    return GroupRef(
        group_id=GroupId(new_id()),
        ward_id=WardId(new_id()),
        channel=ChannelKind.YOUTUBE_CHANNEL,
        external_id="UC-hoang-liet",
        name="Công an phường Hoàng Liệt",
        credentials_ref=credentials_ref,
    )


def bulletin(
    *media: MediaRef, title: str = "Cảnh báo lừa đảo qua điện thoại", body: str = ""
) -> OutboundMessage:
    return OutboundMessage(
        bulletin_id=BulletinId(new_id()),
        kind="scam_warning",
        title=title,
        body=body or "Không chuyển tiền cho người lạ.\nGọi 113 khi nghi ngờ.",
        ward_name="Hoàng Liệt",
        link="https://gandan.example/b/123",
        media=media,
    )


async def video_bulletin(deps, size: int = SIZE, **overrides) -> tuple[OutboundMessage, bytes]:
    data = random.Random(size).randbytes(size)
    key = await deps.blobs.put(data, content_type="video/mp4", filename="canh-bao.mp4")
    video = MediaRef(key, "video", "canh-bao.mp4", "video/mp4", size)
    return bulletin(video, **overrides), data


def stored_session(deps, key: str = KEY) -> str | None:
    raw = deps.state.values.get(f"youtube:{key}:session")
    return json.loads(raw)["uri"] if raw else None


async def test_uploads_in_chunks_through_one_session(gateway, deps, fake):
    message, data = await video_bulletin(deps)

    receipt = await gateway.publish(channel(), message, idempotency_key=KEY)

    video = fake.videos[receipt.external_id]
    assert video.data == data
    assert receipt.url == f"https://www.youtube.com/watch?v={receipt.external_id}"
    assert not receipt.sandbox
    assert len(fake.requests_of("start")) == 1
    assert [first for _, first, _ in fake.chunks] == [0, CHUNK, 2 * CHUNK, 3 * CHUNK]
    assert fake.bytes_received == SIZE
    start = fake.requests_of("start")[0]
    assert start.headers["x-upload-content-length"] == str(SIZE)
    assert start.headers["x-upload-content-type"] == "video/mp4"
    assert start.headers["content-type"] == "application/json; charset=UTF-8"
    assert start.query["notifySubscribers"] == "true"
    snippet = video.resource["snippet"]
    assert snippet["title"] == "Cảnh báo lừa đảo qua điện thoại"
    assert snippet["description"].endswith("\n\nhttps://gandan.example/b/123")
    assert snippet["categoryId"] == "29"
    assert "Hoàng Liệt" in snippet["tags"]
    assert video.resource["status"] == {"privacyStatus": "public"}
    assert fake.token_requests == 1
    assert deps.state.values == {f"youtube:{KEY}:video": receipt.external_id}


async def test_session_uri_is_stored_before_the_first_byte(gateway, deps, fake):
    message, _ = await video_bulletin(deps)
    fake.fail_next(100, 503, on="upload")  # not a single byte gets through

    with pytest.raises(ChannelError) as caught:
        await gateway.publish(channel(), message, idempotency_key=KEY)

    assert caught.value.retryable
    assert stored_session(deps) == next(iter(fake.sessions.values())).uri


@pytest.mark.parametrize("then", ["503", "drop"])
async def test_interrupted_upload_resumes_from_the_last_confirmed_byte(gateway, deps, fake, then):
    message, data = await video_bulletin(deps)
    kept = 100_000
    fake.cut_chunk(CHUNK, keep=kept, then=then)

    receipt = await gateway.publish(channel(), message, idempotency_key=KEY)

    assert fake.videos[receipt.external_id].data == data
    assert len(fake.requests_of("start")) == 1
    assert len(fake.requests_of("status")) == 1
    resumed_at = CHUNK + kept
    firsts = [first for _, first, _ in fake.chunks]
    assert firsts == [0, CHUNK, resumed_at, resumed_at + CHUNK]
    # Only the part of the cut chunk the server did not keep travelled twice.
    assert fake.bytes_received == SIZE + (CHUNK - kept)


async def test_a_partly_kept_chunk_continues_after_the_confirmed_range(gateway, deps, fake):
    message, data = await video_bulletin(deps)
    fake.cut_chunk(0, keep=200_000, then="308")

    receipt = await gateway.publish(channel(), message, idempotency_key=KEY)

    assert fake.videos[receipt.external_id].data == data
    assert fake.requests_of("status") == []
    assert [first for _, first, _ in fake.chunks][:2] == [0, 200_000]
    assert fake.bytes_received == SIZE + (CHUNK - 200_000)


async def test_a_chunk_kept_not_at_all_is_asked_about_then_resent(gateway, deps, fake):
    message, data = await video_bulletin(deps)
    fake.cut_chunk(CHUNK, keep=0, then="308")

    receipt = await gateway.publish(channel(), message, idempotency_key=KEY)

    assert fake.videos[receipt.external_id].data == data
    assert len(fake.requests_of("status")) == 1
    assert [first for _, first, _ in fake.chunks][:3] == [0, CHUNK, CHUNK]


async def test_status_query_failures_are_retried_within_the_call(gateway, deps, fake):
    message, data = await video_bulletin(deps)
    fake.cut_chunk(2 * CHUNK, keep=0)
    fake.fail_next(2, 502, on="status")

    receipt = await gateway.publish(channel(), message, idempotency_key=KEY)

    assert fake.videos[receipt.external_id].data == data
    assert len(fake.requests_of("status")) == 3
    assert fake.bytes_received == SIZE + CHUNK


async def test_a_crashed_worker_resumes_the_same_session(deps, fake):
    message, data = await video_bulletin(deps)
    fake.cut_chunk(CHUNK, keep=50_000, then="drop")
    fake.fail_next(100, 503, on="status")  # the server stays unreachable for this attempt

    with pytest.raises(ChannelError) as caught:
        await make_gateway(deps).publish(channel(), message, idempotency_key=KEY)

    assert caught.value.retryable
    assert caught.value.code == "upload_interrupted"
    uri = stored_session(deps)
    assert uri is not None
    statuses_before = len(fake.requests_of("status"))
    assert statuses_before == make_gateway(deps).resume_attempts

    fake.heal()
    receipt = await make_gateway(deps).publish(
        channel(), message, idempotency_key=KEY
    )  # new worker

    assert len(fake.requests_of("start")) == 1
    video = fake.videos[receipt.external_id]
    assert video.data == data
    assert fake.sessions[video.upload_id].uri == uri
    assert [first for _, first, _ in fake.chunks][:3] == [0, CHUNK, CHUNK + 50_000]
    assert fake.bytes_received == SIZE + (CHUNK - 50_000)
    assert stored_session(deps) is None


async def test_a_forgotten_session_starts_a_new_one(deps, fake):
    message, data = await video_bulletin(deps)
    fake.cut_chunk(CHUNK, keep=0)
    fake.fail_next(100, 503, on="status")
    with pytest.raises(ChannelError):
        await make_gateway(deps).publish(channel(), message, idempotency_key=KEY)
    old_uri = stored_session(deps)
    fake.heal()
    fake.forget_sessions()

    receipt = await make_gateway(deps).publish(channel(), message, idempotency_key=KEY)

    assert len(fake.requests_of("start")) == 2
    video = fake.videos[receipt.external_id]
    assert video.data == data
    assert fake.sessions[video.upload_id].uri != old_uri
    assert stored_session(deps) is None


async def test_a_session_lost_mid_upload_starts_again(gateway, deps, fake):
    message, data = await video_bulletin(deps)
    fake.cut_chunk(2 * CHUNK, keep=0)
    fake.fail_next(1, 404, on="status")  # asked where it stands, the session is gone

    receipt = await gateway.publish(channel(), message, idempotency_key=KEY)

    assert len(fake.requests_of("start")) == 2
    video = fake.videos[receipt.external_id]
    assert video.data == data
    assert video.upload_id != fake.chunks[0][0]
    assert fake.bytes_received == 3 * CHUNK + SIZE


async def test_retry_after_completion_returns_the_same_video(gateway, deps, fake):
    message, _ = await video_bulletin(deps)
    first = await gateway.publish(channel(), message, idempotency_key=KEY)
    requests = len(fake.requests)

    again = await make_gateway(deps).publish(channel(), message, idempotency_key=KEY)

    assert again.external_id == first.external_id
    assert len(fake.requests) == requests
    assert len(fake.videos) == 1


async def test_lost_final_answer_is_recovered_from_the_session(gateway, deps, fake):
    message, data = await video_bulletin(deps)
    fake.cut_chunk(3 * CHUNK, keep=None, then="drop")  # stored in full, answer never arrives

    receipt = await gateway.publish(channel(), message, idempotency_key=KEY)

    assert list(fake.videos) == [receipt.external_id]
    assert fake.videos[receipt.external_id].data == data
    assert fake.bytes_received == SIZE
    assert len(fake.requests_of("status")) == 1


async def test_quota_exceeded_waits_until_midnight_pacific(gateway, deps, fake, clock: FakeClock):
    message, _ = await video_bulletin(deps)
    clock.current = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)  # 12:00 PST
    fake.exceed_quota()

    with pytest.raises(ChannelError) as caught:
        await gateway.publish(channel(), message, idempotency_key=KEY)

    assert caught.value.retryable
    assert caught.value.code == "quota_exceeded"
    assert caught.value.retry_after == 12 * 3600
    assert stored_session(deps) is None
    assert fake.chunks == []


async def test_quota_reset_follows_daylight_saving_time(gateway, deps, fake, clock: FakeClock):
    message, _ = await video_bulletin(deps)
    clock.current = datetime(2026, 7, 1, 7, 30, tzinfo=UTC)  # 00:30 PDT
    fake.exceed_quota()

    with pytest.raises(ChannelError) as caught:
        await gateway.publish(channel(), message, idempotency_key=KEY)

    assert caught.value.retry_after == 23.5 * 3600


async def test_upload_limit_exceeded_waits_a_day(gateway, deps, fake):
    message, _ = await video_bulletin(deps)
    fake.exceed_upload_limit()

    with pytest.raises(ChannelError) as caught:
        await gateway.publish(channel(), message, idempotency_key=KEY)

    assert caught.value.retryable
    assert caught.value.code == "upload_limit_exceeded"
    assert caught.value.retry_after == 24 * 3600


async def test_start_5xx_is_retryable_and_other_4xx_permanent(gateway, deps, fake):
    message, _ = await video_bulletin(deps)
    fake.fail_next(1, 500, on="start")
    with pytest.raises(ChannelError) as caught:
        await gateway.publish(channel(), message, idempotency_key=KEY)
    assert caught.value.retryable

    fake.fail_next(1, 403, reason="forbidden", on="start")
    with pytest.raises(ChannelError) as caught:
        await gateway.publish(channel(), message, idempotency_key=KEY)
    assert not caught.value.retryable
    assert caught.value.code == "forbidden"


async def test_expired_access_token_is_refreshed_once(gateway, deps, fake, credentials, clock):
    credentials.tokens[REF] = StoredToken(
        fake.issue_token(), None, clock.now() + timedelta(hours=1), version=3
    )
    fake.expire_tokens()  # revoked early: only the 401 tells us
    message, data = await video_bulletin(deps)

    receipt = await gateway.publish(channel(), message, idempotency_key=KEY)

    assert fake.videos[receipt.external_id].data == data
    assert fake.token_requests == 1
    assert len(fake.requests_of("rejected")) == 1
    assert credentials.tokens[REF].version == 4
    assert credentials.tokens[REF].access_token in fake.valid_tokens


async def test_a_valid_stored_token_is_reused(gateway, deps, fake, credentials, clock):
    credentials.tokens[REF] = StoredToken(
        fake.issue_token(), None, clock.now() + timedelta(hours=1), version=1
    )
    message, _ = await video_bulletin(deps)

    await gateway.publish(channel(), message, idempotency_key=KEY)

    assert fake.token_requests == 0
    assert credentials.replacements == 0


async def test_a_token_refreshed_by_another_worker_wins(deps, fake, clock):
    class RacingCredentials(MemoryCredentials):
        async def replace_token(self, ref, new, *, expected_version):
            # another worker stores its token just before us
            await super().replace_token(
                ref, StoredToken(theirs, None, None, 0), expected_version=expected_version
            )
            return await super().replace_token(ref, new, expected_version=expected_version)

    theirs = fake.issue_token()
    credentials = RacingCredentials(
        {
            REF: {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "refresh_token": REFRESH_TOKEN,
            }
        }
    )
    deps.credentials = credentials
    message, _ = await video_bulletin(deps)

    await make_gateway(deps).publish(channel(), message, idempotency_key=KEY)

    assert credentials.tokens[REF].access_token == theirs
    start = fake.requests_of("start")[0]
    assert start.headers["authorization"] == f"Bearer {theirs}"


async def test_a_token_rejected_after_refresh_is_permanent(gateway, deps, fake):
    message, _ = await video_bulletin(deps)
    fake.fail_next(2, 401, on="start")  # the fresh token is refused as well

    with pytest.raises(ChannelError) as caught:
        await gateway.publish(channel(), message, idempotency_key=KEY)

    assert not caught.value.retryable
    assert caught.value.code == "unauthorized"
    assert fake.token_requests == 2  # the first token, then exactly one refresh


async def test_invalid_grant_is_permanent(gateway, deps, fake):
    fake.revoke_refresh_token()
    message, _ = await video_bulletin(deps)

    with pytest.raises(ChannelError) as caught:
        await gateway.publish(channel(), message, idempotency_key=KEY)

    assert not caught.value.retryable
    assert caught.value.code == "invalid_grant"
    assert fake.requests_of("start") == []


async def test_no_video_is_permanent_without_any_http_call(gateway, deps, fake):
    photo = MediaRef("blob", "image", "anh.jpg", "image/jpeg", 1000)

    with pytest.raises(ChannelError) as caught:
        await gateway.publish(channel(), bulletin(photo), idempotency_key=KEY)

    assert not caught.value.retryable
    assert caught.value.code == "no_video"
    assert fake.requests == []


async def test_missing_credentials_are_permanent(gateway, deps, fake):
    message, _ = await video_bulletin(deps)
    for ref in (None, "youtube:unknown"):
        with pytest.raises(ChannelError) as caught:
            await gateway.publish(channel(ref), message, idempotency_key=KEY)
        assert not caught.value.retryable
        assert caught.value.code == "credentials"
    assert fake.requests == []


async def test_title_and_description_fit_youtube_limits(gateway, deps, fake):
    title = "<Khẩn> " + "Cảnh báo giả danh công an gọi điện yêu cầu chuyển tiền " * 3
    body = "Đoạn văn bản dài về thủ đoạn lừa đảo, <b>không</b> làm theo. " * 200
    message, _ = await video_bulletin(deps, title=title, body=body)

    receipt = await gateway.publish(channel(), message, idempotency_key=KEY)

    snippet = fake.videos[receipt.external_id].resource["snippet"]
    assert len(snippet["title"]) <= 100
    assert snippet["title"].endswith("…")
    assert snippet["title"].startswith("‹Khẩn›")
    assert len(snippet["description"].encode()) <= 5000
    assert snippet["description"].endswith("…\n\nhttps://gandan.example/b/123")
    assert "<" not in snippet["description"]


async def test_privacy_and_category_come_from_config(gateway, deps, fake, credentials):
    credentials.configs[REF] = {
        **credentials.configs[REF],
        "privacy": "unlisted",
        "category_id": "25",
    }
    message, _ = await video_bulletin(deps)

    receipt = await gateway.publish(channel(), message, idempotency_key=KEY)

    resource = fake.videos[receipt.external_id].resource
    assert resource["status"]["privacyStatus"] == "unlisted"
    assert resource["snippet"]["categoryId"] == "25"


async def test_reach_reads_video_statistics(gateway, deps, fake):
    message, _ = await video_bulletin(deps)
    receipt = await gateway.publish(channel(), message, idempotency_key=KEY)
    fake.set_statistics(receipt.external_id, views=1520, likes=48, comments=7)

    reach = await gateway.reach(channel(), receipt.external_id)

    assert reach == Reach(views=1520, reactions=48, shares=None, comments=7)
    assert await gateway.reach(channel(), "deletedVid0") is None


async def test_reach_errors_follow_the_rules(gateway, fake):
    fake.fail_next(1, 503, on="stats")
    with pytest.raises(ChannelError) as caught:
        await gateway.reach(channel(), "anything")
    assert caught.value.retryable


@pytest.mark.parametrize("scenario", ["invalid_grant", "quota", "interrupted", "unauthorized"])
async def test_secrets_never_appear_in_errors(deps, fake, credentials, clock, scenario):
    stored = fake.issue_token()
    credentials.tokens[REF] = StoredToken(stored, None, clock.now() + timedelta(hours=1))
    message, _ = await video_bulletin(deps)
    if scenario == "invalid_grant":
        fake.expire_tokens()
        fake.revoke_refresh_token()
    elif scenario == "quota":
        fake.exceed_quota()
    elif scenario == "interrupted":
        fake.cut_chunk(0, keep=0, then="drop")
        fake.fail_next(100, 503, on="status")
    else:
        fake.fail_next(2, 401, on="start")

    with pytest.raises(ChannelError) as caught:
        await make_gateway(deps).publish(channel(), message, idempotency_key=KEY)

    text = f"{caught.value} {caught.value!r} {caught.value.__cause__!r}"
    issued = {stored, *fake.valid_tokens}
    for secret in (CLIENT_SECRET, REFRESH_TOKEN, *issued):
        assert secret not in text
    assert "upload_id" not in text
