"""The demo district: Hoàng Mai (Hà Nội) at the scale of the 2019 field report.

One parent unit (Công an quận Hoàng Mai, code HM), its 14 wards, 530 channel groups, 40,920
households, and the officers, commanders and the district admin who serve them.

The load is
- deterministic: every name, phone and id comes from a seeded `random.Random` or from uuid5 of a
  fixed namespace and a stable name, so every run produces exactly the same rows;
- idempotent and resumable: rows go in with INSERT … ON CONFLICT DO NOTHING, one transaction per
  ward, and a unit whose row counts already match the plan is skipped; a complete district is
  recognised with a handful of COUNT queries and nothing is written at all;
- fast: SQLAlchemy Core executemany in batches of at most `CHUNK` rows.
"""

from __future__ import annotations

import dataclasses
import random
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.demo import names
from adapters.persistence.tables import (
    GroupMembershipRow,
    GroupRow,
    MemberIdentityRow,
    MemberRow,
    RoleGrantRow,
    WardRow,
)
from domain.access import Role
from domain.channels import ChannelKind, Platform
from domain.text import fold, nfc

SEED = 20190701
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://gandan.vn/demo/hoang-mai")
CREATED_AT = datetime(2019, 7, 1, 1, 0, tzinfo=UTC)
CHUNK = 1000

DISTRICT_CODE = "HM"
DISTRICT_NAME = "Công an quận Hoàng Mai"
DEMO_ADMIN_PHONE = "+84900000001"

# Share of households whose representative has linked a Zalo account (exact per ward).
ZALO_LINKED_PERCENT = 70

ward_t = WardRow.__table__
group_t = GroupRow.__table__
member_t = MemberRow.__table__
membership_t = GroupMembershipRow.__table__
identity_t = MemberIdentityRow.__table__
grant_t = RoleGrantRow.__table__


@dataclass(frozen=True, slots=True)
class WardSpec:
    """One ward of the district: its households, Zalo groups, streets and housing estates."""

    name: str
    households: int
    zalo_groups: int
    streets: tuple[str, ...]
    estates: tuple[str, ...] = ()

    @property
    def code(self) -> str:
        return f"{DISTRICT_CODE}-" + fold(self.name).replace(" ", "").upper()

    @property
    def unit_name(self) -> str:
        return nfc(f"Công an phường {self.name}")

    @property
    def officers(self) -> int:
        return 3 if self.households < 2000 else 4 if self.households < 3500 else 5

    @property
    def commanders(self) -> int:
        return 2 if self.households >= 3000 else 1

    @property
    def zalo_linked(self) -> int:
        return self.households * ZALO_LINKED_PERCENT // 100


WARDS: tuple[WardSpec, ...] = (
    WardSpec("Hoàng Văn Thụ", 2891, 35, ("phố Hoàng Mai", "đường Tam Trinh", "phố Đền Lừ")),
    WardSpec("Tương Mai", 1982, 25, ("phố Tương Mai", "phố Trương Định", "phố Nguyễn Đức Cảnh")),
    WardSpec("Tân Mai", 3173, 60, ("phố Tân Mai", "phố Trương Định")),
    WardSpec("Giáp Bát", 1404, 17, ("phố Kim Đồng", "đường Giải Phóng")),
    WardSpec("Mai Động", 3304, 36, ("phố Mai Động", "phố Lĩnh Nam", "đường Tam Trinh")),
    WardSpec("Vĩnh Hưng", 3882, 42, ("phố Vĩnh Hưng", "phố Lĩnh Nam")),
    WardSpec("Thanh Trì", 1982, 22, ("phố Thanh Đàm", "phố Thanh Lân", "phố Lĩnh Nam")),
    WardSpec("Lĩnh Nam", 2478, 30, ("phố Lĩnh Nam", "phố Nam Dư", "phố Thúy Lĩnh")),
    WardSpec("Trần Phú", 1239, 15, ("phố Nam Dư", "phố Ngũ Nhạc")),
    WardSpec("Yên Sở", 2147, 23, ("đường Yên Sở", "đường Tam Trinh")),
    WardSpec(
        "Hoàng Liệt",
        6443,
        68,
        ("đường Linh Đường", "phố Bằng Liệt", "đường Ngọc Hồi", "đường Nguyễn Hữu Thọ"),
        ("khu đô thị Linh Đàm", "khu đô thị Tây Nam Linh Đàm"),
    ),
    WardSpec("Thịnh Liệt", 3139, 36, ("phố Bùi Huy Bích", "đường Giải Phóng", "phố Trương Định")),
    WardSpec(
        "Đại Kim",
        3304,
        38,
        ("đường Kim Giang", "phố Nguyễn Cảnh Dị", "phố Đại Từ"),
        ("khu đô thị Đại Kim",),
    ),
    WardSpec(
        "Định Công",
        3552,
        40,
        ("phố Định Công", "phố Định Công Thượng", "phố Trần Điền"),
        ("khu đô thị Định Công",),
    ),
)

