"""FacebookPageGateway against the fake Graph API: posts, error classes, idempotency, reach."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from adapters.channels.base import Endpoints
from adapters.channels.facebook import FacebookPageGateway
from domain.channels import ChannelKind
from domain.ids import BulletinId, GroupId, WardId, new_id
from domain.ports import ChannelError, GroupRef, MediaRef, OutboundMessage, Reach
from tests.fakes.channel_deps import MemoryCredentials, channel_deps
from tests.fakes.facebook_server import FakeGraphApi
from tests.fakes.servers import LiveServer, free_port, serve_app

PAGE_ID = "1001"
PAGE_TOKEN = "EAAGpagetoken-1001-very-secret"
APP_SECRET = "app-secret-do-not-leak"
CREDENTIALS_REF = "facebook:phuong-hoang-liet"


class Switchboard:
    """One server for the module, answering with each test's own fake (uvicorn stops slowly)."""

    def __init__(self) -> None:
        self.fake: FakeGraphApi | None = None

    async def __call__(self, scope, receive, send) -> None:
        assert self.fake is not None
        await self.fake.app(scope, receive, send)


@pytest.fixture(scope="module")
def switchboard() -> Switchboard:
    return Switchboard()


@pytest.fixture(scope="module")
def live(switchboard: Switchboard) -> Iterator[LiveServer]:
    with serve_app(switchboard) as server:
        yield server


@pytest.fixture
def fake(switchboard: Switchboard) -> FakeGraphApi:
    switchboard.fake = FakeGraphApi({PAGE_ID: PAGE_TOKEN, "2002": "EAAGother-page-token"})
    return switchboard.fake


@pytest.fixture
def server(live: LiveServer, fake: FakeGraphApi) -> LiveServer:
    return live


@pytest.fixture
def credentials() -> MemoryCredentials:
    return MemoryCredentials({CREDENTIALS_REF: {"page_access_token": PAGE_TOKEN}})


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


@pytest.fixture
def deps(http, clock, server: LiveServer, credentials: MemoryCredentials, fake: FakeGraphApi):
    endpoints = Endpoints(facebook_graph=server.url(f"/{fake.version}"))
    return channel_deps(http, clock, endpoints=endpoints, credentials=credentials)


@pytest.fixture
def gateway(deps) -> FacebookPageGateway:
    return FacebookPageGateway(deps)


def page(credentials_ref: str | None = CREDENTIALS_REF) -> GroupRef:
    return GroupRef(
        group_id=GroupId(new_id()),
        ward_id=WardId(new_id()),
        channel=ChannelKind.FACEBOOK_PAGE,
        external_id=PAGE_ID,
        name="Công an phường Hoàng Liệt",
        credentials_ref=credentials_ref,
    )


def bulletin(*media: MediaRef, title: str = "Cảnh báo lừa đảo qua điện thoại") -> OutboundMessage:
    return OutboundMessage(
        bulletin_id=BulletinId(new_id()),
        kind="warning",
        title=title,
        body="Không chuyển tiền cho người lạ.\nGọi 113 khi nghi ngờ.",
        ward_name="Hoàng Liệt",
        link="https://gandan.example/b/123",
        media=media,
    )


async def stored(deps, data: bytes, media_type: str, filename: str, content_type: str) -> MediaRef:
    key = await deps.blobs.put(data, content_type=content_type, filename=filename)
    return MediaRef(key, media_type, filename, content_type, len(data))


async def publish(gateway: FacebookPageGateway, message: OutboundMessage | None = None, key=None):
    return await gateway.publish(
        page(), message or bulletin(), idempotency_key=key or str(new_id())
    )


