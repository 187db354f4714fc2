"""Group membership sync on the real unit of work (both engines), with Zalo's listings faked."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import api.cli
import api.worker
from adapters.channels.base import Endpoints
from adapters.persistence.engine import create_engine, session_factory
from adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from api.bootstrap import bootstrap
from api.config import Settings
from domain.access import Role, Scope
from domain.channels import ChannelKind, Platform
from domain.errors import DomainError, ErrorCode
from domain.events import MembersImported
from domain.group import Group
from domain.ids import GroupId, new_id
from domain.member import ChannelIdentity, Member, RoleGrant
from domain.ports import (
    ChannelError,
    ChannelMember,
    GroupRef,
    MemberFilter,
    MembershipTruncated,
)
from domain.services.membership_sync import MembershipSync, SyncReport
from domain.ward import Ward
from tests.builders import make_group, make_member, make_ward
from tests.fakes.servers import serve_app
from tests.fakes.zalo_server import FakeZalo

_user_ids = itertools.count(1)


def zalo_users(n: int, *, named: bool = True) -> list[ChannelMember]:
    """`n` people as Zalo lists them: 19-digit ids, never seen before."""
    people = []
    for _ in range(n):
        user_id = f"84{next(_user_ids):017d}"
        people.append(ChannelMember(user_id, f"Cư dân {user_id[-3:]}" if named else None))
    return people


def zalo(user: ChannelMember) -> ChannelIdentity:
    return ChannelIdentity(Platform.ZALO, user.external_user_id)


@dataclass
class FakeListing:
    """Lists each group's people; `failures[external_id] = (n, error)` raises after n people."""

    kind: ChannelKind
    people: dict[str, list[ChannelMember]] = field(default_factory=dict)
    failures: dict[str, tuple[int, ChannelError]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)

    async def members(self, target: GroupRef) -> AsyncIterator[ChannelMember]:
        self.asked.append(target.external_id)
        failure = self.failures.get(target.external_id)
        try:
            for index, person in enumerate(self.people.get(target.external_id, [])):
                if failure and index == failure[0]:
                    raise failure[1]
                yield person
            if failure and failure[0] >= len(self.people.get(target.external_id, [])):
                raise failure[1]
        finally:
            self.closed.append(target.external_id)


@dataclass
class World:
    ward: Ward
    other_ward: Ward
    group: Group
    second_group: Group
    oa: Group


@pytest.fixture
def groups_listing() -> FakeListing:
    return FakeListing(ChannelKind.ZALO_GROUP)


@pytest.fixture
def followers_listing() -> FakeListing:
    return FakeListing(ChannelKind.ZALO_OA)


@pytest.fixture
def sync(
    uow_factory: SqlUnitOfWorkFactory,
    clock: Any,
    publisher: Any,
    groups_listing: FakeListing,
    followers_listing: FakeListing,
) -> MembershipSync:
    sources = {ChannelKind.ZALO_GROUP: groups_listing, ChannelKind.ZALO_OA: followers_listing}
    return MembershipSync(uow_factory, clock, publisher, sources, batch=3)


@pytest.fixture
async def world(uow_factory: SqlUnitOfWorkFactory) -> World:
    ward = await make_ward(uow_factory, name="Phường Tân Mai")
    other = await make_ward(uow_factory, name="Phường Tương Mai")
    return World(
        ward=ward,
        other_ward=other,
        group=await make_group(
            uow_factory, ward.id, external_id="g-tdp5", name="TDP 5", credentials_ref="zalo:tm"
        ),
        second_group=await make_group(
            uow_factory, ward.id, external_id="g-tdp6", name="TDP 6", credentials_ref="zalo:tm"
        ),
        oa=await make_group(
            uow_factory,
            ward.id,
            channel=ChannelKind.ZALO_OA,
            external_id="579745863508352884",
            name="Công an phường Tân Mai",
            credentials_ref="zalo:tm",
        ),
    )


async def in_group(uow_factory: SqlUnitOfWorkFactory, group_id: GroupId) -> list[Member]:
    async with uow_factory() as uow:
        page = await uow.members.page(
            MemberFilter(group_ids=(group_id,)), scope=Scope.all(), after=None, first=1000
        )
    return page.items


async def everyone(uow_factory: SqlUnitOfWorkFactory) -> list[Member]:
    async with uow_factory() as uow:
        page = await uow.members.page(MemberFilter(), scope=Scope.all(), after=None, first=1000)
    return page.items


