"""PortalGateway against a fake WordPress: push, crash-retry without double posts, failures, pull."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from email.utils import format_datetime

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from adapters.channels.base import Endpoints
from adapters.channels.portal import PortalGateway
from adapters.channels.portal.gateway import post_slug
from domain.channels import ChannelKind
from domain.ids import BulletinId, GroupId, WardId
from domain.ports import ChannelError, GroupRef, OutboundMessage
from tests.fakes.channel_deps import MemoryCredentials, channel_deps
from tests.fakes.servers import LiveServer, free_port, serve_app
from tests.fakes.wordpress_server import WordPressFake

PASSWORD = "abcd EFGH 1234 ijkl MNOP 5678"
KEY = "gandan-0193a1b2c3d4e5f60718293a4b5c6d7e"


class CurrentSite:
    """One server for the module, a fresh fake site per test: starting uvicorn costs ~0.3 s."""

    fake: WordPressFake

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.fake.app(scope, receive, send)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[CurrentSite, LiveServer]]:
    current = CurrentSite()
    with serve_app(current) as server:
        yield current, server


@pytest.fixture
def wordpress(served) -> tuple[WordPressFake, LiveServer]:
    current, server = served
    current.fake = WordPressFake(username="gandan", application_password=PASSWORD)
    return current.fake, server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


def gateway(http: httpx.AsyncClient, clock, configs: dict[str, dict[str, str]]) -> PortalGateway:
    credentials = MemoryCredentials(configs)
    return PortalGateway(channel_deps(http, clock, endpoints=Endpoints(), credentials=credentials))


def site_config(server: LiveServer, **overrides: str) -> dict[str, str]:
    return {
        "wordpress_url": server.base_url + "/",
        "username": "gandan",
        "application_password": PASSWORD,
        "category_ids": "3, 7",
    } | overrides


def target(ref: str | None = "wp") -> GroupRef:
    return GroupRef(
        group_id=GroupId(uuid.uuid4()),
        ward_id=WardId(uuid.uuid4()),
        channel=ChannelKind.PORTAL,
        external_id="cong-thong-tin",
        name="Cổng thông tin phường Hoàng Liệt",
        credentials_ref=ref,
    )


def message(**overrides) -> OutboundMessage:
    fields = {
        "bulletin_id": BulletinId(uuid.uuid4()),
        "kind": "scam_warning",
        "title": 'Cảnh báo <lừa đảo> & "giả danh" công an',
        "body": "Người dân cảnh giác với cuộc gọi giả danh công an.\n\nKhông chuyển tiền < 5 triệu & trên.",
        "ward_name": "Phường Hoàng Liệt",
        "link": "https://gandan.example/b/42?src=portal&x=1",
    }
    return OutboundMessage(**(fields | overrides))


async def test_publish_creates_post_with_escaped_html_slug_and_basic_auth(wordpress, http, clock):
    fake, server = wordpress
    portal = gateway(http, clock, {"wp": site_config(server)})

    receipt = await portal.publish(target(), message(), idempotency_key=KEY)

    assert (receipt.external_id, receipt.url, receipt.sandbox) == (
        "101",
        server.url("/?p=101"),
        False,
    )
    [post] = fake.created
    assert post["slug"] == KEY
    assert post["status"] == "publish"
    assert post["categories"] == [3, 7]
    assert post["title"]["raw"] == 'Cảnh báo &lt;lừa đảo&gt; &amp; "giả danh" công an'
    assert post["content"]["raw"] == (
        "<p>Người dân cảnh giác với cuộc gọi giả danh công an.</p>"
        "<p>Không chuyển tiền &lt; 5 triệu &amp; trên.</p>"
        '<p><a href="https://gandan.example/b/42?src=portal&amp;x=1">Xem chi tiết</a></p>'
    )
    assert post["excerpt"]["raw"] == "Người dân cảnh giác với cuộc gọi giả danh công an."
    lookup, create = fake.calls
    assert (lookup.method, lookup.user, lookup.params) == (
        "GET",
        "gandan",
        {"slug": KEY, "status": "publish,future,draft,pending,private", "context": "edit"},
    )
    assert (create.method, create.user, create.status) == ("POST", "gandan", 201)


@pytest.mark.parametrize("status", ["publish", "draft"])
@pytest.mark.parametrize("mode", ["drop", "502"])
async def test_retry_after_lost_response_finds_the_post_instead_of_posting_twice(
    wordpress, http, clock, mode, status
):
    fake, server = wordpress
    portal = gateway(http, clock, {"wp": site_config(server, status=status)})
    fake.lose_next_response(mode)

    with pytest.raises(ChannelError) as lost:
        await portal.publish(target(), message(), idempotency_key=KEY)
    assert lost.value.retryable
    assert lost.value.code == {"drop": "transport", "502": "502"}[mode]
    assert len(fake.created) == 1

    receipt = await portal.publish(target(), message(), idempotency_key=KEY)

    assert receipt.external_id == str(fake.created[0]["id"])
    assert receipt.url == fake.created[0]["link"]
    assert len(fake.created) == 1
    assert [call.method for call in fake.calls] == ["GET", "POST", "GET"]


async def test_only_an_authenticated_lookup_sees_unpublished_posts(wordpress, http, clock):
    _, server = wordpress
    portal = gateway(http, clock, {"wp": site_config(server, status="draft")})
    await portal.publish(target(), message(), idempotency_key=KEY)
    url = server.url("/wp-json/wp/v2/posts")
    all_statuses = {"slug": KEY, "status": "publish,future,draft,pending,private"}

    anonymous = await http.get(url, params=all_statuses)
    public = await http.get(url, params={"slug": KEY})
    signed_in = await http.get(url, params=all_statuses, auth=("gandan", PASSWORD))

    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "rest_forbidden_status")
    assert public.json() == []
    assert [post["id"] for post in signed_in.json()] == [101]


async def test_wrong_password_is_permanent_and_never_in_the_message(wordpress, http, clock):
    fake, server = wordpress
    wrong = "zzzz YYYY 9999 xxxx WWWW 8888"
    portal = gateway(http, clock, {"wp": site_config(server, application_password=wrong)})

    with pytest.raises(ChannelError) as error:
        await portal.publish(target(), message(), idempotency_key=KEY)

    assert (error.value.retryable, error.value.code) == (False, "incorrect_password")
    text = str(error.value)
    assert "401" in text
    for secret in (
        wrong,
        wrong.replace(" ", ""),
        base64.b64encode(f"gandan:{wrong}".encode()).decode(),
    ):
        assert secret not in text
    assert fake.created == []


async def test_password_without_its_spaces_is_accepted(wordpress, http, clock):
    fake, server = wordpress
    compact = PASSWORD.replace(" ", "")
    portal = gateway(http, clock, {"wp": site_config(server, application_password=compact)})

    await portal.publish(target(), message(), idempotency_key=KEY)

    assert len(fake.created) == 1


async def test_user_who_may_not_create_posts_is_refused_for_good(wordpress, http, clock):
    fake, server = wordpress
    fake.can_create = False
    portal = gateway(http, clock, {"wp": site_config(server)})

    with pytest.raises(ChannelError) as error:
        await portal.publish(target(), message(), idempotency_key=KEY)

    assert (error.value.retryable, error.value.code) == (False, "rest_cannot_create")
    assert "403" in str(error.value)


async def test_invalid_param_is_permanent(wordpress, http, clock):
    fake, server = wordpress
    fake.fail_next(
        1, 400, code="rest_invalid_param", message="Invalid parameter(s): categories", method="POST"
    )
    portal = gateway(http, clock, {"wp": site_config(server)})

    with pytest.raises(ChannelError) as error:
        await portal.publish(target(), message(), idempotency_key=KEY)

    assert (error.value.retryable, error.value.code) == (False, "rest_invalid_param")
    assert "Invalid parameter(s): categories" in str(error.value)


async def test_rate_limit_is_retryable_after_the_time_it_asks(wordpress, http, clock):
    fake, server = wordpress
    fake.fail_next(1, 429, code="too_many_requests", retry_after=120)
    fake.fail_next(
        1, 429, retry_after=format_datetime(clock.now() + timedelta(seconds=90), usegmt=True)
    )
    portal = gateway(http, clock, {"wp": site_config(server)})

    for expected in (120.0, 90.0):
        with pytest.raises(ChannelError) as error:
            await portal.publish(target(), message(), idempotency_key=KEY)
        assert (error.value.retryable, error.value.retry_after) == (True, expected)
    assert fake.created == []


async def test_server_errors_are_retryable_and_the_retry_posts_once(wordpress, http, clock):
    fake, server = wordpress
    fake.fail_next(2, 503, method="POST")
    portal = gateway(http, clock, {"wp": site_config(server)})

    for _ in range(2):
        with pytest.raises(ChannelError) as error:
            await portal.publish(target(), message(), idempotency_key=KEY)
        assert (error.value.retryable, error.value.code) == (True, "503")
    receipt = await portal.publish(target(), message(), idempotency_key=KEY)

    assert receipt.external_id == "101"
    assert len(fake.created) == 1


async def test_unreachable_site_is_retryable_and_secret_free(http, clock):
    config = {
        "wordpress_url": f"http://127.0.0.1:{free_port()}",
        "username": "gandan",
        "application_password": PASSWORD,
    }
    portal = gateway(http, clock, {"wp": config})

    with pytest.raises(ChannelError) as error:
        await portal.publish(target(), message(), idempotency_key=KEY)

    assert (error.value.retryable, error.value.code) == (True, "transport")
    assert PASSWORD not in str(error.value)


async def test_a_secret_echoed_by_the_server_is_scrubbed(wordpress, http, clock):
    fake, server = wordpress
    fake.fail_next(
        1, 500, code="proxy_error", message=f"bad upstream auth {PASSWORD.replace(' ', '')}"
    )
    portal = gateway(http, clock, {"wp": site_config(server)})

    with pytest.raises(ChannelError) as error:
        await portal.publish(target(), message(), idempotency_key=KEY)

    assert PASSWORD.replace(" ", "") not in str(error.value)
    assert "***" in str(error.value)
    assert error.value.retryable


class NoCalls(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(500)


@pytest.mark.parametrize(
    ("ref", "configs"),
    [(None, {}), ("feed-only", {"feed-only": {"feed_note": "editors pull the feed"}})],
)
async def test_without_wordpress_the_portal_pulls_the_atom_feed(clock, ref, configs):
    transport = NoCalls()
    async with httpx.AsyncClient(transport=transport) as client:
        portal = gateway(client, clock, configs)
        bulletin = message()

        receipt = await portal.publish(target(ref), bulletin, idempotency_key=KEY)

    assert receipt.external_id == f"atom:{bulletin.bulletin_id}"
    assert (receipt.url, receipt.sandbox) == (bulletin.link, False)
    assert receipt.detail == "published in the ward's Atom feed"
    assert transport.requests == []


@pytest.mark.parametrize(
    ("configs", "code"),
    [
        ({}, "credentials"),
        (
            {"wp": {"wordpress_url": "https://portal.example.vn", "username": "gandan"}},
            "credentials",
        ),
        (
            {
                "wp": {
                    "wordpress_url": "http://portal.example.vn",
                    "username": "u",
                    "application_password": PASSWORD,
                }
            },
            "config",
        ),
        (
            {
                "wp": {
                    "wordpress_url": "https://portal.example.vn",
                    "username": "u",
                    "application_password": PASSWORD,
                    "category_ids": "3,tin",
                }
            },
            "config",
        ),
        (
            {
                "wp": {
                    "wordpress_url": "https://portal.example.vn",
                    "username": "u",
                    "application_password": PASSWORD,
                    "status": "published",
                }
            },
            "config",
        ),
    ],
    ids=["unknown-ref", "no-password", "plain-http", "bad-categories", "bad-status"],
)
async def test_bad_configuration_is_permanent_and_makes_no_call(clock, configs, code):
    transport = NoCalls()
    async with httpx.AsyncClient(transport=transport) as client:
        portal = gateway(client, clock, configs)
        with pytest.raises(ChannelError) as error:
            await portal.publish(target("wp"), message(), idempotency_key=KEY)

    assert (error.value.retryable, error.value.code) == (False, code)
    assert PASSWORD not in str(error.value)
    assert transport.requests == []


def test_slug_is_the_key_when_it_is_slug_safe_and_a_hash_otherwise():
    assert post_slug(KEY) == KEY
    assert post_slug("0193a1b2") not in (KEY, "gandan-0193a1b2")
    assert post_slug("0193a1b2") != post_slug("gandan-0193a1b2")
    odd = post_slug("Delivery:42/Zalo")
    assert odd == post_slug("Delivery:42/Zalo")
    assert odd.startswith("gandan-") and odd != post_slug("delivery-42-zalo")
    assert len(post_slug("x" * 500)) <= 200


async def test_reach_is_unknown(http, clock):
    assert await gateway(http, clock, {}).reach(target(), "101") is None