async def test_text_post_goes_to_the_feed_with_message_and_link(gateway, fake):
    receipt = await publish(gateway)

    [post] = fake.posts
    assert post.edge == "feed"
    assert post.fields == {
        "message": "Cảnh báo lừa đảo qua điện thoại\n\n"
        "Không chuyển tiền cho người lạ.\nGọi 113 khi nghi ngờ.",
        "link": "https://gandan.example/b/123",
    }
    assert receipt.external_id == post.id
    assert receipt.external_id.startswith(f"{PAGE_ID}_")
    assert receipt.url == f"https://www.facebook.com/{post.id}"
    assert not receipt.sandbox


async def test_photo_post_uploads_the_bytes_intact_with_a_caption(gateway, fake, deps):
    data = bytes(range(256)) * 64 + b"\r\n--boundary\r\n"
    image = await stored(deps, data, "image", "canh-bao.jpg", "image/jpeg")

    receipt = await publish(gateway, bulletin(image))

    [post] = fake.posts
    assert post.edge == "photos"
    assert post.source == data
    assert (post.filename, post.content_type) == ("canh-bao.jpg", "image/jpeg")
    assert post.fields["message"].startswith("Cảnh báo lừa đảo qua điện thoại\n\n")
    assert post.fields["message"].endswith("\n\nhttps://gandan.example/b/123")
    assert receipt.external_id == post.post_id != post.id
    assert receipt.url == f"https://www.facebook.com/{post.post_id}"


async def test_video_post_has_title_and_description_and_skips_other_files(gateway, fake, deps):
    video = await stored(deps, b"\x00\x00\x00\x18ftypmp42" * 500, "video", "clip.mp4", "video/mp4")
    leaflet = await stored(deps, b"%PDF-1.7", "file", "to-roi.pdf", "application/pdf")

    receipt = await publish(gateway, bulletin(leaflet, video))

    [post] = fake.posts
    assert post.edge == "videos"
    assert post.source == b"\x00\x00\x00\x18ftypmp42" * 500
    assert post.fields["title"] == "Cảnh báo lừa đảo qua điện thoại"
    assert post.fields["description"] == (
        "Không chuyển tiền cho người lạ.\nGọi 113 khi nghi ngờ.\n\nhttps://gandan.example/b/123"
    )
    assert receipt.external_id == post.id
    assert receipt.detail and "1 attachment" in receipt.detail


async def test_invalid_token_is_permanent(gateway, fake):
    fake.invalidate_tokens()

    with pytest.raises(ChannelError) as caught:
        await publish(gateway)

    assert caught.value.retryable is False
    assert caught.value.code == "graph:190"
    assert "operator" in str(caught.value)
    assert fake.posts == []


@pytest.mark.parametrize(
    ("code", "reason"),
    [(200, "permission"), (10, "permission"), (368, "policy"), (100, "refused")],
)
async def test_permission_policy_and_bad_request_errors_are_permanent(gateway, fake, code, reason):
    fake.fail_next(code=code)

    with pytest.raises(ChannelError) as caught:
        await publish(gateway)

    assert (caught.value.retryable, caught.value.code) == (False, f"graph:{code}")
    assert reason in str(caught.value)


async def test_token_of_another_page_is_a_permission_error(gateway, credentials):
    credentials.configs[CREDENTIALS_REF] = {"page_access_token": "EAAGother-page-token"}

    with pytest.raises(ChannelError) as caught:
        await publish(gateway)

    assert (caught.value.retryable, caught.value.code) == (False, "graph:200")


@pytest.mark.parametrize(("code", "minutes"), [(613, 3), (80001, 7), (32, 1), (4, 12)])
async def test_rate_limits_retry_after_the_business_use_case_estimate(gateway, fake, code, minutes):
    fake.fail_next(code=code, regain_minutes=minutes, retry_after=5)

    with pytest.raises(ChannelError) as caught:
        await publish(gateway)

    assert caught.value.retryable is True
    assert caught.value.code == f"graph:{code}"
    assert caught.value.retry_after == minutes * 60


