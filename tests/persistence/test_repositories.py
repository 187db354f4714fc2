"""Repositories and the unit of work on the real database, SQLite and PostgreSQL alike."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from domain.access import Role, Scope
from domain.channels import ChannelKind, Platform
from domain.events import GroupArchived, GroupCreated, MemberCreated, WardCreated
from domain.group import Group
from domain.ids import MemberId, WardId, new_id
from domain.member import ChannelIdentity, Member, RoleGrant
from domain.ports import GroupFilter, MemberFilter, WardFilter
from domain.ward import Ward
from tests.builders import NOW, make_group, make_member, make_ward, unique_phone

ALL = Scope.all()
NOBODY = Scope()
ZALO_ID = "0123456789012345678"  # 19 digits with a leading zero: must stay a string


def only(*ward_ids: WardId) -> Scope:
    return Scope(frozenset(ward_ids))


# round trips


async def test_ward_round_trip(uow_factory: SqlUnitOfWorkFactory) -> None:
    parent = await make_ward(uow_factory, "Q-HM", "Quận Hoàng Mai")
    ward = Ward.create(code="P-TM", name="Phường Tân Mai", parent_id=parent.id, now=NOW)
    async with uow_factory() as uow:
        uow.wards.add(ward)
        await uow.commit()

    async with uow_factory() as uow:
        loaded = await uow.wards.get(ward.id, scope=ALL)
        by_code = await uow.wards.by_code("P-TM")
        missing = await uow.wards.by_code("P-XX")
    assert loaded == ward
    assert (loaded.code, loaded.name, loaded.parent_id) == ("P-TM", "Phường Tân Mai", parent.id)
    assert loaded.created_at == NOW
    assert loaded.created_at.utcoffset() == timedelta(0)
    assert by_code == ward
    assert missing is None


async def test_group_round_trip(uow_factory: SqlUnitOfWorkFactory) -> None:
    ward = await make_ward(uow_factory)
    group = Group.create(
        ward_id=ward.id,
        channel=ChannelKind.FACEBOOK_PAGE,
        external_id="page:1029384756",
        name="Trang Công an phường",
        description="Thông báo chính thức",
        credentials_ref="vault:fb/tan-mai",
        now=NOW,
    )
    archived = await make_group(uow_factory, ward.id, external_id="old", archived=True)
    async with uow_factory() as uow:
        uow.groups.add(group)
        await uow.commit()

    async with uow_factory() as uow:
        loaded = await uow.groups.get(group.id, scope=ALL)
        by_external = await uow.groups.by_external_id(ChannelKind.FACEBOOK_PAGE, "page:1029384756")
        other_channel = await uow.groups.by_external_id(ChannelKind.ZALO_OA, "page:1029384756")
        in_ward = await uow.groups.ids_in_ward(ward.id)
        loaded_archived = await uow.groups.get(archived.id, scope=ALL)
    assert loaded == group
    assert loaded.description == "Thông báo chính thức"
    assert loaded.credentials_ref == "vault:fb/tan-mai"
    assert loaded.archived_at is None
    assert by_external == group
    assert other_channel is None
    assert in_ward == {"page:1029384756": group.id}
    assert loaded_archived.archived_at == NOW


async def test_member_round_trip_with_groups_and_identities(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    ward = await make_ward(uow_factory)
    first = await make_group(uow_factory, ward.id)
    second = await make_group(uow_factory, ward.id)
    member = Member.create(
        ward_id=ward.id,
        full_name="Trần Thị Đào",
        phone="0912 345 678",
        address="Số 5 ngõ 12 Tân Mai",
        household_size=4,
        group_ids=[second.id, first.id],
        now=NOW,
    )
    member.link(ChannelIdentity(Platform.ZALO, ZALO_ID))
    member.link(ChannelIdentity(Platform.MESSENGER, "psid-77"))
    async with uow_factory() as uow:
        uow.members.add(member)
        await uow.commit()

    async with uow_factory() as uow:
        loaded = await uow.members.get(member.id, scope=ALL)
    assert loaded is not None
    assert (loaded.full_name, loaded.phone, loaded.address, loaded.household_size) == (
        "Trần Thị Đào",
        "+84912345678",
        "Số 5 ngõ 12 Tân Mai",
        4,
    )
    assert loaded.ward_id == ward.id
    assert loaded.created_at == NOW
    assert loaded.removed_at is None
    assert loaded.group_ids == sorted([first.id, second.id])
    assert set(loaded.identities) == {
        ChannelIdentity(Platform.ZALO, ZALO_ID),
        ChannelIdentity(Platform.MESSENGER, "psid-77"),
    }


async def test_aware_times_in_another_zone_keep_their_instant(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    hanoi = timezone(timedelta(hours=7))
    ward = await make_ward(uow_factory, now=datetime(2026, 11, 23, 15, 0, tzinfo=hanoi))
    async with uow_factory() as uow:
        loaded = await uow.wards.get(ward.id, scope=ALL)
    assert loaded.created_at == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    assert loaded.created_at.utcoffset() == timedelta(0)


async def test_decomposed_names_are_stored_composed(uow_factory: SqlUnitOfWorkFactory) -> None:
    decomposed = unicodedata.normalize("NFD", "Phường Tân Mai")
    assert decomposed != "Phường Tân Mai"
    ward = await make_ward(uow_factory, name=decomposed)
    member = await make_member(
        uow_factory, ward.id, full_name=unicodedata.normalize("NFD", "Nguyễn Thị Hằng")
    )
    async with uow_factory() as uow:
        stored_ward = await uow.session.scalar(
            sa.text("SELECT name FROM ward WHERE code = :code"), {"code": ward.code}
        )
        stored_member = await uow.session.scalar(
            sa.text("SELECT full_name FROM member WHERE phone = :phone"), {"phone": member.phone}
        )
        folded = await uow.session.scalar(
            sa.text("SELECT name_folded FROM ward WHERE code = :code"), {"code": ward.code}
        )
        loaded = await uow.wards.get(ward.id, scope=ALL)
    assert stored_ward == "Phường Tân Mai"
    assert unicodedata.is_normalized("NFC", stored_ward)
    assert stored_member == "Nguyễn Thị Hằng"
    assert folded == "phuong tan mai"
    assert loaded.name == "Phường Tân Mai"


# scoping


async def _one_of(kind: str, uow_factory: SqlUnitOfWorkFactory, ward: Ward) -> object:
    if kind == "wards":
        return ward
    if kind == "groups":
        return await make_group(uow_factory, ward.id)
    return await make_member(uow_factory, ward.id)


FILTERS = {"wards": WardFilter(), "groups": GroupFilter(), "members": MemberFilter()}


@pytest.mark.parametrize("kind", ["wards", "groups", "members"])
async def test_rows_outside_the_scope_are_absent(
    uow_factory: SqlUnitOfWorkFactory, kind: str
) -> None:
    ward = await make_ward(uow_factory)
    other = await make_ward(uow_factory)
    entity = await _one_of(kind, uow_factory, ward)
    async with uow_factory() as uow:
        repo = getattr(uow, kind)
        for scope in (only(other.id), NOBODY):
            assert await repo.get(entity.id, scope=scope) is None
            assert await repo.get(entity.id, scope=scope, for_update=True) is None
            assert await repo.get_many([entity.id, entity.id], scope=scope) == [None, None]
            page = await repo.page(FILTERS[kind], scope=scope, after=None, first=10)
            assert entity.id not in [e.id for e in page.items]
        for scope in (only(ward.id), ALL):
            assert await repo.get(entity.id, scope=scope) == entity
            assert await repo.get_many([entity.id], scope=scope) == [entity]
            page = await repo.page(FILTERS[kind], scope=scope, after=None, first=10)
            assert entity.id in [e.id for e in page.items]
        nobody = await repo.page(FILTERS[kind], scope=NOBODY, after=None, first=10)
        assert (nobody.items, nobody.total, nobody.has_next, nobody.end_cursor) == (
            [],
            0,
            False,
            None,
        )


async def test_get_many_keeps_key_order_and_fills_gaps(uow_factory: SqlUnitOfWorkFactory) -> None:
    ward = await make_ward(uow_factory)
    a = await make_group(uow_factory, ward.id)
    b = await make_group(uow_factory, ward.id)
    unknown = new_id()
    async with uow_factory() as uow:
        found = await uow.groups.get_many([b.id, unknown, a.id, b.id], scope=ALL)
    assert found == [b, None, a, b]


# pagination


async def test_page_walks_every_row_once_in_id_order(uow_factory: SqlUnitOfWorkFactory) -> None:
    ward = await make_ward(uow_factory)
    groups = [await make_group(uow_factory, ward.id) for _ in range(5)]
    expected = sorted(g.id for g in groups)

    seen, after, pages = [], None, []
    while True:
        async with uow_factory() as uow:
            page = await uow.groups.page(GroupFilter(), scope=ALL, after=after, first=2)
        pages.append(page)
        seen.extend(g.id for g in page.items)
        assert page.total == 5
        assert page.end_cursor == str(page.items[-1].id)
        if not page.has_next:
            break
        after = page.end_cursor
    assert [len(p.items) for p in pages] == [2, 2, 1]
    assert [p.has_next for p in pages] == [True, True, False]
    assert seen == expected


async def test_page_that_fits_exactly_has_no_next(uow_factory: SqlUnitOfWorkFactory) -> None:
    ward = await make_ward(uow_factory)
    members = [await make_member(uow_factory, ward.id) for _ in range(3)]
    async with uow_factory() as uow:
        page = await uow.members.page(MemberFilter(), scope=ALL, after=None, first=3)
        after_last = await uow.members.page(
            MemberFilter(), scope=ALL, after=page.end_cursor, first=3
        )
    assert [m.id for m in page.items] == sorted(m.id for m in members)
    assert (page.has_next, page.total) == (False, 3)
    assert (after_last.items, after_last.has_next, after_last.end_cursor, after_last.total) == (
        [],
        False,
        None,
        3,
    )


# filters


async def test_group_filters(uow_factory: SqlUnitOfWorkFactory) -> None:
    w1, w2, w3 = [await make_ward(uow_factory) for _ in range(3)]
    zalo = await make_group(uow_factory, w1.id, name="Tổ dân phố 3 Tân Mai")
    page = await make_group(uow_factory, w2.id, channel=ChannelKind.FACEBOOK_PAGE, name="Trang")
    old = await make_group(uow_factory, w1.id, name="Nhóm cũ", archived=True)
    other = await make_group(uow_factory, w3.id, channel=ChannelKind.PORTAL, name="Cổng")

    async def ids(filter: GroupFilter) -> set:
        async with uow_factory() as uow:
            result = await uow.groups.page(filter, scope=ALL, after=None, first=50)
        assert result.total == len(result.items)
        return {g.id for g in result.items}

    assert await ids(GroupFilter()) == {zalo.id, page.id, other.id}
    assert await ids(GroupFilter(ward_ids=(w1.id, w2.id))) == {zalo.id, page.id}
    assert await ids(GroupFilter(channels=(ChannelKind.FACEBOOK_PAGE,))) == {page.id}
    assert await ids(
        GroupFilter(channels=(ChannelKind.ZALO_GROUP, ChannelKind.PORTAL), include_archived=True)
    ) == {zalo.id, old.id, other.id}
    assert await ids(GroupFilter(ward_ids=(w1.id,), include_archived=True)) == {zalo.id, old.id}
    assert await ids(GroupFilter(text="tan mai")) == {zalo.id}
    assert await ids(GroupFilter(text="cu")) == set()
    assert await ids(GroupFilter(text="cu", include_archived=True)) == {old.id}


TAN_MAI = ["Phường Tân Mai"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("tan mai", TAN_MAI),
        ("TÂN MAI", TAN_MAI),
        ("Tân Mai", TAN_MAI),
        (unicodedata.normalize("NFD", "Tân Mai"), TAN_MAI),
        ("  tan   mai ", TAN_MAI),
        ("tân", ["Phường Tân Mai", "Phường Tân Định"]),
        ("MAI", ["Phường Tân Mai", "Phường Tương Mai", "Quận Hoàng Mai"]),
        ("tan may", []),
    ],
)
async def test_text_filter_ignores_case_and_diacritics(
    uow_factory: SqlUnitOfWorkFactory, query: str, expected: list[str]
) -> None:
    district = await make_ward(uow_factory, name="Quận Hoàng Mai")
    await make_ward(uow_factory, name="Phường Tân Mai", parent_id=district.id)
    await make_ward(uow_factory, name="Phường Tương Mai", parent_id=district.id)
    await make_ward(uow_factory, name="Phường Tân Định")
    async with uow_factory() as uow:
        page = await uow.wards.page(WardFilter(text=query), scope=ALL, after=None, first=10)
        under = await uow.wards.page(
            WardFilter(text=query, parent_id=district.id), scope=ALL, after=None, first=10
        )
    assert sorted(w.name for w in page.items) == expected
    assert page.total == len(expected)
    children = {"Phường Tân Mai", "Phường Tương Mai"}
    assert sorted(w.name for w in under.items) == [n for n in expected if n in children]


async def test_text_filter_folds_d_with_stroke(uow_factory: SqlUnitOfWorkFactory) -> None:
    ward = await make_ward(uow_factory)
    dao = await make_member(uow_factory, ward.id, full_name="Trần Thị Đào")
    await make_member(uow_factory, ward.id, full_name="Lê Văn Hùng")
    async with uow_factory() as uow:
        for query in ("dao", "ĐÀO", "thi đao"):
            page = await uow.members.page(MemberFilter(text=query), scope=ALL, after=None, first=10)
            assert [m.id for m in page.items] == [dao.id], query


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("0%", ["Khu 100% an toàn"]),
        ("%", ["Khu 100% an toàn"]),
        ("n_p", ["Tổ dân_phố"]),
        ("_", ["Tổ dân_phố"]),
        ("\\", []),
        ("an toan", ["Khu 100% an toàn", "Khu 1000 an toàn"]),
    ],
)
async def test_like_wildcards_in_text_are_literal(
    uow_factory: SqlUnitOfWorkFactory, query: str, expected: list[str]
) -> None:
    for name in ("Khu 100% an toàn", "Khu 1000 an toàn", "Tổ dân_phố", "Tổ dânXphố"):
        await make_ward(uow_factory, name=name)
    async with uow_factory() as uow:
        page = await uow.wards.page(WardFilter(text=query), scope=ALL, after=None, first=10)
    assert sorted(w.name for w in page.items) == expected
    assert page.total == len(expected)


async def test_member_filters(uow_factory: SqlUnitOfWorkFactory) -> None:
    ward = await make_ward(uow_factory)
    other_ward = await make_ward(uow_factory)
    g1 = await make_group(uow_factory, ward.id)
    g2 = await make_group(uow_factory, ward.id)
    officer = await make_member(uow_factory, ward.id, roles=[Role.OFFICER], group_ids=[g1.id])
    resident = await make_member(
        uow_factory, ward.id, roles=[Role.RESIDENT], group_ids=[g1.id, g2.id]
    )
    plain = await make_member(uow_factory, ward.id, phone="0987 654 321")
    elsewhere = await make_member(uow_factory, other_ward.id, roles=[Role.OFFICER])
    await make_member(uow_factory, ward.id, roles=[Role.OFFICER], removed=True)

    async def ids(filter: MemberFilter, scope: Scope = ALL) -> set[MemberId]:
        async with uow_factory() as uow:
            result = await uow.members.page(filter, scope=scope, after=None, first=50)
        assert result.total == len(result.items)
        return {m.id for m in result.items}

    assert await ids(MemberFilter()) == {officer.id, resident.id, plain.id, elsewhere.id}
    assert await ids(MemberFilter(ward_ids=(ward.id,))) == {officer.id, resident.id, plain.id}
    assert await ids(MemberFilter(roles=(Role.OFFICER,))) == {officer.id, elsewhere.id}
    assert await ids(MemberFilter(roles=(Role.OFFICER,)), only(ward.id)) == {officer.id}
    assert await ids(MemberFilter(roles=(Role.OFFICER, Role.RESIDENT)), only(ward.id)) == {
        officer.id,
        resident.id,
    }
    assert await ids(MemberFilter(roles=(Role.COMMANDER,))) == set()
    assert await ids(MemberFilter(group_ids=(g1.id,))) == {officer.id, resident.id}
    assert await ids(MemberFilter(group_ids=(g2.id,))) == {resident.id}
    assert await ids(MemberFilter(phone="+84987654321")) == {plain.id}
    assert await ids(MemberFilter(phone="+84987654321", ward_ids=(other_ward.id,))) == set()


# group membership queries


async def test_ids_by_group_respects_the_limit_per_group(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    ward = await make_ward(uow_factory)
    big = await make_group(uow_factory, ward.id)
    small = await make_group(uow_factory, ward.id)
    empty = await make_group(uow_factory, ward.id)
    in_big = [await make_member(uow_factory, ward.id, group_ids=[big.id]) for _ in range(3)]
    both = await make_member(uow_factory, ward.id, group_ids=[big.id, small.id])
    async with uow_factory() as uow:
        limited = await uow.members.ids_by_group([big.id, small.id, empty.id], limit=2)
        everyone = await uow.members.ids_by_group([small.id, big.id], limit=10)
        counts = await uow.groups.member_counts([big.id, empty.id, small.id, new_id()])
    big_ids = sorted([*(m.id for m in in_big), both.id])
    assert limited == [big_ids[:2], [both.id], []]
    assert everyone == [[both.id], big_ids]
    assert counts == [4, 0, 1, 0]


# the ward tree


async def test_descendants_and_ancestors_over_three_levels(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    city = await make_ward(uow_factory, name="Thành phố Hà Nội")
    district = await make_ward(uow_factory, name="Quận Hoàng Mai", parent_id=city.id)
    tan_mai = await make_ward(uow_factory, name="Phường Tân Mai", parent_id=district.id)
    tuong_mai = await make_ward(uow_factory, name="Phường Tương Mai", parent_id=district.id)
    elsewhere = await make_ward(uow_factory, name="Quận Ba Đình", parent_id=city.id)
    unrelated = await make_ward(uow_factory, name="Tỉnh Bắc Ninh")
    async with uow_factory() as uow:
        assert await uow.wards.descendants([city.id]) == {
            district.id,
            tan_mai.id,
            tuong_mai.id,
            elsewhere.id,
        }
        assert await uow.wards.descendants([district.id]) == {tan_mai.id, tuong_mai.id}
        assert await uow.wards.descendants([district.id, unrelated.id]) == {
            tan_mai.id,
            tuong_mai.id,
        }
        assert await uow.wards.descendants([tan_mai.id]) == set()
        assert await uow.wards.descendants([]) == set()
        assert await uow.wards.ancestors(tan_mai.id) == [district.id, city.id]
        assert await uow.wards.ancestors(district.id) == [city.id]
        assert await uow.wards.ancestors(city.id) == []


# lookups


async def test_by_phones_only_sees_active_members_of_the_ward(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    ward = await make_ward(uow_factory)
    other = await make_ward(uow_factory)
    a = await make_member(uow_factory, ward.id)
    b = await make_member(uow_factory, ward.id)
    foreign = await make_member(uow_factory, other.id)
    gone = await make_member(uow_factory, ward.id, removed=True)
    nobody = unique_phone()
    async with uow_factory() as uow:
        found = await uow.members.by_phones(
            ward.id, [a.phone, b.phone, foreign.phone, gone.phone, nobody]
        )
        single = await uow.members.by_phone(ward.id, a.phone)
        foreign_single = await uow.members.by_phone(ward.id, foreign.phone)
        empty = await uow.members.by_phones(ward.id, [])
    assert {phone: m.id for phone, m in found.items()} == {a.phone: a.id, b.phone: b.id}
    assert single == a
    assert foreign_single is None
    assert empty == {}


async def test_by_channel_id(uow_factory: SqlUnitOfWorkFactory) -> None:
    ward = await make_ward(uow_factory)
    member = await make_member(
        uow_factory, ward.id, identities=[ChannelIdentity(Platform.ZALO, ZALO_ID)]
    )
    await make_member(uow_factory, ward.id, identities=[ChannelIdentity(Platform.APP, "app-1")])
    async with uow_factory() as uow:
        found = await uow.members.by_channel_id(Platform.ZALO, ZALO_ID)
        wrong_platform = await uow.members.by_channel_id(Platform.MESSENGER, ZALO_ID)
        trimmed = await uow.members.by_channel_id(Platform.ZALO, ZALO_ID.lstrip("0"))
    assert found == member
    assert found.identities == [ChannelIdentity(Platform.ZALO, ZALO_ID)]
    assert wrong_platform is None
    assert trimmed is None


# roles


async def test_role_grants_and_revocations(uow_factory: SqlUnitOfWorkFactory) -> None:
    ward = await make_ward(uow_factory)
    other = await make_ward(uow_factory)
    ann = await make_member(uow_factory, ward.id)
    binh = await make_member(uow_factory, ward.id)
    officer_here = RoleGrant(ward.id, Role.OFFICER)

    async with uow_factory() as uow:
        assert await uow.roles.grant(ann.id, officer_here) is True
        assert await uow.roles.grant(ann.id, officer_here) is False  # still pending, same unit
        assert await uow.roles.grant(ann.id, RoleGrant(other.id, Role.RESIDENT)) is True
        assert await uow.roles.grant(binh.id, officer_here) is True
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.roles.grant(ann.id, officer_here) is False  # already stored
        grants = await uow.roles.grants_of_many([binh.id, ann.id, MemberId(new_id()), binh.id])
        holders = await uow.roles.holders(ward.id, Role.OFFICER)
        assert await uow.roles.holders(ward.id, Role.COMMANDER) == []
    assert grants[0] == [officer_here]
    assert set(grants[1]) == {officer_here, RoleGrant(other.id, Role.RESIDENT)}
    assert grants[2] == []
    assert grants[3] == [officer_here]
    assert sorted(holders) == sorted([ann.id, binh.id])

    async with uow_factory() as uow:
        assert await uow.roles.revoke(ann.id, officer_here) is True
        assert await uow.roles.revoke(ann.id, officer_here) is False
        assert await uow.roles.revoke(ann.id, RoleGrant(ward.id, Role.ADMIN)) is False
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.roles.holders(ward.id, Role.OFFICER) == [binh.id]
        assert await uow.roles.grants_of(ann.id) == [RoleGrant(other.id, Role.RESIDENT)]


async def test_revoking_a_pending_grant_stores_nothing(uow_factory: SqlUnitOfWorkFactory) -> None:
    ward = await make_ward(uow_factory)
    member = await make_member(uow_factory, ward.id)
    grant = RoleGrant(ward.id, Role.COMMANDER)
    async with uow_factory() as uow:
        assert await uow.roles.grant(member.id, grant) is True
        assert await uow.roles.grants_of(member.id) == [grant]
        assert await uow.roles.revoke(member.id, grant) is True
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.roles.grants_of(member.id) == []


# the unit of work


async def test_leaving_without_commit_stores_nothing(uow_factory: SqlUnitOfWorkFactory) -> None:
    ward = Ward.create(code="NO-COMMIT", name="Phường Tạm", parent_id=None, now=NOW)
    async with uow_factory() as uow:
        uow.wards.add(ward)
        await uow.wards.flush()  # even rows already sent to the database
    async with uow_factory() as uow:
        assert await uow.wards.get(ward.id, scope=ALL) is None
        assert await uow.wards.by_code("NO-COMMIT") is None


async def test_rollback_discards_pending_work(uow_factory: SqlUnitOfWorkFactory) -> None:
    existing = await make_ward(uow_factory)
    member = await make_member(uow_factory, existing.id)
    ward = Ward.create(code="ROLLED-BACK", name="Phường Tạm", parent_id=None, now=NOW)
    async with uow_factory() as uow:
        uow.wards.add(ward)
        await uow.roles.grant(member.id, RoleGrant(existing.id, Role.ADMIN))
        await uow.rollback()
        await uow.commit()
        assert uow.collect_events() == []
    async with uow_factory() as uow:
        assert await uow.wards.by_code("ROLLED-BACK") is None
        assert await uow.roles.grants_of(member.id) == []


async def test_commit_hands_over_each_event_once(uow_factory: SqlUnitOfWorkFactory) -> None:
    ward = Ward.create(code="EV-1", name="Phường Sự Kiện", parent_id=None, now=NOW)
    group = Group.create(
        ward_id=ward.id,
        channel=ChannelKind.ZALO_OA,
        external_id="oa-1",
        name="OA phường",
        now=NOW,
    )
    member = Member.create(
        ward_id=ward.id, full_name="Phạm Văn Bình", group_ids=[group.id], now=NOW
    )
    async with uow_factory() as uow:
        uow.members.add(member)  # added out of order: the unit writes parents first
        uow.groups.add(group)
        uow.wards.add(ward)
        assert uow.collect_events() == []  # nothing before commit
        await uow.commit()
        events = uow.collect_events()
        assert uow.collect_events() == []
        await uow.commit()  # a second commit neither re-inserts nor re-announces
        assert uow.collect_events() == []
    assert events == [
        WardCreated(ward.id),
        GroupCreated(group.id, ward.id),
        MemberCreated(member.id, ward.id),
    ]
    assert (ward.events, group.events, member.events) == ([], [], [])
    async with uow_factory() as uow:
        assert await uow.members.get(member.id, scope=ALL) == member


async def test_changes_to_entities_loaded_for_update_persist(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    district = await make_ward(uow_factory, name="Quận Hoàng Mai")
    ward = await make_ward(uow_factory, name="Phường Cũ")
    g1 = await make_group(uow_factory, ward.id, name="Nhóm 1")
    g2 = await make_group(uow_factory, ward.id, name="Nhóm 2")
    member = await make_member(uow_factory, ward.id, group_ids=[g1.id])
    later = NOW + timedelta(days=1)

    async with uow_factory() as uow:
        w = await uow.wards.get(ward.id, scope=ALL, for_update=True)
        assert await uow.wards.get(ward.id, scope=ALL) is w  # one object per row in a unit
        w.rename("Phường Mới")
        w.move_under(district.id, [])
        g = await uow.groups.get(g1.id, scope=ALL, for_update=True)
        g.update(name="Nhóm Một", description="Khu tập thể")
        g.archive(later)
        m = await uow.members.get(member.id, scope=ALL, for_update=True)
        m.update(full_name="Ngô Thị Lan", phone="0912 000 111", group_ids=[g2.id])
        m.link(ChannelIdentity(Platform.ZALO, ZALO_ID))
        await uow.commit()
        events = uow.collect_events()
    assert events == [GroupArchived(g1.id, ward.id)]

    async with uow_factory() as uow:
        w = await uow.wards.get(ward.id, scope=ALL)
        g = await uow.groups.get(g1.id, scope=ALL)
        m = await uow.members.get(member.id, scope=ALL)
        counts = await uow.groups.member_counts([g1.id, g2.id])
        renamed = await uow.wards.page(WardFilter(text="moi"), scope=ALL, after=None, first=5)
    assert (w.name, w.parent_id) == ("Phường Mới", district.id)
    assert [x.id for x in renamed.items] == [ward.id]
    assert (g.name, g.description, g.archived_at) == ("Nhóm Một", "Khu tập thể", later)
    assert (m.full_name, m.phone, m.group_ids) == ("Ngô Thị Lan", "+84912000111", [g2.id])
    assert m.identities == [ChannelIdentity(Platform.ZALO, ZALO_ID)]
    assert counts == [0, 1]


async def test_removing_a_member_persists_and_hides_it_from_pages(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    ward = await make_ward(uow_factory)
    group = await make_group(uow_factory, ward.id)
    member = await make_member(uow_factory, ward.id, group_ids=[group.id])
    async with uow_factory() as uow:
        m = await uow.members.get(member.id, scope=ALL, for_update=True)
        m.remove(NOW)
        await uow.commit()
    async with uow_factory() as uow:
        loaded = await uow.members.get(member.id, scope=ALL)
        page = await uow.members.page(MemberFilter(), scope=ALL, after=None, first=5)
        counts = await uow.groups.member_counts([group.id])
        by_phone = await uow.members.by_phone(ward.id, member.phone)
    assert loaded.removed_at == NOW
    assert loaded.group_ids == []
    assert (page.items, page.total) == ([], 0)
    assert counts == [0]
    assert by_phone is None