async def reload(uow_factory: SqlUnitOfWorkFactory, member: Member) -> Member:
    async with uow_factory() as uow:
        found = await uow.members.get(member.id, scope=Scope.all())
    assert found is not None
    return found


def counts(report: SyncReport) -> tuple[int, int, int, int]:
    return report.seen, report.linked, report.created, report.left


# -- linking and creating ------------------------------------------------------------------


async def test_new_users_become_residents_of_the_groups_ward_linked_by_zalo_id(
    sync, world, groups_listing, uow_factory, publisher
) -> None:
    named, unnamed = zalo_users(4), zalo_users(1, named=False)
    groups_listing.people["g-tdp5"] = named + unnamed

    report = await sync.sync_group(world.group.id)

    assert counts(report) == (5, 0, 5, 0) and report.complete and report.ok
    members = await in_group(uow_factory, world.group.id)
    assert len(members) == 5
    by_zalo = {m.identities[0].external_id: m for m in members}
    assert set(by_zalo) == {p.external_user_id for p in named + unnamed}
    for person in named:
        member = by_zalo[person.external_user_id]
        assert member.full_name == person.display_name
        assert member.identities == [zalo(person)]
    placeholder = by_zalo[unnamed[0].external_user_id]
    assert placeholder.full_name == f"Người dùng Zalo {unnamed[0].external_user_id[-4:]}"
    for member in members:
        assert (member.ward_id, member.group_ids, member.phone) == (
            world.ward.id,
            [world.group.id],
            None,
        )
    async with uow_factory() as uow:
        grants = await uow.roles.grants_of_many([m.id for m in members])
    assert grants == [[RoleGrant(world.ward.id, Role.RESIDENT)]] * 5
    assert publisher.events == [MembersImported(world.ward.id, 5, 0)]  # one event, not five


async def test_a_member_already_linked_in_another_group_is_added_not_duplicated(
    sync, world, groups_listing, uow_factory
) -> None:
    (known,) = zalo_users(1)
    existing = await make_member(
        uow_factory,
        world.ward.id,
        full_name="Trần Thị Bình",
        group_ids=[world.second_group.id],
        identities=[zalo(known)],
        roles=[Role.RESIDENT],
    )
    groups_listing.people["g-tdp5"] = [ChannelMember(known.external_user_id, "Bình Trần")]

    report = await sync.sync_group(world.group.id)

    assert counts(report) == (1, 1, 0, 0)
    assert len(await everyone(uow_factory)) == 1
    member = await reload(uow_factory, existing)
    assert sorted(member.group_ids) == sorted([world.group.id, world.second_group.id])
    assert member.full_name == "Trần Thị Bình"  # our record is kept, not Zalo's name


async def test_a_member_of_another_ward_joins_the_group_and_keeps_their_ward(
    sync, world, groups_listing, uow_factory
) -> None:
    (known,) = zalo_users(1)
    neighbour = await make_member(uow_factory, world.other_ward.id, identities=[zalo(known)])
    groups_listing.people["g-tdp5"] = [known]

    report = await sync.sync_group(world.group.id)

    assert counts(report) == (1, 1, 0, 0)
    member = await reload(uow_factory, neighbour)
    assert (member.ward_id, member.group_ids) == (world.other_ward.id, [world.group.id])
    async with uow_factory() as uow:
        assert await uow.roles.grants_of(member.id) == []  # no role handed out on the way


async def test_a_member_with_the_same_name_but_no_zalo_id_is_not_merged(
    sync, world, groups_listing, uow_factory
) -> None:
    (person,) = zalo_users(1)
    namesake = await make_member(
        uow_factory,
        world.ward.id,
        full_name=person.display_name or "",
        group_ids=[world.group.id],
    )
    groups_listing.people["g-tdp5"] = [person]

    report = await sync.sync_group(world.group.id)

    assert counts(report) == (1, 0, 1, 0)
    members = await in_group(uow_factory, world.group.id)
    assert len(members) == 2 and {m.full_name for m in members} == {person.display_name}
    untouched = await reload(uow_factory, namesake)
    assert untouched.identities == [] and untouched.group_ids == [world.group.id]