async def test_rate_limit_falls_back_to_app_usage_then_retry_after_then_a_minute(gateway, fake):
    fake.fail_next(
        code=4, headers={"X-App-Usage": '{"call_count":100,"estimated_time_to_regain_access":2}'}
    )
    fake.fail_next(code=17, retry_after=42)
    fake.fail_next(code=613)
    waits = []
    for _ in range(3):
        with pytest.raises(ChannelError) as caught:
            await publish(gateway)
        assert caught.value.retryable is True
        waits.append(caught.value.retry_after)

    assert waits == [120, 42, 60]


async def test_transient_code_2_is_retryable_and_the_retry_posts(gateway, fake):
    fake.fail_next(code=2, message="An unexpected error has occurred. Please retry your request.")
    message = bulletin()

    with pytest.raises(ChannelError) as caught:
        await gateway.publish(page(), message, idempotency_key="k-2")
    assert (caught.value.retryable, caught.value.code) == (True, "graph:2")
    receipt = await gateway.publish(page(), message, idempotency_key="k-2")

    assert [post.id for post in fake.posts] == [receipt.external_id]


async def test_bare_500_is_retryable(gateway, fake):
    fake.fail_next(code=None, status=500)

    with pytest.raises(ChannelError) as caught:
        await publish(gateway)

    assert (caught.value.retryable, caught.value.code) == (True, "500")


async def test_unreachable_graph_is_retryable(http, clock, credentials):
    endpoints = Endpoints(facebook_graph=f"http://127.0.0.1:{free_port()}/v25.0")
    gateway = FacebookPageGateway(
        channel_deps(http, clock, endpoints=endpoints, credentials=credentials)
    )

    with pytest.raises(ChannelError) as caught:
        await publish(gateway)

    assert (caught.value.retryable, caught.value.code) == (True, "transport")


async def test_same_message_twice_is_flagged_duplicate(gateway, fake):
    message = bulletin()
    await gateway.publish(page(), message, idempotency_key="first")

    with pytest.raises(ChannelError) as caught:
        await gateway.publish(page(), message, idempotency_key="second")

    assert caught.value.duplicate is True
    assert caught.value.retryable is False
    assert caught.value.code == "graph:506"
    assert len(fake.posts) == 1


async def test_answer_lost_after_facebook_posted_ends_as_duplicate_not_second_post(gateway, fake):
    """The documented gap: nothing was recorded, so only Facebook's 506 prevents a double post."""
    fake.fail_next(code=None, status=502, after_accept=True)
    message = bulletin()

    with pytest.raises(ChannelError) as lost:
        await gateway.publish(page(), message, idempotency_key="k-lost")
    assert lost.value.retryable is True
    with pytest.raises(ChannelError) as retried:
        await gateway.publish(page(), message, idempotency_key="k-lost")

    assert retried.value.duplicate is True
    assert len(fake.posts) == 1


async def test_retry_after_a_recorded_success_returns_the_same_post(gateway, fake, deps):
    image = await stored(deps, b"\xff\xd8\xff\xe0jpeg", "image", "a.jpg", "image/jpeg")
    message = bulletin(image)

    first = await gateway.publish(page(), message, idempotency_key="delivery-7")
    again = await gateway.publish(page(), message, idempotency_key="delivery-7")

    assert again.external_id == first.external_id
    assert again.url == first.url
    assert len(fake.posts) == 1
    assert [method for method, _ in fake.requests] == ["POST"]


async def test_appsecret_proof_is_sent_when_the_app_secret_is_configured(
    gateway, fake, credentials
):
    fake.app_secret = APP_SECRET
    credentials.configs[CREDENTIALS_REF] = {
        "page_access_token": PAGE_TOKEN,
        "app_secret": APP_SECRET,
    }

    receipt = await publish(gateway)
    reach = await gateway.reach(page(), receipt.external_id)

    assert len(fake.posts) == 1
    assert reach is not None
    expected = hmac.new(APP_SECRET.encode(), PAGE_TOKEN.encode(), hashlib.sha256).hexdigest()
    assert fake.appsecret_proof(PAGE_TOKEN) == expected


