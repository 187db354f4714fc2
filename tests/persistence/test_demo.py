"""The Hoàng Mai demo district: real scale, deterministic, idempotent and resumable.

Loading 40,920 households takes a few seconds, so the database tests share one load per backend
(the module-scoped `loaded` fixture). It empties the database before loading and after the last
test, the same way the `db` fixture does, so tests elsewhere still start from an empty database.
Tests that change the data put it back to the complete district before they end.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
import re
import unicodedata
from collections import Counter
from collections.abc import AsyncIterator

import phonenumbers
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.demo import DEMO_ADMIN_PHONE, DemoSummary, demo_accounts, load_demo_district, names
from adapters.demo.district import DISTRICT_CODE, WARDS, build_plan
from adapters.persistence.tables import (
    GroupMembershipRow,
    GroupRow,
    MemberIdentityRow,
    MemberRow,
    RoleGrantRow,
    WardRow,
    metadata,
)
from domain.phone import normalise_phone
from domain.text import fold

ward_t = WardRow.__table__
group_t = GroupRow.__table__
member_t = MemberRow.__table__
membership_t = GroupMembershipRow.__table__
identity_t = MemberIdentityRow.__table__
grant_t = RoleGrantRow.__table__

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
E164_VN = re.compile(r"^\+84\d{9}$")
NINETEEN_DIGITS = re.compile(r"^[1-9]\d{18}$")
TAN_MAI = "HM-TANMAI"


def is_nfc(text: str) -> bool:
    return unicodedata.is_normalized("NFC", text)


async def empty(engine: AsyncEngine) -> None:
    """What the `db` fixture does after each test (conftest.truncate_all)."""
    tables = [t.name for t in metadata.sorted_tables]
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} CASCADE"))
        else:
            for name in reversed(tables):
                await conn.execute(sa.text(f"DELETE FROM {name}"))


async def rows(engine: AsyncEngine, query: sa.Executable) -> list[sa.Row]:
    async with engine.connect() as conn:
        return list((await conn.execute(query)).all())


async def scalar(engine: AsyncEngine, query: sa.Executable) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(query)).scalar_one()


async def snapshot(engine: AsyncEngine) -> dict[str, object]:
    """Row counts of every table and a digest of their contents, to compare two states."""
    shot: dict[str, object] = {}
    for table in (ward_t, group_t, member_t, membership_t, identity_t, grant_t):
        # Raw values (no UUID objects) keep this quick; timestamps are left out.
        columns = [
            sa.type_coerce(c, sa.String) if isinstance(c.type, sa.Uuid) else c
            for c in table.c
            if c.name not in ("created_at", "archived_at", "removed_at")
        ]
        found = await rows(engine, sa.select(*columns).order_by(*table.primary_key.columns))
        shot[table.name] = len(found)
        digest = hashlib.sha256(repr([tuple(r) for r in found]).encode())
        shot[f"{table.name}_digest"] = digest.hexdigest()
    return shot


async def units(engine: AsyncEngine) -> dict[str, object]:
    return dict(await rows(engine, sa.select(ward_t.c.code, ward_t.c.id)))


async def members_per_unit(engine: AsyncEngine) -> dict[str, int]:
    query = (
        sa.select(ward_t.c.code, sa.func.count())
        .join(member_t, member_t.c.ward_id == ward_t.c.id)
        .group_by(ward_t.c.code)
    )
    return dict(await rows(engine, query))


class Progress:
    def __init__(self, stop_after: int | None = None) -> None:
        self.calls: list[tuple[int, int]] = []
        self.stop_after = stop_after

    def __call__(self, done: int, total: int) -> None:
        self.calls.append((done, total))
        if self.stop_after is not None and done >= self.stop_after:
            raise Interrupted

    def check(self) -> None:
        done = [d for d, _ in self.calls]
        assert done == sorted(done)
        assert len({t for _, t in self.calls}) == 1
        assert self.calls[-1][0] == self.calls[-1][1]


class Interrupted(Exception):
    pass


@pytest.fixture(scope="module")
async def loaded(engine: AsyncEngine) -> AsyncIterator[tuple[AsyncEngine, DemoSummary]]:
    await empty(engine)
    progress = Progress()
    summary = await load_demo_district(engine, progress=progress)
    progress.check()
    assert len(progress.calls) > 100  # drawn per chunk, not only at the end
    yield engine, summary
    await empty(engine)


# --- pure generation ----------------------------------------------------------------------------


def test_names_are_deterministic_nfc_and_vietnamese() -> None:
    first = [names.full_name(random.Random(7)) for _ in range(3)]
    assert first == [names.full_name(random.Random(7)) for _ in range(3)]

    rng = random.Random(2019)
    drawn = [names.full_name(rng) for _ in range(20_000)]
    assert all(is_nfc(n) and 3 <= len(n.split()) <= 4 for n in drawn)
    families = Counter(n.split()[0] for n in drawn)
    assert set(families) <= set(names.FAMILY_NAMES.values)
    assert 0.34 < families["Nguyễn"] / len(drawn) < 0.43
    assert families.most_common(4)[0][0] == "Nguyễn"
    assert {"Trần", "Lê", "Phạm"} <= {name for name, _ in families.most_common(5)}
    middles = Counter(n.split()[1] for n in drawn)
    assert {"Văn", "Thị"} <= {name for name, _ in middles.most_common(3)}


def test_mobile_numbers_are_valid_e164_and_outside_the_reserved_range() -> None:
    rng = random.Random(3)
    for _ in range(3_000):
        phone = names.mobile_number(rng)
        assert E164_VN.match(phone)
        assert not phone[3:].startswith(names.RESERVED_NATIONAL_PREFIX)
        number = phonenumbers.parse(phone)
        assert phonenumbers.is_valid_number(number)
        assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE


def test_addresses_sizes_and_ids() -> None:
    rng = random.Random(5)
    streets = ("phố Tân Mai", "phố Trương Định")
    addresses = [names.address(rng, streets) for _ in range(1_000)]
    assert all(a.startswith("Số ") and a.endswith(streets) and is_nfc(a) for a in addresses)
    assert any(", ngõ " in a for a in addresses)
    flats = [names.address(rng, streets, ("khu đô thị Linh Đàm",)) for _ in range(200)]
    assert any(a.startswith("Căn hộ ") and a.endswith("khu đô thị Linh Đàm") for a in flats)
    sizes = Counter(names.household_size(rng) for _ in range(5_000))
    assert set(sizes) == set(range(1, 8))
    assert all(NINETEEN_DIGITS.match(names.zalo_id(rng)) for _ in range(1_000))
    assert all(len(names.youtube_channel_id(rng)) == 24 for _ in range(10))


def test_the_plan_is_the_same_every_time() -> None:
    first, second = build_plan(), build_plan()
    assert first == second
    households = [h for w in first.wards for h in w.households]
    assert len(households) == 40_920
    assert len({h.id for h in households}) == len(households)


def test_demo_accounts_are_stable_and_callable() -> None:
    accounts = demo_accounts()
    assert accounts == demo_accounts()
    assert accounts[0] == ("admin", "HM", accounts[0].full_name, DEMO_ADMIN_PHONE)
    assert len(accounts) == 1 + 2 * len(WARDS)
    assert Counter(a.role for a in accounts) == {"admin": 1, "commander": 14, "officer": 14}
    phones = [a.phone for a in accounts]
    assert len(set(phones)) == len(phones)
    assert all(
        normalise_phone(p) == p and p[3:].startswith(names.RESERVED_NATIONAL_PREFIX) for p in phones
    )
    assert all(is_nfc(a.full_name) for a in accounts)


# --- the load -------------------------------------------------------------------------------------


async def test_loads_hoang_mai_at_real_scale(loaded: tuple[AsyncEngine, DemoSummary]) -> None:
    engine, summary = loaded
    assert summary == DemoSummary(
        wards=14,
        groups=530,
        members=40_920,
        officers=summary.officers,
        commanders=summary.commanders,
        skipped=False,
    )
    assert 14 * 3 <= summary.officers <= 14 * 5
    assert 14 <= summary.commanders <= 14 * 2

    all_units = await rows(
        engine, sa.select(ward_t.c.id, ward_t.c.code, ward_t.c.name, ward_t.c.parent_id)
    )
    assert len(all_units) == 15
    by_code = {u.code: u for u in all_units}
    district = by_code[DISTRICT_CODE]
    assert district.name == "Công an quận Hoàng Mai" and district.parent_id is None
    for spec in WARDS:
        unit = by_code[spec.code]
        assert unit.parent_id == district.id
        assert unit.name == f"Công an phường {spec.name}"
    assert all(CODE.match(code) and len(code) <= 32 and code.isascii() for code in by_code)
    assert by_code[TAN_MAI].name == "Công an phường Tân Mai"

    assert await scalar(engine, sa.select(sa.func.count()).select_from(group_t)) == 530
    channels = dict(
        await rows(
            engine, sa.select(group_t.c.channel, sa.func.count()).group_by(group_t.c.channel)
        )
    )
    assert channels == {
        "zalo_group": 487,
        "zalo_oa": 14,
        "facebook_page": 14,
        "portal": 14,
        "youtube_channel": 1,
    }
    youtube = await rows(
        engine, sa.select(group_t.c.ward_id).where(group_t.c.channel == "youtube_channel")
    )
    assert youtube[0].ward_id == district.id

    residents = sa.select(sa.func.count()).select_from(grant_t).where(grant_t.c.role == "resident")
    assert await scalar(engine, residents) == 40_920
    households = sa.select(sa.func.count()).where(member_t.c.household_size.is_not(None))
    assert await scalar(engine, households) == 40_920

    tan_mai = by_code[TAN_MAI].id
    assert (
        await scalar(engine, sa.select(sa.func.count()).where(group_t.c.ward_id == tan_mai)) == 63
    )
    tan_mai_households = sa.select(sa.func.count()).where(
        member_t.c.ward_id == tan_mai, member_t.c.household_size.is_not(None)
    )
    assert await scalar(engine, tan_mai_households) == 3_173


async def test_every_phone_is_a_valid_unique_vietnamese_mobile(
    loaded: tuple[AsyncEngine, DemoSummary],
) -> None:
    engine, summary = loaded
    phones = [r.phone for r in await rows(engine, sa.select(member_t.c.phone))]
    assert len(phones) == summary.members + summary.officers + summary.commanders + 1
    assert None not in phones
    assert len(set(phones)) == len(phones)
    for phone in phones:
        assert E164_VN.match(phone), phone
        number = phonenumbers.parse(phone)
        assert phonenumbers.is_valid_number(number), phone
        assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == phone
    assert DEMO_ADMIN_PHONE in phones
    assert {a.phone for a in demo_accounts()} <= set(phones)


async def test_all_text_is_nfc_and_folded(loaded: tuple[AsyncEngine, DemoSummary]) -> None:
    engine, _ = loaded
    people = await rows(
        engine, sa.select(member_t.c.full_name, member_t.c.name_folded, member_t.c.address)
    )
    for person in people:
        assert is_nfc(person.full_name) and person.name_folded == fold(person.full_name)
        assert person.address is None or is_nfc(person.address)
    assert sum(p.full_name.startswith("Nguyễn ") for p in people) / len(people) > 0.3
    for table in (group_t, ward_t):
        for row in await rows(engine, sa.select(table.c.name, table.c.name_folded)):
            assert is_nfc(row.name) and row.name_folded == fold(row.name)
    zalo_groups = await rows(
        engine,
        sa.select(group_t.c.name, group_t.c.external_id).where(group_t.c.channel == "zalo_group"),
    )
    assert all(NINETEEN_DIGITS.match(g.external_id) for g in zalo_groups)
    assert "Nhóm Zalo tổ dân phố số 1 – phường Tân Mai" in {g.name for g in zalo_groups}


async def test_every_household_is_in_one_zalo_group_of_its_ward(
    loaded: tuple[AsyncEngine, DemoSummary],
) -> None:
    engine, _ = loaded
    households = sa.select(member_t.c.id, member_t.c.ward_id, member_t.c.household_size).where(
        member_t.c.household_size.is_not(None)
    )
    in_groups = Counter(
        r.member_id
        for r in await rows(
            engine,
            sa.select(membership_t.c.member_id)
            .join(group_t, group_t.c.id == membership_t.c.group_id)
            .join(member_t, member_t.c.id == membership_t.c.member_id)
            .where(
                group_t.c.channel == "zalo_group",
                group_t.c.ward_id == member_t.c.ward_id,
                member_t.c.household_size.is_not(None),
            ),
        )
    )
    all_households = await rows(engine, households)
    assert all(1 <= h.household_size <= 7 for h in all_households)
    assert all(in_groups[h.id] == 1 for h in all_households)
    memberships = (
        sa.select(sa.func.count())
        .select_from(membership_t.join(member_t))
        .where(member_t.c.household_size.is_not(None))
    )
    assert await scalar(engine, memberships) == len(all_households)

    identities = await rows(engine, sa.select(identity_t.c.platform, identity_t.c.external_id))
    assert {i.platform for i in identities} == {"zalo"}
    assert all(NINETEEN_DIGITS.match(i.external_id) for i in identities)
    linked = (
        sa.select(sa.func.count())
        .select_from(identity_t.join(member_t))
        .where(member_t.c.household_size.is_not(None))
    )
    assert 0.5 * 40_920 < await scalar(engine, linked) < 40_920


async def test_staff_and_role_grants(loaded: tuple[AsyncEngine, DemoSummary]) -> None:
    engine, summary = loaded
    codes = {v: k for k, v in (await units(engine)).items()}
    grants = await rows(
        engine,
        sa.select(
            grant_t.c.ward_id, grant_t.c.role, member_t.c.phone, member_t.c.ward_id.label("home")
        ).join(member_t, member_t.c.id == grant_t.c.member_id),
    )
    admins = [g for g in grants if g.role == "admin"]
    assert [(codes[g.ward_id], g.phone) for g in admins] == [(DISTRICT_CODE, DEMO_ADMIN_PHONE)]
    assert all(g.ward_id == g.home for g in grants)  # every grant is in the member's own unit

    per_ward = Counter((codes[g.ward_id], g.role) for g in grants)
    for spec in WARDS:
        assert 1 <= per_ward[spec.code, "commander"] <= 2
        assert 3 <= per_ward[spec.code, "officer"] <= 5
    assert per_ward[TAN_MAI, "resident"] == 3_173
    assert sum(n for (_, role), n in per_ward.items() if role == "officer") == summary.officers
    assert sum(n for (_, role), n in per_ward.items() if role == "commander") == summary.commanders

    held = {(codes[g.ward_id], g.role, g.phone) for g in grants}
    for account in demo_accounts():
        assert (account.ward_code, account.role, account.phone) in held

    # Every Zalo group is run by exactly one officer of its ward, who is a member of it.
    officers_in_groups = await rows(
        engine,
        sa.select(group_t.c.id, sa.func.count())
        .select_from(
            group_t.outerjoin(membership_t, membership_t.c.group_id == group_t.c.id).outerjoin(
                grant_t,
                sa.and_(
                    grant_t.c.member_id == membership_t.c.member_id,
                    grant_t.c.ward_id == group_t.c.ward_id,
                    grant_t.c.role == "officer",
                ),
            )
        )
        .where(group_t.c.channel == "zalo_group", grant_t.c.role.is_not(None))
        .group_by(group_t.c.id),
    )
    assert len(officers_in_groups) == 487
    assert {n for _, n in officers_in_groups} == {1}


async def test_a_second_run_is_skipped_and_changes_nothing(
    loaded: tuple[AsyncEngine, DemoSummary],
) -> None:
    engine, first = loaded
    before = await snapshot(engine)
    progress = Progress()
    again = await load_demo_district(engine, progress=progress)
    assert again == dataclasses.replace(first, skipped=True)
    progress.check()
    assert len(progress.calls) == 1
    assert await snapshot(engine) == before


async def test_a_lost_ward_is_restored(loaded: tuple[AsyncEngine, DemoSummary]) -> None:
    engine, _ = loaded
    before = await snapshot(engine)
    ids = await units(engine)
    tan_mai, giap_bat = ids[TAN_MAI], ids["HM-GIAPBAT"]
    members = sa.select(member_t.c.id).where(member_t.c.ward_id == tan_mai)
    async with engine.begin() as conn:
        await conn.execute(sa.delete(grant_t).where(grant_t.c.member_id.in_(members)))
        await conn.execute(sa.delete(identity_t).where(identity_t.c.member_id.in_(members)))
        await conn.execute(sa.delete(membership_t).where(membership_t.c.member_id.in_(members)))
        await conn.execute(sa.delete(member_t).where(member_t.c.ward_id == tan_mai))
        # and, in another ward, only the Zalo identities
        giap_bat_members = sa.select(member_t.c.id).where(member_t.c.ward_id == giap_bat)
        await conn.execute(
            sa.delete(identity_t).where(identity_t.c.member_id.in_(giap_bat_members))
        )
    assert await snapshot(engine) != before

    progress = Progress()
    summary = await load_demo_district(engine, progress=progress)
    assert not summary.skipped
    progress.check()
    assert await snapshot(engine) == before
    assert (await load_demo_district(engine)).skipped


async def test_an_interrupted_load_is_completed_by_the_next_run(
    loaded: tuple[AsyncEngine, DemoSummary],
) -> None:
    engine, _ = loaded
    before = await snapshot(engine)
    complete = await members_per_unit(engine)
    await empty(engine)

    with pytest.raises(Interrupted):
        await load_demo_district(engine, progress=Progress(stop_after=60_000))
    assert len(await units(engine)) == 15
    partial = await members_per_unit(engine)
    # A unit is committed whole or not at all: the one in progress was rolled back.
    assert all(partial.get(code, 0) in (0, count) for code, count in complete.items())
    assert 0 < sum(partial.values()) < sum(complete.values())

    progress = Progress()
    summary = await load_demo_district(engine, progress=progress)
    assert not summary.skipped
    progress.check()
    assert progress.calls[0][0] > 0  # the wards already complete count as done at once
    assert await snapshot(engine) == before