async def test_a_removed_member_listed_again_is_neither_readded_nor_duplicated(
    sync, world, groups_listing, uow_factory
) -> None:
    (person,) = zalo_users(1)
    gone = await make_member(uow_factory, world.ward.id, identities=[zalo(person)], removed=True)
    groups_listing.people["g-tdp5"] = [person]

    report = await sync.sync_group(world.group.id)

    assert counts(report) == (1, 0, 0, 0)
    member = await reload(uow_factory, gone)
    assert member.removed and member.group_ids == []
    assert await in_group(uow_factory, world.group.id) == []


async def test_a_person_listed_twice_is_counted_and_created_once(
    sync, world, groups_listing, uow_factory
) -> None:
    people = zalo_users(4)
    groups_listing.people["g-tdp5"] = [*people, people[0], people[3]]  # pages shifted

    report = await sync.sync_group(world.group.id)

    assert counts(report) == (4, 0, 4, 0)
    assert len(await everyone(uow_factory)) == 4


# -- leaving -------------------------------------------------------------------------------


async def test_members_no_longer_listed_leave_the_group_only(
    sync, world, groups_listing, uow_factory
) -> None:
    stays, leaves = zalo_users(2)
    await make_member(
        uow_factory, world.ward.id, group_ids=[world.group.id], identities=[zalo(stays)]
    )
    leaver = await make_member(
        uow_factory,
        world.ward.id,
        group_ids=[world.group.id, world.second_group.id],
        identities=[zalo(leaves)],
        roles=[Role.RESIDENT],
    )
    officer = await make_member(
        uow_factory, world.ward.id, group_ids=[world.group.id], roles=[Role.OFFICER]
    )
    household = await make_member(uow_factory, world.ward.id, group_ids=[world.group.id])
    groups_listing.people["g-tdp5"] = [stays]

    report = await sync.sync_group(world.group.id)

    assert counts(report) == (1, 0, 0, 1)
    member = await reload(uow_factory, leaver)
    assert not member.removed and member.group_ids == [world.second_group.id]
    assert member.identities == [zalo(leaves)]
    async with uow_factory() as uow:
        assert await uow.roles.grants_of(member.id) == [RoleGrant(world.ward.id, Role.RESIDENT)]
    for kept in (officer, household):
        assert (await reload(uow_factory, kept)).group_ids == [world.group.id]
    assert len(await in_group(uow_factory, world.group.id)) == 3


async def test_an_empty_listing_removes_nobody_but_a_shrunken_one_does(
    sync, world, groups_listing, uow_factory
) -> None:
    people = zalo_users(5)
    groups_listing.people["g-tdp5"] = people
    await sync.sync_group(world.group.id)
    groups_listing.people["g-tdp5"] = []

    report = await sync.sync_group(world.group.id)

    # "Nobody is in the group" is likelier a platform fault than five people leaving at once.
    assert counts(report) == (0, 0, 0, 0) and report.complete
    assert len(await in_group(uow_factory, world.group.id)) == 5

    groups_listing.people["g-tdp5"] = people[:1]
    report = await sync.sync_group(world.group.id)
    assert counts(report) == (1, 0, 0, 4)
    assert len(await in_group(uow_factory, world.group.id)) == 1
    assert len(await everyone(uow_factory)) == 5  # nobody deleted


async def test_a_member_with_a_second_zalo_id_still_listed_stays(
    sync, world, groups_listing, uow_factory
) -> None:
    old_id, new_id_ = zalo_users(2)
    await make_member(
        uow_factory,
        world.ward.id,
        group_ids=[world.group.id],
        identities=[zalo(old_id), zalo(new_id_)],
    )
    groups_listing.people["g-tdp5"] = [new_id_]

    report = await sync.sync_group(world.group.id)

    assert counts(report) == (1, 0, 0, 0)
    assert len(await in_group(uow_factory, world.group.id)) == 1


# -- runs, batches, failures ---------------------------------------------------------------


async def test_running_again_changes_nothing(sync, world, groups_listing, uow_factory) -> None:
    people = zalo_users(7)
    groups_listing.people["g-tdp5"] = people
    first = await sync.sync_group(world.group.id)

    second = await sync.sync_group(world.group.id)

    assert counts(first) == (7, 0, 7, 0)
    assert counts(second) == (7, 0, 0, 0)
    assert len(await everyone(uow_factory)) == 7


