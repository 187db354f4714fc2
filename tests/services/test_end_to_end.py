"""A bulletin from draft to every channel, through the real container, the real gateways and fake
platforms on 127.0.0.1: create, preview, submit, approve, deliver to a Zalo group, a Zalo OA, a
Facebook page, a YouTube channel and a WordPress portal, and see it published. Then the ways it
goes wrong: a permanent refusal and a retry of only that target, an expired Zalo token, a YouTube
upload cut mid-way, a worker that dies mid-run, 503 bursts and 429s, and groups without accounts.
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.types import ASGIApp, Receive, Scope, Send

from adapters.blobs import LocalBlobStore
from adapters.channels.base import Endpoints
from adapters.channels.credentials import SqlCredentialStore
from adapters.channels.youtube import YouTubeGateway
from adapters.channels.zalo import ZaloOaGateway
from adapters.channels.zalo.client import ZaloClient
from adapters.crypto import Sealer
from adapters.persistence.mappers import utc
from adapters.persistence.tables import ChannelTokenRow, DeliveryRow
from api.bootstrap import Container, bootstrap
from api.config import Settings
from domain.access import Actor, Role
from domain.bulletin import Attachment, Bulletin, BulletinKind, BulletinStatus, MediaType
from domain.channels import ChannelKind
from domain.delivery import Delivery, DeliveryStatus
from domain.group import Group
from domain.ids import WardId
from domain.services.bulletins import BulletinDraft
from tests.builders import make_group, make_member, make_ward
from tests.conftest import FakeClock
from tests.fakes.facebook_server import FakeGraphApi
from tests.fakes.servers import LiveServer, serve_app
from tests.fakes.wordpress_server import WordPressFake
from tests.fakes.youtube_server import FakeYouTube
from tests.fakes.zalo_server import FakeZalo
from tests.services.conftest import deliveries_of, load

K = ChannelKind
S = BulletinStatus
D = DeliveryStatus

PUBLIC = "http://127.0.0.1:9"
PAGE_ID = "1001"
PAGE_TOKEN = "EAAGpagetoken-tan-mai-very-secret"
APP_SECRET = "fb-app-secret-do-not-leak"
YT_CLIENT_ID = "gandan-e2e.apps.googleusercontent.com"
YT_CLIENT_SECRET = "GOCSPX-e2e-client-secret"
YT_REFRESH = "1//e2e-refresh-token"
WP_PASSWORD = "abcd EFGH 1234 ijkl MNOP 5678"
ZALO_GROUP_ID = "group-1"
REFS = {
    K.ZALO_GROUP: "zalo:tan-mai-groups",
    K.ZALO_OA: "zalo:tan-mai-oa",
    K.FACEBOOK_PAGE: "facebook:tan-mai",
    K.YOUTUBE_CHANNEL: "youtube:tan-mai",
    K.PORTAL: "portal:ha-noi",
}
EXTERNAL_IDS = {
    K.ZALO_GROUP: ZALO_GROUP_ID,
    K.ZALO_OA: "579745863508352884",
    K.FACEBOOK_PAGE: PAGE_ID,
    K.YOUTUBE_CHANNEL: "UC-cong-an-tan-mai",
    K.PORTAL: "portal-ha-noi",
}
GRANULE = 256 * 1024
VIDEO_BYTES = random.Random(2026).randbytes(2 * GRANULE + 75_000)


# fake platforms: one server each for the module, a fresh fake behind it for every test ----------


class Switch:
    """An ASGI app that forwards to whichever fake the current test put behind it."""

    app: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


@dataclass
class Platforms:
    zalo: FakeZalo
    facebook: FakeGraphApi
    youtube: FakeYouTube
    wordpress: WordPressFake
    servers: dict[str, LiveServer]

    def snapshot(self) -> dict[str, int]:
        """How much each platform has published so far."""
        return {
            "zalo_group": len(self.zalo.group_messages),
            "zalo_oa": len(self.zalo.broadcasts),
            "articles": self.zalo.articles_created,
            "facebook": len(self.facebook.posts),
            "youtube": len(self.youtube.videos),
            "youtube_sessions": len(self.youtube.sessions),
            "wordpress": len(self.wordpress.created),
        }


@pytest.fixture(scope="module")
def switches() -> Iterator[tuple[dict[str, Switch], dict[str, LiveServer]]]:
    switches = {name: Switch() for name in ("zalo", "facebook", "youtube", "wordpress")}
    with (
        serve_app(switches["zalo"]) as zalo,
        serve_app(switches["facebook"]) as facebook,
        serve_app(switches["youtube"]) as youtube,
        serve_app(switches["wordpress"]) as wordpress,
    ):
        yield (
            switches,
            {
                "zalo": zalo,
                "facebook": facebook,
                "youtube": youtube,
                "wordpress": wordpress,
            },
        )


@pytest.fixture
def platforms(switches, monkeypatch: pytest.MonkeyPatch) -> Platforms:
    by_name, servers = switches
    made = Platforms(
        zalo=FakeZalo(),
        facebook=FakeGraphApi({PAGE_ID: PAGE_TOKEN}, app_secret=APP_SECRET),
        youtube=FakeYouTube(
            client_id=YT_CLIENT_ID, client_secret=YT_CLIENT_SECRET, refresh_token=YT_REFRESH
        ),
        wordpress=WordPressFake(username="gandan", application_password=WP_PASSWORD),
        servers=servers,
    )
    for name in by_name:
        by_name[name].app = getattr(made, name).app
    # The same logic, without real waiting between tries.
    monkeypatch.setattr(YouTubeGateway, "resume_backoff", 0.001)
    monkeypatch.setattr(ZaloOaGateway, "verify_delays", (0.01, 0.01, 0.01))
    monkeypatch.setattr(ZaloClient, "race_grace", (0.01, 0.02))
    return made


def credentials_for(platforms: Platforms) -> dict[str, dict[str, str]]:
    zalo = platforms.zalo
    app = {"app_id": zalo.app_id, "secret_key": zalo.secret_key}
    group_access, group_refresh = zalo.issue_tokens()
    oa_access, oa_refresh = zalo.issue_tokens()
    return {
        REFS[K.ZALO_GROUP]: app | {"access_token": group_access, "refresh_token": group_refresh},
        REFS[K.ZALO_OA]: app
        | {
            "access_token": oa_access,
            "refresh_token": oa_refresh,
            "default_cover_url": f"{PUBLIC}/static/cover.png",
        },
        REFS[K.FACEBOOK_PAGE]: {"page_access_token": PAGE_TOKEN, "app_secret": APP_SECRET},
        REFS[K.YOUTUBE_CHANNEL]: {
            "client_id": YT_CLIENT_ID,
            "client_secret": YT_CLIENT_SECRET,
            "refresh_token": YT_REFRESH,
            "access_token": platforms.youtube.issue_token(),
        },
        REFS[K.PORTAL]: {
            "wordpress_url": platforms.servers["wordpress"].base_url,
            "username": "gandan",
            "application_password": WP_PASSWORD,
        },
    }


# the container and a ward with a group on every channel -----------------------------------------


@dataclass
class World:
    container: Container
    platforms: Platforms
    clock: FakeClock
    ward_id: WardId
    groups: dict[ChannelKind, Group]
    officer: Actor
    commander: Actor
    credentials: dict[str, dict[str, str]]
    var_dir: Path
    make_container: Callable[[], Container]

    async def publish(self, **overrides: Any) -> Bulletin:
        """Create, preview, submit and approve a bulletin with a video, as the API would."""
        service = self.container.bulletins
        key = await self.container.blobs.put(
            VIDEO_BYTES, content_type="video/mp4", filename="canh-bao.mp4"
        )
        video = Attachment(key, MediaType.VIDEO, "canh-bao.mp4", len(VIDEO_BYTES), "video/mp4")
        fields: dict[str, Any] = {
            "ward_id": self.ward_id,
            "kind": BulletinKind.SCAM_WARNING,
            "title": "Cảnh báo lừa đảo mạo danh công an qua điện thoại",
            "body": "Công an không làm việc qua điện thoại.\nKhông chuyển tiền, không đọc mã OTP.",
            "attachments": (video,),
            "target_ward_ids": (self.ward_id,),
        }
        bulletin = await service.create(self.officer, BulletinDraft(**(fields | overrides)))
        preview = await service.preview(self.officer, bulletin.id)
        assert preview.blocking == []
        await service.submit(self.officer, bulletin.id, None)
        approved = await service.approve(self.commander, bulletin.id, "Đồng ý")
        assert approved.status in (S.PUBLISHING, S.SCHEDULED)
        return approved

    async def run_until_quiet(self, rounds: int = 40) -> None:
        """The worker loop, with the clock moved to the next due delivery whenever it idles."""
        for _ in range(rounds):
            if await self.container.deliveries.run_once():
                continue
            later = await waiting_until(self.container)
            if later is None:
                return
            self.clock.current = max(self.clock.current, later)
        raise AssertionError("the deliveries never settled")

    async def deliveries(self, bulletin: Bulletin) -> dict[ChannelKind, Delivery]:
        return {d.channel: d for d in await deliveries_of(self.container.uow, bulletin.id)}

    async def status(self, bulletin: Bulletin) -> BulletinStatus:
        return (await load(self.container.uow, bulletin.id)).status


async def waiting_until(container: Container) -> datetime | None:
    """When the next delivery that is not final becomes due, or None when none is left."""
    table = DeliveryRow.__table__
    async with container.engine.connect() as conn:
        soonest = await conn.scalar(
            sa.select(sa.func.min(table.c.next_attempt_at)).where(
                table.c.status.in_([D.PENDING.value, D.FAILED.value])
            )
        )
        lease = await conn.scalar(
            sa.select(sa.func.min(table.c.lease_expires_at)).where(
                table.c.status == D.SENDING.value
            )
        )
    times = [utc(t) for t in (soonest, lease) if t is not None]
    return min(times) if times else None


@pytest.fixture
async def world(
    database_url: str, db, clock: FakeClock, platforms: Platforms, tmp_path: Path
) -> AsyncIterator[World]:
    servers = platforms.servers
    credentials = credentials_for(platforms)
    endpoints = Endpoints(
        zalo_api=servers["zalo"].base_url,
        zalo_oauth=servers["zalo"].base_url,
        facebook_graph=servers["facebook"].url(f"/{platforms.facebook.version}"),
        google_oauth_token=servers["youtube"].url("/token"),
        youtube_upload=servers["youtube"].url("/upload/youtube/v3"),
        youtube_api=servers["youtube"].url("/youtube/v3"),
        public_base_url=PUBLIC,
    )
    settings = Settings(database_url=database_url, var_dir=tmp_path, public_base_url=PUBLIC)
    containers: list[Container] = []

    def make_container() -> Container:
        container = bootstrap(
            settings,
            engine=db,
            clock=clock,
            endpoints=endpoints,
            channel_credentials=credentials,
            blobs=LocalBlobStore(tmp_path / "blobs"),
        )
        containers.append(container)
        return container

    container = make_container()
    uow = container.uow
    district = await make_ward(uow, name="Quận Hoàng Mai")
    ward = await make_ward(uow, name="Phường Tân Mai", parent_id=district.id)
    groups = {
        kind: await make_group(
            uow,
            ward.id,
            channel=kind,
            external_id=EXTERNAL_IDS[kind],
            name=f"Công an phường Tân Mai ({kind.value})",
            credentials_ref=REFS[kind],
        )
        for kind in ChannelKind
    }
    officer = await make_member(uow, ward.id, full_name="Trần Thị Bình", roles=[Role.OFFICER])
    commander = await make_member(uow, ward.id, full_name="Lê Văn Cường", roles=[Role.COMMANDER])
    yield World(
        container=container,
        platforms=platforms,
        clock=clock,
        ward_id=ward.id,
        groups=groups,
        officer=await container.organisation.actor_for(officer.id),
        commander=await container.organisation.actor_for(commander.id),
        credentials=credentials,
        var_dir=tmp_path,
        make_container=make_container,
    )
    for made in containers:
        await made.aclose()


# the whole way ----------------------------------------------------------------------------------


async def test_a_bulletin_reaches_every_channel(world: World) -> None:
    p = world.platforms
    bulletin = await world.publish()
    assert bulletin.status is S.PUBLISHING

    await world.run_until_quiet()

    assert await world.status(bulletin) is S.PUBLISHED
    sent = await world.deliveries(bulletin)
    assert set(sent) == set(ChannelKind)
    assert {(d.status, d.attempts, d.sandbox) for d in sent.values()} == {(D.SENT, 1, False)}
    link = f"{PUBLIC}/bulletins/{bulletin.id}"
    # Each platform has exactly one post, and the delivery knows its id there.
    assert p.snapshot() == {
        "zalo_group": 1,
        "zalo_oa": 1,
        "articles": 1,
        "facebook": 1,
        "youtube": 1,
        "youtube_sessions": 1,
        "wordpress": 1,
    }
    (message,) = p.zalo.group_messages
    assert sent[K.ZALO_GROUP].external_post_id == message["message_id"]
    assert message["group_id"] == ZALO_GROUP_ID
    assert message["message"]["text"].startswith(bulletin.title)
    assert message["message"]["text"].endswith(link)  # the video is reached by the link
    (broadcast,) = p.zalo.broadcasts
    assert sent[K.ZALO_OA].external_post_id == broadcast["article_id"]
    (post,) = p.facebook.posts
    assert (post.page_id, post.edge, post.source) == (PAGE_ID, "videos", VIDEO_BYTES)
    assert sent[K.FACEBOOK_PAGE].external_post_id == post.id
    (video,) = p.youtube.videos.values()
    assert video.data == VIDEO_BYTES
    assert video.resource["snippet"]["title"] == bulletin.title
    assert video.resource["snippet"]["description"].endswith(link)
    assert sent[K.YOUTUBE_CHANNEL].external_post_id == video.id
    assert sent[K.YOUTUBE_CHANNEL].external_url == f"https://www.youtube.com/watch?v={video.id}"
    (page,) = p.wordpress.created
    assert sent[K.PORTAL].external_post_id == str(page["id"])
    assert page["slug"] == sent[K.PORTAL].idempotency_key
    assert link in page["content"]["raw"]
    stored = await load(world.container.uow, bulletin.id)
    assert stored.published_at == world.clock.now()


# (a) a permanent refusal, then a retry of only that target --------------------------------------


async def test_a_refused_target_is_retried_alone(world: World) -> None:
    p = world.platforms
    p.wordpress.can_create = False  # the portal account lost its right to post
    bulletin = await world.publish()
    await world.run_until_quiet()

    assert await world.status(bulletin) is S.PARTIALLY_FAILED
    deliveries = await world.deliveries(bulletin)
    dead = deliveries.pop(K.PORTAL)
    assert (dead.status, dead.attempts) == (D.DEAD, 1)  # a 403 is final at once
    assert "rest_cannot_create" in (dead.last_error or "")
    assert {d.status for d in deliveries.values()} == {D.SENT}
    before = p.snapshot()
    assert before["wordpress"] == 0

    p.wordpress.can_create = True  # an operator fixed the account
    await world.container.bulletins.retry_delivery(world.officer, dead.id, "Đã cấp lại quyền")
    assert await world.status(bulletin) is S.PUBLISHING
    await world.run_until_quiet()

    assert await world.status(bulletin) is S.PUBLISHED
    assert p.snapshot() == before | {"wordpress": 1}  # nobody else heard it twice
    retried = (await world.deliveries(bulletin))[K.PORTAL]
    assert (retried.status, retried.external_post_id) == (D.SENT, str(p.wordpress.created[0]["id"]))
    assert [s.to_status for s in retried.history] == [
        "sending",
        "dead",
        "pending",
        "sending",
        "sent",
    ]


# (b) an expired Zalo token is refreshed once and stored sealed ----------------------------------


async def test_an_expired_zalo_token_is_refreshed_once_and_stored_sealed(world: World) -> None:
    zalo = world.platforms.zalo
    first = await world.publish()
    await world.run_until_quiet()
    assert await world.status(first) is S.PUBLISHED

    zalo.expire_tokens()  # mid-run: the next Zalo call is refused with -216
    second = await world.publish()
    await world.run_until_quiet()

    assert await world.status(second) is S.PUBLISHED
    seeds = {
        ref: world.credentials[ref]["refresh_token"]
        for ref in (REFS[K.ZALO_GROUP], REFS[K.ZALO_OA])
    }
    assert sorted(zalo.refreshes) == sorted(seeds.values())  # once per account
    assert zalo.refused_refreshes == []
    sealer = Sealer.development(world.var_dir / "secret-keys")
    store = SqlCredentialStore(world.container.engine, sealer, world.clock, world.credentials)
    table = ChannelTokenRow.__table__
    async with world.container.engine.connect() as conn:
        rows = {r.ref: r for r in await conn.execute(sa.select(table))}
    assert set(rows) == set(seeds)
    for ref, row in rows.items():
        token = await store.token(ref)
        assert token is not None and token.version == row.version == 1
        assert zalo.access_tokens[token.access_token] is True  # the one Zalo now accepts
        assert token.refresh_token in zalo.refresh_tokens
        assert token.expires_at == world.clock.now() + timedelta(seconds=90_000)
        assert token.access_token.encode() not in row.sealed  # sealed, not stored in clear
        assert token.refresh_token.encode() not in row.sealed
    # The new tokens are the ones the second bulletin went out with.
    group_token = (await store.token(REFS[K.ZALO_GROUP])).access_token
    assert zalo.group_messages[-1]["token"] == group_token
    assert zalo.broadcasts[-1]["token"] == (await store.token(REFS[K.ZALO_OA])).access_token

    third = await world.publish()
    await world.run_until_quiet()
    assert await world.status(third) is S.PUBLISHED
    assert len(zalo.refreshes) == 2  # the stored pair is used, not refreshed again


# (c) a YouTube upload cut mid-way resumes the same session --------------------------------------


async def test_a_cut_youtube_upload_resumes_from_the_confirmed_byte(world: World) -> None:
    youtube = world.platforms.youtube
    youtube.cut_chunk(0, keep=GRANULE, then="503")  # keeps the first 256 KiB, then fails...
    youtube.fail_next(3, 503, on="status")  # ...and keeps failing while asked how far it got
    bulletin = await world.publish()
    assert await world.container.deliveries.run_once() == len(ChannelKind)

    deliveries = await world.deliveries(bulletin)
    failed = deliveries.pop(K.YOUTUBE_CHANNEL)
    assert (failed.status, failed.attempts) == (D.FAILED, 1)
    assert "upload_interrupted" in (failed.last_error or "")
    assert failed.next_attempt_at > world.clock.now()
    assert {d.status for d in deliveries.values()} == {D.SENT}
    assert await world.status(bulletin) is S.PUBLISHING
    (session,) = youtube.sessions.values()
    assert len(session.received) == GRANULE
    assert youtube.videos == {}

    await world.run_until_quiet()

    assert await world.status(bulletin) is S.PUBLISHED
    assert list(youtube.sessions) == [session.upload_id]  # the same session, not a new one
    assert len(youtube.requests_of("start")) == 1
    (video,) = youtube.videos.values()
    assert video.data == VIDEO_BYTES
    assert youtube.chunks[-1] == (session.upload_id, GRANULE, len(VIDEO_BYTES) - GRANULE)
    sent = (await world.deliveries(bulletin))[K.YOUTUBE_CHANNEL]
    assert (sent.status, sent.attempts, sent.external_post_id) == (D.SENT, 2, video.id)


# (d) a worker dies mid-run: nothing is lost and nothing posted twice -----------------------------


async def test_a_worker_crash_mid_run_loses_nothing_and_posts_nothing_twice(
    world: World,
) -> None:
    p = world.platforms
    bulletin = await world.publish()
    crashed = world.container
    jobs = await crashed.deliveries.claim(50)
    assert len(jobs) == len(ChannelKind)
    # The worker gets every post onto its platform, then dies before recording any outcome.
    for job in jobs:
        gateway = crashed.channels.get(job.target.channel)
        await gateway.publish(job.target, job.message, idempotency_key=job.idempotency_key)
    posted = p.snapshot()
    assert posted == {
        "zalo_group": 1,
        "zalo_oa": 1,
        "articles": 1,
        "facebook": 1,
        "youtube": 1,
        "youtube_sessions": 1,
        "wordpress": 1,
    }
    first_ids = {
        K.ZALO_GROUP: p.zalo.group_messages[0]["message_id"],
        K.ZALO_OA: p.zalo.broadcasts[0]["article_id"],
        K.FACEBOOK_PAGE: p.facebook.posts[0].id,
        K.YOUTUBE_CHANNEL: next(iter(p.youtube.videos)),
        K.PORTAL: str(p.wordpress.created[0]["id"]),
    }

    other = world.make_container()  # another worker process
    assert await other.deliveries.run_once() == 0  # the dead worker's leases still hold
    assert {d.status for d in (await world.deliveries(bulletin)).values()} == {D.SENDING}
    world.clock.advance(minutes=10)
    assert await other.deliveries.run_once() == len(ChannelKind)

    assert await world.status(bulletin) is S.PUBLISHED
    assert p.snapshot() == posted  # each platform recognised the retry as the same post
    deliveries = await world.deliveries(bulletin)
    for kind, delivery in deliveries.items():
        assert (delivery.status, delivery.attempts) == (D.SENT, 2)
        assert delivery.external_post_id == first_ids[kind]
        assert [s.to_status for s in delivery.history] == ["sending", "failed", "sending", "sent"]


async def test_a_lost_portal_answer_is_found_again_by_its_slug(world: World) -> None:
    wordpress = world.platforms.wordpress
    wordpress.lose_next_response("drop")  # WordPress stores the post, the answer never arrives
    bulletin = await world.publish(
        target_ward_ids=(), target_group_ids=(world.groups[K.PORTAL].id,)
    )
    assert await world.container.deliveries.run_once() == 1
    (failed,) = (await world.deliveries(bulletin)).values()
    assert failed.status is D.FAILED
    assert len(wordpress.created) == 1

    await world.run_until_quiet()
    (sent,) = (await world.deliveries(bulletin)).values()
    assert (sent.status, sent.external_post_id) == (D.SENT, str(wordpress.created[0]["id"]))
    assert len(wordpress.created) == 1
    assert wordpress.by_slug(sent.idempotency_key) == wordpress.created


# (e) 503 bursts back off; a 429's Retry-After is honoured and pauses the account ----------------


async def test_a_503_burst_backs_off_and_gets_through(world: World) -> None:
    zalo = world.platforms.zalo
    zalo.fail_next(3, status=503, path="/v3.0/oa/group/message")
    bulletin = await world.publish(
        target_ward_ids=(), target_group_ids=(world.groups[K.ZALO_GROUP].id,)
    )
    for attempt in range(1, 4):
        now = world.clock.now()
        assert await world.container.deliveries.run_once() == 1
        (failed,) = (await world.deliveries(bulletin)).values()
        assert (failed.status, failed.attempts) == (D.FAILED, attempt)
        assert "HTTP 503" in (failed.last_error or "")
        delay = (failed.next_attempt_at - now).total_seconds()
        assert 0 <= delay < 30 * 2 ** (attempt - 1)  # full jitter under a doubling ceiling
        assert await world.container.deliveries.run_once() == 0 or delay == 0
        world.clock.current = failed.next_attempt_at
    assert await world.container.deliveries.run_once() == 1
    (sent,) = (await world.deliveries(bulletin)).values()
    assert (sent.status, sent.attempts) == (D.SENT, 4)
    assert len(zalo.group_messages) == 1


async def test_a_429_retry_after_is_honoured_and_pauses_the_account(world: World) -> None:
    facebook = world.platforms.facebook
    facebook.fail_next(1, code=None, status=429, retry_after=120)
    page = {"target_ward_ids": (), "target_group_ids": (world.groups[K.FACEBOOK_PAGE].id,)}
    first = await world.publish(**page)
    start = world.clock.now()
    assert await world.container.deliveries.run_once() == 1
    (limited,) = (await world.deliveries(first)).values()
    assert limited.status is D.FAILED
    assert limited.next_attempt_at >= start + timedelta(seconds=120)
    assert "HTTP 429" in (limited.last_error or "")

    # Another bulletin for the same page waits for the pause instead of calling Facebook.
    second = await world.publish(**page)
    calls = len(facebook.requests)
    assert await world.container.deliveries.run_once() == 0
    assert len(facebook.requests) == calls
    (held,) = (await world.deliveries(second)).values()
    assert (held.status, held.attempts) == (D.PENDING, 0)
    assert held.next_attempt_at == start + timedelta(seconds=120)

    world.clock.current = start + timedelta(seconds=119)
    assert await world.container.deliveries.run_once() == 0
    world.clock.current = start + timedelta(seconds=120)
    await world.run_until_quiet()
    assert await world.status(first) is S.PUBLISHED
    assert await world.status(second) is S.PUBLISHED
    assert len(facebook.posts) == 2


# (f) groups without an account go to the sandbox ------------------------------------------------


async def test_groups_without_credentials_publish_to_the_sandbox(world: World) -> None:
    ward = world.ward_id
    bare = {
        kind: await make_group(
            world.container.uow, ward, channel=kind, name=f"Chưa có tài khoản ({kind.value})"
        )
        for kind in ChannelKind
    }
    bulletin = await world.publish(
        target_ward_ids=(), target_group_ids=tuple(g.id for g in bare.values())
    )
    await world.run_until_quiet()

    assert await world.status(bulletin) is S.PUBLISHED
    deliveries = await world.deliveries(bulletin)
    portal = deliveries.pop(K.PORTAL)  # no account needed: the ward's Atom feed serves it
    assert (portal.status, portal.sandbox, portal.external_post_id) == (
        D.SENT,
        False,
        f"atom:{bulletin.id}",
    )
    for kind, delivery in deliveries.items():
        assert (delivery.status, delivery.sandbox) == (D.SENT, True)
        assert delivery.external_post_id == f"sandbox:{delivery.idempotency_key}"
        record = json.loads(
            (world.var_dir / "sandbox" / kind.value / f"{delivery.idempotency_key}.json").read_text(
                encoding="utf-8"
            )
        )
        assert record["group"]["id"] == str(bare[kind].id)
        assert record["title"] == bulletin.title
        assert record["media"] == ["canh-bao.mp4"]
    assert set(world.platforms.snapshot().values()) == {0}  # no platform heard of it
    world.clock.advance(hours=1)
    assert await world.container.deliveries.refresh_reach() == 0  # sandbox posts have no reach