# Besides its Zalo groups every ward has a Zalo OA, a Facebook page and a portal section; the
# district itself runs one YouTube channel.
WARD_CHANNELS = (ChannelKind.ZALO_OA, ChannelKind.FACEBOOK_PAGE, ChannelKind.PORTAL)
TOTAL_HOUSEHOLDS = sum(w.households for w in WARDS)
TOTAL_GROUPS = sum(w.zalo_groups + len(WARD_CHANNELS) for w in WARDS) + 1
assert len(WARDS) == 14 and TOTAL_HOUSEHOLDS == 40_920 and TOTAL_GROUPS == 530


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What the demo district holds after a load (not what this run wrote).

    `wards` counts the 14 wards (the parent unit comes on top), `members` the households
    (residents), `officers` and `commanders` the staff of all wards. `skipped` is true when the
    district was already complete and nothing was written.
    """

    wards: int
    groups: int
    members: int
    officers: int
    commanders: int
    skipped: bool


class DemoAccount(NamedTuple):
    """A well-known account to sign in with: (role, ward code, full name, phone)."""

    role: str
    ward_code: str
    full_name: str
    phone: str


class Counts(NamedTuple):
    """Rows that belong to one unit: by the member's, the group's or the grant's ward."""

    members: int = 0
    groups: int = 0
    memberships: int = 0
    identities: int = 0
    grants: int = 0


# ---------------------------------------------------------------------------------------------
# The plan: everything the load writes, generated deterministically.


@dataclass(frozen=True, slots=True)
class Person:
    key: str
    full_name: str
    phone: str
    zalo_id: str | None
    address: str | None = None
    household_size: int | None = None
    id: uuid.UUID = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", _id("member", self.key))


@dataclass(frozen=True, slots=True)
class Channel:
    key: str
    kind: ChannelKind
    external_id: str
    name: str
    description: str
    credentials_ref: str
    id: uuid.UUID = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", _id("group", self.key))


@dataclass(frozen=True, slots=True)
class Staff:
    admin: Person
    commanders: tuple[tuple[Person, ...], ...]  # per ward, in WARDS order
    officers: tuple[tuple[Person, ...], ...]


@dataclass(frozen=True, slots=True)
class WardPlan:
    spec: WardSpec
    zalo_groups: tuple[Channel, ...]
    channels: tuple[Channel, ...]  # zalo_oa, facebook_page, portal
    commanders: tuple[Person, ...]
    officers: tuple[Person, ...]
    households: tuple[Person, ...]
    household_group: tuple[int, ...]  # index into zalo_groups, one per household


@dataclass(frozen=True, slots=True)
class DistrictPlan:
    admin: Person
    youtube: Channel
    wards: tuple[WardPlan, ...]