async def test_a_large_listing_is_stored_in_batches(
    uow_factory, clock, publisher, world, groups_listing
) -> None:
    commits: list[int] = []

    class Counting:
        def __call__(self):
            uow = uow_factory()
            commit = uow.commit

            async def counted() -> None:
                await commit()
                commits.append(1)

            uow.commit = counted  # type: ignore[method-assign]
            return uow

    sync = MembershipSync(
        Counting(), clock, publisher, {ChannelKind.ZALO_GROUP: groups_listing}, batch=4
    )
    groups_listing.people["g-tdp5"] = zalo_users(10)

    report = await sync.sync_group(world.group.id)

    assert counts(report) == (10, 0, 10, 0)
    assert len(commits) == 3  # 4 + 4 + 2, one unit of work each


async def test_a_platform_error_keeps_what_was_listed_but_removes_nobody(
    sync, world, groups_listing, uow_factory
) -> None:
    (old,) = zalo_users(1)
    await make_member(
        uow_factory, world.ward.id, group_ids=[world.group.id], identities=[zalo(old)]
    )
    groups_listing.people["g-tdp5"] = zalo_users(5)
    groups_listing.failures["g-tdp5"] = (
        4,
        ChannelError("HTTP 503: Zalo API", retryable=True, code="503"),
    )

    report = await sync.sync_group(world.group.id)

    assert counts(report) == (4, 0, 4, 0)
    assert not report.complete and report.error == "503: HTTP 503: Zalo API"
    assert len(await in_group(uow_factory, world.group.id)) == 5  # the 4 listed + old, kept
    assert groups_listing.closed == ["g-tdp5"]


async def test_a_truncated_listing_links_what_it_read_but_removes_nobody(
    sync, world, followers_listing, uow_factory
) -> None:
    (earlier,) = zalo_users(1)
    await make_member(
        uow_factory, world.ward.id, group_ids=[world.oa.id], identities=[zalo(earlier)]
    )
    followers_listing.people[world.oa.external_id] = zalo_users(3, named=False)
    followers_listing.failures[world.oa.external_id] = (3, MembershipTruncated("cap reached"))

    report = await sync.sync_group(world.oa.id)

    assert counts(report) == (3, 0, 3, 0)
    assert not report.complete and report.ok and report.skipped is None
    assert len(await in_group(uow_factory, world.oa.id)) == 4


async def test_a_failing_group_does_not_stop_the_others(
    sync, world, groups_listing, followers_listing, uow_factory
) -> None:
    groups_listing.people["g-tdp5"] = zalo_users(2)
    groups_listing.failures["g-tdp5"] = (
        0,
        ChannelError("Zalo error -237: Group is disabled", retryable=False, code="zalo:-237"),
    )
    groups_listing.people["g-tdp6"] = zalo_users(3)
    followers_listing.people[world.oa.external_id] = zalo_users(4, named=False)

    reports = {r.group_id: r for r in await sync.sync_all()}

    assert set(reports) == {world.group.id, world.second_group.id, world.oa.id}
    failed = reports[world.group.id]
    assert counts(failed) == (0, 0, 0, 0) and failed.error and "-237" in failed.error
    assert counts(reports[world.second_group.id]) == (3, 0, 3, 0)
    assert counts(reports[world.oa.id]) == (4, 0, 4, 0)
    assert all(reports[g].ok for g in (world.second_group.id, world.oa.id))


async def test_group_sizes_are_the_real_numbers_afterwards(
    sync, world, groups_listing, followers_listing, uow_factory
) -> None:
    shared = zalo_users(2)
    groups_listing.people["g-tdp5"] = [*shared, *zalo_users(3)]
    groups_listing.people["g-tdp6"] = [*shared, *zalo_users(1)]
    followers_listing.people[world.oa.external_id] = [*shared, *zalo_users(6, named=False)]
    await make_member(uow_factory, world.ward.id, group_ids=[world.group.id], roles=[Role.OFFICER])

    await sync.sync_all()

    async with uow_factory() as uow:
        sizes = await uow.groups.member_counts([world.group.id, world.second_group.id, world.oa.id])
    assert sizes == [5 + 1, 3, 8]  # the officer added by hand counts in TDP 5
    assert len(await everyone(uow_factory)) == 2 + 3 + 1 + 6 + 1  # households, not listings