@pytest.mark.parametrize("configured_secret", [None, "wrong-secret"])
async def test_missing_or_wrong_appsecret_proof_is_refused(
    gateway, fake, credentials, configured_secret
):
    fake.app_secret = APP_SECRET
    config = {"page_access_token": PAGE_TOKEN}
    if configured_secret:
        config["app_secret"] = configured_secret
    credentials.configs[CREDENTIALS_REF] = config

    with pytest.raises(ChannelError) as caught:
        await publish(gateway)

    assert (caught.value.retryable, caught.value.code) == (False, "graph:100")
    assert "appsecret_proof" in str(caught.value)
    assert fake.posts == []


@pytest.mark.parametrize("ref", [None, "facebook:unknown"])
async def test_missing_credentials_are_permanent(gateway, fake, ref):
    with pytest.raises(ChannelError) as caught:
        await gateway.publish(page(ref), bulletin(), idempotency_key="k")

    assert (caught.value.retryable, caught.value.code) == (False, "credentials")
    assert fake.requests == []


async def test_reach_reports_shares_reactions_comments_and_impressions(gateway, fake):
    receipt = await publish(gateway)
    fake.set_engagement(receipt.external_id, shares=4, reactions=57, comments=9, impressions=1830)

    reach = await gateway.reach(page(), receipt.external_id)

    assert reach == Reach(views=1830, reactions=57, shares=4, comments=9)


async def test_reach_without_insights_permission_has_no_views(gateway, fake):
    receipt = await publish(gateway)
    fake.set_engagement(receipt.external_id, reactions=3)
    fake.insights_denied = True

    reach = await gateway.reach(page(), receipt.external_id)

    assert reach == Reach(views=None, reactions=3, shares=0, comments=0)


async def test_reach_of_a_video_has_no_shares(gateway, fake, deps):
    video = await stored(deps, b"mp4", "video", "v.mp4", "video/mp4")
    receipt = await publish(gateway, bulletin(video))
    fake.set_engagement(receipt.external_id, reactions=11, comments=2)

    reach = await gateway.reach(page(), receipt.external_id)

    assert reach == Reach(views=None, reactions=11, shares=None, comments=2)


async def test_reach_while_rate_limited_is_retryable(gateway, fake):
    receipt = await publish(gateway)
    fake.fail_next(code=80001, regain_minutes=2)

    with pytest.raises(ChannelError) as caught:
        await gateway.reach(page(), receipt.external_id)

    assert (caught.value.retryable, caught.value.retry_after) == (True, 120)


async def test_secrets_never_reach_exception_messages_or_logs(gateway, fake, credentials, caplog):
    fake.app_secret = APP_SECRET
    credentials.configs[CREDENTIALS_REF] = {
        "page_access_token": PAGE_TOKEN,
        "app_secret": APP_SECRET,
    }
    proof = fake.appsecret_proof(PAGE_TOKEN)
    caplog.set_level(logging.DEBUG)
    fake.fail_next(code=100, message=f"Bad token {PAGE_TOKEN} for {APP_SECRET} proof {proof}")
    errors = []
    with pytest.raises(ChannelError) as echoed:
        await publish(gateway)
    errors.append(echoed.value)
    receipt = await publish(gateway)
    await gateway.reach(page(), receipt.external_id)
    fake.invalidate_tokens()
    for call in (publish(gateway), gateway.reach(page(), receipt.external_id)):
        with pytest.raises(ChannelError) as caught:
            await call
        errors.append(caught.value)

    assert "[redacted]" in str(errors[0])
    for error in errors:
        for secret in (PAGE_TOKEN, APP_SECRET, proof):
            assert secret not in str(error)
    # GETs carry the proof in the query (the Graph API takes it nowhere else); it is useless
    # without the token, which travels in a header.
    assert "appsecret_proof=" in caplog.text
    assert PAGE_TOKEN not in caplog.text
    assert APP_SECRET not in caplog.text