def _id(kind: str, key: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{kind}/{key}")


def ward_id(code: str) -> uuid.UUID:
    """The id the demo gives the unit with this code (unless the unit existed before)."""
    return _id("ward", code)


def _staff_phone(ward_no: int, role: Role, n: int) -> str:
    """+84 9000 WW R NN: ward number, 1 commander / 2 officer, sequence. The admin is ward 00."""
    return f"+849000{ward_no:02d}{1 if role is Role.COMMANDER else 2}{n:02d}"


@cache
def _staff() -> Staff:
    """The staff come from their own generator so `demo_accounts()` needs no full plan."""
    rng = random.Random(f"{SEED}/staff")
    zalo_ids: set[str] = set()

    def zalo_id() -> str:
        return names.unique(names.zalo_id, rng, zalo_ids)

    admin = Person(f"{DISTRICT_CODE}/admin", names.full_name(rng), DEMO_ADMIN_PHONE, zalo_id())
    commanders, officers = [], []
    for no, spec in enumerate(WARDS, start=1):
        commanders.append(
            tuple(
                Person(
                    f"{spec.code}/commander/{n}",
                    names.full_name(rng),
                    _staff_phone(no, Role.COMMANDER, n),
                    zalo_id(),
                )
                for n in range(1, spec.commanders + 1)
            )
        )
        officers.append(
            tuple(
                Person(
                    f"{spec.code}/officer/{n}",
                    names.full_name(rng),
                    _staff_phone(no, Role.OFFICER, n),
                    zalo_id(),
                )
                for n in range(1, spec.officers + 1)
            )
        )
    return Staff(admin, tuple(commanders), tuple(officers))


def demo_accounts() -> list[DemoAccount]:
    """The district admin, then the first commander and the first officer of every ward."""
    staff = _staff()
    accounts = [
        DemoAccount(Role.ADMIN.value, DISTRICT_CODE, staff.admin.full_name, staff.admin.phone)
    ]
    for spec, commanders, officers in zip(WARDS, staff.commanders, staff.officers, strict=True):
        accounts.append(
            DemoAccount(
                Role.COMMANDER.value, spec.code, commanders[0].full_name, commanders[0].phone
            )
        )
        accounts.append(
            DemoAccount(Role.OFFICER.value, spec.code, officers[0].full_name, officers[0].phone)
        )
    return accounts


def _slug(name: str) -> str:
    return fold(name).replace(" ", "-")


def _group_sizes(rng: random.Random, households: int, groups: int) -> list[int]:
    """Split households over groups, unevenly as real residential groups are (each ≥ 1)."""
    weights = [rng.uniform(0.6, 1.4) for _ in range(groups)]
    total = sum(weights)
    spare = households - groups
    sizes = [1 + int(spare * w / total) for w in weights]
    by_remainder = sorted(
        range(groups), key=lambda g: spare * weights[g] / total - (sizes[g] - 1), reverse=True
    )
    for g in by_remainder[: households - sum(sizes)]:
        sizes[g] += 1
    return sizes


def build_plan() -> DistrictPlan:
    """The whole district, the same on every call. Takes a few hundred milliseconds."""
    rng = random.Random(SEED)
    staff = _staff()
    # Zalo ids are unique per platform: user ids and group/OA ids are kept apart by channel, but
    # one set for all of them costs nothing and rules out any surprise.
    zalo_ids = {p.zalo_id for p in _all_staff(staff) if p.zalo_id}
    phones = {p.phone for p in _all_staff(staff)}
    youtube = Channel(
        f"{DISTRICT_CODE}/youtube_channel",
        ChannelKind.YOUTUBE_CHANNEL,
        names.youtube_channel_id(rng),
        nfc(f"Kênh YouTube {DISTRICT_NAME}"),
        nfc(f"Video tuyên truyền, cảnh báo thủ đoạn lừa đảo của {DISTRICT_NAME}."),
        f"demo/youtube/{DISTRICT_CODE.lower()}",
    )
    plans = []
    for spec, commanders, officers in zip(WARDS, staff.commanders, staff.officers, strict=True):
        code, slug = spec.code, _slug(spec.name)
        zalo_groups = tuple(
            Channel(
                f"{code}/zalo_group/{n}",
                ChannelKind.ZALO_GROUP,
                names.unique(names.zalo_id, rng, zalo_ids),
                nfc(f"Nhóm Zalo tổ dân phố số {n} – phường {spec.name}"),
                nfc(
                    f"Nhóm Zalo của các hộ gia đình tổ dân phố số {n}, phường {spec.name}, "
                    f"do {spec.unit_name} quản lý."
                ),
                f"demo/zalo/{code.lower()}",
            )
            for n in range(1, spec.zalo_groups + 1)
        )
        channels = (
            Channel(
                f"{code}/zalo_oa",
                ChannelKind.ZALO_OA,
                names.unique(names.zalo_id, rng, zalo_ids),
                spec.unit_name,
                nfc(
                    f"Zalo Official Account của {spec.unit_name}: tin tức, thủ tục, tiếp nhận tin báo."
                ),
                f"demo/zalo/{code.lower()}",
            ),
            Channel(
                f"{code}/facebook_page",
                ChannelKind.FACEBOOK_PAGE,
                names.facebook_page_id(rng),
                nfc(f"{spec.unit_name} – Hoàng Mai"),
                nfc(f"Trang Facebook chính thức của {spec.unit_name}, quận Hoàng Mai, Hà Nội."),
                f"demo/facebook/{code.lower()}",
            ),
            Channel(
                f"{code}/portal",
                ChannelKind.PORTAL,
                f"hoang-mai/{slug}",
                nfc(f"Cổng thông tin – {spec.unit_name}"),
                nfc(f"Chuyên mục của {spec.unit_name} trên cổng thông tin điện tử."),
                "demo/portal/ha-noi",
            ),
        )
        linked = set(rng.sample(range(1, spec.households + 1), spec.zalo_linked))
        households = tuple(
            Person(
                f"{code}/household/{n}",
                names.full_name(rng),
                names.unique(names.mobile_number, rng, phones),
                names.unique(names.zalo_id, rng, zalo_ids) if n in linked else None,
                names.address(rng, spec.streets, spec.estates),
                names.household_size(rng),
            )
            for n in range(1, spec.households + 1)
        )
        sizes = _group_sizes(rng, spec.households, spec.zalo_groups)
        household_group = tuple(g for g, size in enumerate(sizes) for _ in range(size))
        plans.append(
            WardPlan(
                spec,
                zalo_groups,
                channels,
                commanders,
                officers,
                households,
                household_group,
            )
        )
    return DistrictPlan(staff.admin, youtube, tuple(plans))


def _all_staff(staff: Staff) -> Iterable[Person]:
    yield staff.admin
    for people in (*staff.commanders, *staff.officers):
        yield from people


def _officer_groups(plan: WardPlan) -> list[tuple[Person, range]]:
    """Each officer runs a contiguous block of the ward's Zalo groups; every group has one."""
    groups, officers = len(plan.zalo_groups), len(plan.officers)
    return [
        (officer, range(k * groups // officers, (k + 1) * groups // officers))
        for k, officer in enumerate(plan.officers)
    ]


def _expected(spec: WardSpec) -> Counts:
    staff = spec.officers + spec.commanders
    return Counts(
        members=spec.households + staff,
        groups=spec.zalo_groups + len(WARD_CHANNELS),
        memberships=spec.households + spec.zalo_groups + spec.commanders * len(WARD_CHANNELS),
        identities=spec.zalo_linked + staff,
        grants=spec.households + staff,
    )


DISTRICT_EXPECTED = Counts(members=1, groups=1, memberships=1, identities=1, grants=1)


# ---------------------------------------------------------------------------------------------
# Rows


def _member_row(person: Person, unit_id: uuid.UUID) -> dict[str, Any]:
    return {
        "id": person.id,
        "ward_id": unit_id,
        "full_name": person.full_name,
        "name_folded": fold(person.full_name),
        "phone": person.phone,
        "address": person.address,
        "household_size": person.household_size,
        "created_at": CREATED_AT,
        "removed_at": None,
    }


def _group_row(channel: Channel, unit_id: uuid.UUID) -> dict[str, Any]:
    return {
        "id": channel.id,
        "ward_id": unit_id,
        "channel": channel.kind.value,
        "external_id": channel.external_id,
        "name": channel.name,
        "name_folded": fold(channel.name),
        "description": channel.description,
        "credentials_ref": channel.credentials_ref,
        "created_at": CREATED_AT,
        "archived_at": None,
    }


def _identity_rows(people: Iterable[Person]) -> list[dict[str, Any]]:
    return [
        {"platform": Platform.ZALO.value, "external_id": p.zalo_id, "member_id": p.id}
        for p in people
        if p.zalo_id
    ]


def _district_rows(plan: DistrictPlan, unit_id: uuid.UUID) -> list[tuple[sa.Table, list[dict]]]:
    admin = plan.admin
    return [
        (group_t, [_group_row(plan.youtube, unit_id)]),
        (member_t, [_member_row(admin, unit_id)]),
        (membership_t, [{"group_id": plan.youtube.id, "member_id": admin.id}]),
        (identity_t, _identity_rows([admin])),
        (grant_t, [{"member_id": admin.id, "ward_id": unit_id, "role": Role.ADMIN.value}]),
    ]


def _ward_rows(plan: WardPlan, unit_id: uuid.UUID) -> list[tuple[sa.Table, list[dict]]]:
    staff = [*plan.commanders, *plan.officers]
    people = [*staff, *plan.households]
    memberships = [
        {"group_id": plan.zalo_groups[g].id, "member_id": h.id}
        for h, g in zip(plan.households, plan.household_group, strict=True)
    ]
    for officer, blocks in _officer_groups(plan):
        memberships += [
            {"group_id": plan.zalo_groups[g].id, "member_id": officer.id} for g in blocks
        ]
    memberships += [
        {"group_id": channel.id, "member_id": commander.id}
        for commander in plan.commanders
        for channel in plan.channels
    ]

    def grant(p: Person, role: Role) -> dict[str, Any]:
        return {"member_id": p.id, "ward_id": unit_id, "role": role.value}

    grants = [
        *(grant(p, Role.COMMANDER) for p in plan.commanders),
        *(grant(p, Role.OFFICER) for p in plan.officers),
        *(grant(p, Role.RESIDENT) for p in plan.households),
    ]
    return [
        (group_t, [_group_row(c, unit_id) for c in (*plan.zalo_groups, *plan.channels)]),
        (member_t, [_member_row(p, unit_id) for p in people]),
        (membership_t, memberships),
        (identity_t, _identity_rows(people)),
        (grant_t, grants),
    ]


# ---------------------------------------------------------------------------------------------
# The load


def _insert(engine: AsyncEngine, table: sa.Table) -> sa.Insert:
    dialect = engine.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise ValueError(f"The demo loader does not support {dialect!r} databases")


def _unit_rows() -> list[dict[str, Any]]:
    parent = ward_id(DISTRICT_CODE)
    rows = [
        {
            "id": parent,
            "code": DISTRICT_CODE,
            "name": DISTRICT_NAME,
            "name_folded": fold(DISTRICT_NAME),
            "parent_id": None,
            "created_at": CREATED_AT,
        }
    ]
    rows += [
        {
            "id": ward_id(spec.code),
            "code": spec.code,
            "name": spec.unit_name,
            "name_folded": fold(spec.unit_name),
            "parent_id": parent,
            "created_at": CREATED_AT,
        }
        for spec in WARDS
    ]
    return rows


async def _resolve_units(conn: AsyncConnection) -> dict[str, uuid.UUID]:
    """Unit ids by code: ours, or those of units with the same codes that existed before."""
    codes = [DISTRICT_CODE, *(spec.code for spec in WARDS)]
    rows = await conn.execute(sa.select(ward_t.c.code, ward_t.c.id).where(ward_t.c.code.in_(codes)))
    return {code: unit_id for code, unit_id in rows.all()}


async def _counts(conn: AsyncConnection, unit_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Counts]:
    """Per unit, how many rows of each kind it holds: five grouped COUNT queries."""
    g, m = group_t.alias("g"), member_t.alias("m")
    queries = {
        "members": sa.select(member_t.c.ward_id, sa.func.count())
        .where(member_t.c.ward_id.in_(unit_ids))
        .group_by(member_t.c.ward_id),
        "groups": sa.select(group_t.c.ward_id, sa.func.count())
        .where(group_t.c.ward_id.in_(unit_ids))
        .group_by(group_t.c.ward_id),
        "memberships": sa.select(g.c.ward_id, sa.func.count())
        .select_from(membership_t.join(g, g.c.id == membership_t.c.group_id))
        .where(g.c.ward_id.in_(unit_ids))
        .group_by(g.c.ward_id),
        "identities": sa.select(m.c.ward_id, sa.func.count())
        .select_from(identity_t.join(m, m.c.id == identity_t.c.member_id))
        .where(m.c.ward_id.in_(unit_ids))
        .group_by(m.c.ward_id),
        "grants": sa.select(grant_t.c.ward_id, sa.func.count())
        .where(grant_t.c.ward_id.in_(unit_ids))
        .group_by(grant_t.c.ward_id),
    }
    found: dict[uuid.UUID, dict[str, int]] = {u: {} for u in unit_ids}
    for field, query in queries.items():
        for unit_id, count in (await conn.execute(query)).all():
            found[unit_id][field] = count
    return {unit_id: Counts(**fields) for unit_id, fields in found.items()}


def _summary(skipped: bool) -> DemoSummary:
    return DemoSummary(
        wards=len(WARDS),
        groups=TOTAL_GROUPS,
        members=TOTAL_HOUSEHOLDS,
        officers=sum(w.officers for w in WARDS),
        commanders=sum(w.commanders for w in WARDS),
        skipped=skipped,
    )


async def load_demo_district(
    engine: AsyncEngine, *, progress: Callable[[int, int], None] | None = None
) -> DemoSummary:
    """Load (or complete) the Hoàng Mai demo district; safe to run any number of times.

    `progress(done, total)` is called as rows are written; `total` is the number of rows of the
    whole district, and units found complete count as done at once.
    """
    report = progress or (lambda _done, _total: None)
    expected = {DISTRICT_CODE: DISTRICT_EXPECTED, **{w.code: _expected(w) for w in WARDS}}
    units = _unit_rows()
    # Counts is a tuple of row counts, so sum(counts) is all the rows a unit holds.
    total = len(units) + sum(sum(counts) for counts in expected.values())

    async with engine.begin() as conn:
        unit_ids = await _resolve_units(conn)
        if len(unit_ids) < len(units):
            await conn.execute(_insert(engine, ward_t), units)
            unit_ids = await _resolve_units(conn)
        held = await _counts(conn, list(unit_ids.values()))
    todo = [code for code, want in expected.items() if held[unit_ids[code]] != want]
    done = total - sum(sum(expected[code]) for code in todo)
    report(done, total)
    if not todo:
        return _summary(skipped=True)

    plan = build_plan()
    ward_plans = {ward_plan.spec.code: ward_plan for ward_plan in plan.wards}
    for code in todo:
        unit_id = unit_ids[code]
        parts = (
            _district_rows(plan, unit_id)
            if code == DISTRICT_CODE
            else _ward_rows(ward_plans[code], unit_id)
        )
        # One transaction per unit: an interruption loses at most the unit in progress.
        async with engine.begin() as conn:
            for table, rows in parts:
                statement = _insert(engine, table)
                for start in range(0, len(rows), CHUNK):
                    chunk = rows[start : start + CHUNK]
                    await conn.execute(statement, chunk)
                    done += len(chunk)
                    report(done, total)
    return _summary(skipped=False)