async def test_only_active_listable_groups_with_an_account_are_synced(
    sync, world, groups_listing, followers_listing, uow_factory
) -> None:
    await make_group(uow_factory, world.ward.id, external_id="g-no-account")
    await make_group(
        uow_factory,
        world.ward.id,
        external_id="g-archived",
        credentials_ref="zalo:tm",
        archived=True,
    )
    await make_group(
        uow_factory,
        world.ward.id,
        channel=ChannelKind.FACEBOOK_PAGE,
        external_id="fb-page",
        credentials_ref="fb:tm",
    )

    reports = await sync.sync_all()

    assert {r.group_id for r in reports} == {world.group.id, world.second_group.id, world.oa.id}
    assert sorted(groups_listing.asked) == ["g-tdp5", "g-tdp6"]
    assert followers_listing.asked == [world.oa.external_id]


async def test_a_group_whose_account_has_no_credentials_is_skipped(
    sync, world, groups_listing, uow_factory
) -> None:
    (old,) = zalo_users(1)
    await make_member(
        uow_factory, world.ward.id, group_ids=[world.group.id], identities=[zalo(old)]
    )
    groups_listing.failures["g-tdp5"] = (
        0,
        ChannelError(
            "no credentials configured for 'zalo:tm'", retryable=False, code="credentials"
        ),
    )

    report = await sync.sync_group(world.group.id)

    assert report.skipped == "no credentials configured for 'zalo:tm'"
    assert report.ok and not report.complete and counts(report) == (0, 0, 0, 0)
    assert len(await in_group(uow_factory, world.group.id)) == 1


async def test_groups_that_cannot_be_listed_are_skipped_without_asking(
    sync, world, groups_listing, uow_factory
) -> None:
    archived = await make_group(
        uow_factory, world.ward.id, credentials_ref="zalo:tm", archived=True
    )
    page = await make_group(
        uow_factory, world.ward.id, channel=ChannelKind.FACEBOOK_PAGE, credentials_ref="fb:tm"
    )
    no_account = await make_group(uow_factory, world.ward.id)

    reports = [await sync.sync_group(g.id) for g in (archived, page, no_account)]

    assert [r.skipped for r in reports] == [
        "the group is archived",
        "no member listing for facebook_page",
        "the group has no channel account",
    ]
    assert groups_listing.asked == []


async def test_syncing_an_unknown_group_is_not_found(sync, db) -> None:
    with pytest.raises(DomainError) as missing:
        await sync.sync_group(GroupId(new_id()))
    assert missing.value.code is ErrorCode.NOT_FOUND


async def test_a_bulk_lookup_by_zalo_ids(uow_factory, world) -> None:
    a, b, c = zalo_users(3)
    first = await make_member(uow_factory, world.ward.id, identities=[zalo(a), zalo(b)])
    gone = await make_member(uow_factory, world.ward.id, identities=[zalo(c)], removed=True)
    await make_member(
        uow_factory,
        world.ward.id,
        identities=[ChannelIdentity(Platform.MESSENGER, "9999")],
    )

    async with uow_factory() as uow:
        found = await uow.members.by_channel_ids(
            Platform.ZALO, [a.external_user_id, b.external_user_id, c.external_user_id, "9999"]
        )
        nothing = await uow.members.by_channel_ids(Platform.ZALO, [])

    assert {k: m.id for k, m in found.items()} == {
        a.external_user_id: first.id,
        b.external_user_id: first.id,
        c.external_user_id: gone.id,
    }
    assert found[c.external_user_id].removed
    assert found[a.external_user_id].identities == [zalo(a), zalo(b)]
    assert nothing == {}


# -- wiring --------------------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read GANDAN_* variables; the developer's shell must not leak into these tests."""
    for name in list(os.environ):
        if name.startswith("GANDAN_") and name != "GANDAN_TEST_PG":
            monkeypatch.delenv(name)


