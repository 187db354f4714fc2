"""What residents and portals read without a token: the bulletin page, its media, the Atom feed,
and anonymous GraphQL GET queries, all cacheable with ETags."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from domain.access import Scope
from domain.bulletin import Attachment, BulletinKind, BulletinStatus, MediaType
from domain.services.bulletins import BulletinDraft
from tests.api.org import build_world

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
ATOM = "{http://www.w3.org/2005/Atom}"
PUBLISHED_QUERY = (
    "query ($code: String!) { publishedBulletins(wardCode: $code) { edges { node { title } } } }"
)


async def _bulletin(container, world, *, publish: bool, title: str = "Cảnh báo lừa đảo & mạo danh"):
    officer = await container.organisation.actor_for(world.actors["officer_a"].id)
    commander = await container.organisation.actor_for(world.actors["commander_a"].id)
    key = await container.blobs.put(PNG, content_type="image/png", filename="canh-bao.png")
    draft = BulletinDraft(
        ward_id=world.wards["A"].id,
        kind=BulletinKind.SCAM_WARNING,
        title=title,
        body="Không chuyển tiền cho người lạ.\nGọi 113 khi cần.",
        attachments=(Attachment(key, MediaType.IMAGE, "canh-bao.png", len(PNG), "image/png"),),
        target_group_ids=(world.groups["A"].id,),
    )
    bulletin = await container.bulletins.create(officer, draft)
    if publish:
        await container.bulletins.submit(officer, bulletin.id, None)
        await container.bulletins.approve(commander, bulletin.id, None)
        # The group has no channel account: the worker records it in the sandbox.
        while await container.deliveries.run_once():
            pass
    async with container.uow() as uow:
        return await uow.bulletins.get(bulletin.id, scope=Scope.all()), key


async def test_published_bulletin_has_a_page_media_and_feed_entry(api, container) -> None:
    world = await build_world(container.organisation)
    bulletin, key = await _bulletin(container, world, publish=True)
    assert bulletin.status is BulletinStatus.PUBLISHED
    client = api.client

    page = await client.get(f"/bulletins/{bulletin.id}")
    assert page.status_code == 200
    assert "Cảnh báo lừa đảo &amp; mạo danh" in page.text
    assert page.headers["cache-control"].startswith("public")
    again = await client.get(
        f"/bulletins/{bulletin.id}", headers={"If-None-Match": page.headers["etag"]}
    )
    assert again.status_code == 304

    media = await client.get(f"/media/{key}")
    assert media.status_code == 200
    assert media.content == PNG
    assert media.headers["content-type"] == "image/png"
    assert media.headers["x-content-type-options"] == "nosniff"

    feed = await client.get(f"/feeds/{world.wards['A'].code}/bulletins.atom")
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(feed.content)
    titles = [e.findtext(f"{ATOM}title") for e in root.findall(f"{ATOM}entry")]
    assert titles == ["Cảnh báo lừa đảo & mạo danh"]


async def test_unpublished_bulletins_and_their_media_stay_private(api, container) -> None:
    world = await build_world(container.organisation)
    draft, key = await _bulletin(container, world, publish=False, title="Bản nháp")
    client = api.client
    assert (await client.get(f"/bulletins/{draft.id}")).status_code == 404
    assert (await client.get(f"/media/{key}")).status_code == 404
    assert (await client.get("/bulletins/not-a-uuid")).status_code == 404
    assert (await client.get("/media/../../etc/passwd")).status_code == 404
    feed = await client.get(f"/feeds/{world.wards['A'].code}/bulletins.atom")
    assert ET.fromstring(feed.content).findall(f"{ATOM}entry") == []
    assert (await client.get("/feeds/NO-SUCH-WARD/bulletins.atom")).status_code == 404


async def test_anonymous_graphql_get_is_cacheable_and_signed_in_is_not(api, container) -> None:
    world = await build_world(container.organisation)
    await _bulletin(container, world, publish=True)
    params = {"query": PUBLISHED_QUERY, "variables": f'{{"code": "{world.wards["A"].code}"}}'}
    first = await api.client.get("/graphql", params=params)
    assert first.status_code == 200, first.text
    assert first.json()["data"]["publishedBulletins"]["edges"][0]["node"]["title"]
    assert first.headers["cache-control"] == "public, max-age=60"
    etag = first.headers["etag"]
    second = await api.client.get("/graphql", params=params, headers={"If-None-Match": etag})
    assert second.status_code == 304
    signed_in = await api.client.get(
        "/graphql", params=params, headers=api.headers(world.actors["officer_a"].id)
    )
    assert signed_in.status_code == 200
    assert signed_in.headers["cache-control"] == "private, no-store"
    assert "etag" not in signed_in.headers
