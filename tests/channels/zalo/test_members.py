"""Listing Zalo group members (GMF listmember) and OA followers (getlist) against the fake Zalo."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import httpx
import pytest

from adapters.channels.base import ChannelDeps, Endpoints
from adapters.channels.zalo.members import (
    FOLLOWERS_PATH,
    LIST_MEMBER_PATH,
    ZaloFollowers,
    ZaloGroupMembers,
    zalo_membership_sources,
)
from domain.channels import ChannelKind
from domain.ids import GroupId, WardId, new_id
from domain.ports import (
    ChannelError,
    ChannelMember,
    GroupRef,
    MembershipSource,
    MembershipTruncated,
    StoredToken,
)
from tests.fakes.channel_deps import MemoryCredentials, channel_deps
from tests.fakes.servers import LiveServer, serve_app
from tests.fakes.zalo_server import FakeZalo

REF = "zalo-tan-mai"
OA_ID = "579745863508352884"


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
    current.fake = FakeZalo(oa_id=OA_ID)
    return current.fake


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


@pytest.fixture
def credentials(fake: FakeZalo, clock) -> MemoryCredentials:
    store = MemoryCredentials({REF: {"app_id": fake.app_id, "secret_key": fake.secret_key}})
    access, refresh = fake.issue_tokens()
    store.tokens[REF] = StoredToken(access, refresh, clock.now() + timedelta(hours=25))
    return store


@pytest.fixture
def deps(http, clock, zalo_host, credentials, tmp_path) -> ChannelDeps:
    _, server = zalo_host
    endpoints = Endpoints(zalo_api=server.base_url, zalo_oauth=server.base_url)
    return channel_deps(
        http, clock, endpoints=endpoints, credentials=credentials, tmp_path=tmp_path
    )


@pytest.fixture
def group_members(deps) -> ZaloGroupMembers:
    return ZaloGroupMembers(deps)


@pytest.fixture
def followers(deps) -> ZaloFollowers:
    return ZaloFollowers(deps)


def target(kind: ChannelKind = ChannelKind.ZALO_GROUP, *, ref: str | None = REF) -> GroupRef:
    return GroupRef(
        group_id=GroupId(new_id()),
        ward_id=WardId(new_id()),
        channel=kind,
        external_id="group-1" if kind is ChannelKind.ZALO_GROUP else OA_ID,
        name="Tổ dân phố 5",
        credentials_ref=ref,
    )


async def listed(source: MembershipSource, ref: GroupRef) -> list[ChannelMember]:
    return [member async for member in source.members(ref)]


def requests_to(fake: FakeZalo, path: str) -> int:
    return sum(1 for _, p in fake.requests if p == path)


# -- group members (GMF) -------------------------------------------------------------------


async def test_group_members_are_listed_page_by_page_with_their_names(group_members, fake) -> None:
    rows = fake.add_group_members("group-1", 120)

    members = await listed(group_members, target())

    assert members == [ChannelMember(r["user_id"], r["name"]) for r in rows]
    assert len({m.external_user_id for m in members}) == 120
    assert [(p["group_id"], p["offset"], p["count"]) for p in fake.list_params] == [
        ("group-1", 0, 50),
        ("group-1", 50, 50),
        ("group-1", 100, 50),
    ]


async def test_a_last_full_page_needs_no_extra_call_when_the_total_says_so(
    group_members, fake
) -> None:
    fake.add_group_members("group-1", 100)

    assert len(await listed(group_members, target())) == 100
    assert requests_to(fake, LIST_MEMBER_PATH) == 2


async def test_an_empty_group_lists_nobody_in_one_call(group_members, fake) -> None:
    assert await listed(group_members, target()) == []
    assert requests_to(fake, LIST_MEMBER_PATH) == 1


async def test_members_without_a_name_come_with_none(group_members, fake) -> None:
    rows = fake.add_group_members("group-1", 2, names=False)

    assert await listed(group_members, target()) == [
        ChannelMember(r["user_id"], None) for r in rows
    ]


async def test_an_expired_token_is_refreshed_in_the_middle_of_a_listing(
    group_members, fake, credentials
) -> None:
    fake.add_group_members("group-1", 120)
    old = credentials.tokens[REF]
    seen: list[ChannelMember] = []

    async for member in group_members.members(target()):
        seen.append(member)
        if len(seen) == 50:  # the first page is in; the token dies before the second
            fake.expire_tokens()

    assert len(seen) == 120 and len({m.external_user_id for m in seen}) == 120
    assert fake.refreshes == [old.refresh_token]
    assert credentials.tokens[REF].access_token != old.access_token
    assert [p["offset"] for p in fake.list_params] == [0, 50, 100]  # page 2 asked once, served


async def test_a_disabled_group_is_a_permanent_error(group_members, fake) -> None:
    fake.disabled_groups.add("group-1")

    with pytest.raises(ChannelError) as refused:
        await listed(group_members, target())

    assert (refused.value.retryable, refused.value.code) == (False, "zalo:-237")


async def test_an_error_on_a_later_page_stops_the_listing(group_members, fake) -> None:
    fake.add_group_members("group-1", 120)
    fake.fail_next(3, status=503, path=LIST_MEMBER_PATH, after=1)
    seen: list[ChannelMember] = []

    with pytest.raises(ChannelError) as failed:
        async for member in group_members.members(target()):
            seen.append(member)

    assert len(seen) == 50
    assert (failed.value.retryable, failed.value.code) == (True, "503")


async def test_a_rate_limit_while_listing_is_retryable_after_the_window(
    group_members, fake
) -> None:
    fake.rate_limit_next(retry_after=7)

    with pytest.raises(ChannelError) as limited:
        await listed(group_members, target())

    assert (limited.value.retryable, limited.value.retry_after) == (True, 7.0)


async def test_a_listing_without_the_expected_shape_is_a_bad_response(group_members, fake) -> None:
    fake.group_members["group-1"] = [{"name": "Không có id"}]

    with pytest.raises(ChannelError) as bad:
        await listed(group_members, target())

    assert bad.value.code == "zalo:bad_response"


async def test_missing_credentials_are_refused_before_any_call(group_members, fake) -> None:
    for ref in (None, "not-configured"):
        with pytest.raises(ChannelError) as missing:
            await listed(group_members, target(ref=ref))
        assert (missing.value.retryable, missing.value.code) == (False, "credentials")
    assert fake.requests == []


# -- followers (OA) ------------------------------------------------------------------------


async def test_followers_are_listed_page_by_page_without_names(followers, fake) -> None:
    ids = fake.add_followers(75)

    members = await listed(followers, target(ChannelKind.ZALO_OA))

    assert members == [ChannelMember(i, None) for i in ids]
    assert fake.list_params == [
        {"offset": 0, "count": 50, "is_follower": True},
        {"offset": 50, "count": 50, "is_follower": True},
    ]
    assert requests_to(fake, "/v3.0/oa/user/detail") == 0  # names would cost quota


async def test_followers_are_those_of_the_oa_the_token_acts_for(followers, fake) -> None:
    ours = fake.add_followers(3)
    fake.add_followers(5, oa_id="another-oa")

    members = await listed(followers, target(ChannelKind.ZALO_OA))

    assert [m.external_user_id for m in members] == ours


async def test_an_oa_without_followers_lists_nobody(followers, fake) -> None:
    assert await listed(followers, target(ChannelKind.ZALO_OA)) == []


async def test_the_follower_offset_cap_truncates_the_listing_with_a_warning(
    followers, fake, caplog: pytest.LogCaptureFixture
) -> None:
    followers.offset_cap = 100  # Zalo's is about 9951; a smaller one keeps the test quick
    fake.follower_offset_cap = 100
    ids = fake.add_followers(230)
    seen: list[ChannelMember] = []

    with (
        caplog.at_level(logging.WARNING, logger="gandan.channels.zalo"),
        pytest.raises(MembershipTruncated) as truncated,
    ):
        async for member in followers.members(target(ChannelKind.ZALO_OA)):
            seen.append(member)

    assert [m.external_user_id for m in seen] == ids[:150]  # offsets 0, 50 and 100 were read
    assert max(p["offset"] for p in fake.list_params) == 100  # never asked past the cap
    assert isinstance(truncated.value, ChannelError) and not truncated.value.retryable
    assert "80 more" in str(truncated.value)
    assert "truncated" in caplog.text and OA_ID in caplog.text


async def test_a_list_ending_at_the_cap_is_complete(followers, fake) -> None:
    followers.offset_cap = 100
    fake.follower_offset_cap = 100
    fake.add_followers(150)

    assert len(await listed(followers, target(ChannelKind.ZALO_OA))) == 150


async def test_the_real_cap_is_the_documented_one(followers) -> None:
    assert followers.offset_cap == 9951 and followers.page_size == 50


async def test_a_refused_token_while_listing_followers_is_permanent(followers, fake) -> None:
    fake.add_followers(3)
    fake.error_next(-216, 2, path=FOLLOWERS_PATH)  # refused before and after the refresh

    with pytest.raises(ChannelError) as refused:
        await listed(followers, target(ChannelKind.ZALO_OA))

    assert (refused.value.retryable, refused.value.code) == (False, "zalo:-216")
    assert fake.refresh_count == 1


async def test_get_parameters_travel_as_one_json_data_parameter(followers, fake, deps) -> None:
    fake.add_followers(1)
    response = await deps.http.get(
        deps.endpoints.zalo_api + FOLLOWERS_PATH,
        params={"data": json.dumps({"offset": 0, "count": 51})},
        headers={"access_token": next(iter(fake.access_tokens))},
    )

    assert response.json()["error"] == -201  # the fake holds us to Zalo's 50 a page


def test_the_sources_declare_their_kinds_and_share_one_client(deps) -> None:
    sources = zalo_membership_sources(deps)
    assert {k: s.kind for k, s in sources.items()} == {
        ChannelKind.ZALO_GROUP: ChannelKind.ZALO_GROUP,
        ChannelKind.ZALO_OA: ChannelKind.ZALO_OA,
    }
    assert sources[ChannelKind.ZALO_GROUP].api is sources[ChannelKind.ZALO_OA].api
    assert list(zalo_membership_sources(deps, {ChannelKind.ZALO_OA})) == [ChannelKind.ZALO_OA]