async def test_the_container_syncs_zalo_groups_through_the_zalo_api(
    clean_env, database_url: str, db, clock, tmp_path: Path
) -> None:
    fake = FakeZalo()
    rows = fake.add_group_members("gmf-tdp5", 60)
    followers = fake.add_followers(3)
    access, refresh = fake.issue_tokens()
    secrets = {"app_id": fake.app_id, "secret_key": fake.secret_key}
    credentials = {"zalo:tm": {**secrets, "access_token": access, "refresh_token": refresh}}
    with serve_app(fake.app) as server:
        container = bootstrap(
            Settings(database_url=database_url, var_dir=tmp_path / "var"),
            engine=db,
            clock=clock,
            endpoints=Endpoints(zalo_api=server.base_url, zalo_oauth=server.base_url),
            channel_credentials=credentials,
        )
        ward = await make_ward(container.uow)
        group = await make_group(
            container.uow, ward.id, external_id="gmf-tdp5", credentials_ref="zalo:tm"
        )
        oa = await make_group(
            container.uow,
            ward.id,
            channel=ChannelKind.ZALO_OA,
            external_id=fake.oa_id,
            credentials_ref="zalo:tm",
        )
        unconfigured = await make_group(
            container.uow, ward.id, external_id="gmf-other", credentials_ref="zalo:elsewhere"
        )
        fake.expire_tokens()  # the stored token is refreshed once, on the first listing
        try:
            reports = {r.group_id: r for r in await container.membership.sync_all()}
        finally:
            await container.aclose()

    assert counts(reports[group.id]) == (60, 0, 60, 0)
    assert counts(reports[oa.id]) == (3, 0, 3, 0)
    assert reports[unconfigured.id].skipped == "no credentials configured for 'zalo:elsewhere'"
    assert fake.refresh_count == 1
    members = await in_group(container.uow, group.id)
    assert {m.identities[0].external_id for m in members} == {r["user_id"] for r in rows}
    assert {m.full_name for m in members} == {r["name"] for r in rows}
    followed = await in_group(container.uow, oa.id)
    assert {m.identities[0].external_id for m in followed} == set(followers)


def test_the_sync_members_command_prints_what_it_did(
    clean_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api.cli, "configure_logging", lambda *a, **k: None)  # keep pytest's
    url = f"sqlite+aiosqlite:///{tmp_path / 'gandan.db'}"
    env = {"GANDAN_DATABASE_URL": url, "GANDAN_VAR_DIR": str(tmp_path / "var")}
    runner = CliRunner()
    assert runner.invoke(api.cli.main, ["migrate"], env=env, catch_exceptions=False).exit_code == 0

    async def arrange() -> Group:
        engine = create_engine(url)
        try:
            factory = SqlUnitOfWorkFactory(session_factory(engine))
            ward = await make_ward(factory)
            return await make_group(factory, ward.id, name="TDP 7", credentials_ref="zalo:none")
        finally:
            await engine.dispose()

    group = asyncio.run(arrange())

    quiet = runner.invoke(api.cli.main, ["sync-members"], env=env, catch_exceptions=False)
    verbose = runner.invoke(api.cli.main, ["sync-members", "-v"], env=env, catch_exceptions=False)

    assert quiet.exit_code == verbose.exit_code == 0
    assert quiet.output.splitlines() == [
        "0 groups synced, 0 failed, 1 skipped (-v lists them with the reason)"
    ]
    assert verbose.output.splitlines() == [
        f"TDP 7 (zalo_group, {group.id}): skipped, no credentials configured for 'zalo:none'",
        "0 groups synced, 0 failed, 1 skipped",
    ]


async def test_the_worker_syncs_members_at_a_quarter_of_the_reach_rate(
    clean_env, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(api.worker.time, "monotonic", lambda: now[0])
    calls: list[tuple[str, float]] = []

    class Deliveries:
        async def run_once(self, batch: int) -> int:
            now[0] += 10.0  # each iteration: ten seconds later
            return 1

        async def refresh_reach(self) -> None:
            calls.append(("reach", now[0]))

    class Membership:
        async def sync_all(self) -> list[SyncReport]:
            calls.append(("members", now[0]))
            if len([c for c in calls if c[0] == "members"]) == 2:
                worker.stop()
            return []

    class Idle:
        """The worker's other jobs, with nothing to do."""

        async def run_once(self, batch: int) -> int:
            return 0

        async def purge(self, older_than: object) -> int:
            return 0

        async def escalate_overdue(self) -> list:
            return []

    settings = Settings(reach_interval_seconds=60)
    container: Any = type(
        "Container",
        (),
        {
            "settings": settings,
            "deliveries": Deliveries(),
            "membership": Membership(),
            "inbound": Idle(),
            "partners": Idle(),
            "tips": Idle(),
            "inquiries": Idle(),
        },
    )()
    worker = api.worker.DeliveryWorker(container)

    await asyncio.wait_for(worker.run(), timeout=5)

    assert [t for kind, t in calls if kind == "members"] == [1240.0, 1480.0]
    assert [t for kind, t in calls if kind == "reach"] == [
        1060.0,
        1120.0,
        1180.0,
        1240.0,
        1300.0,
        1360.0,
        1420.0,
        1480.0,
    ]
