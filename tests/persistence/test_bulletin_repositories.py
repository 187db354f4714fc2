"""Bulletin and delivery repositories on the real database, SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from adapters.persistence.tables import BulletinTransitionRow
from adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from domain.access import Actor, Role, Scope
from domain.bulletin import Attachment, Bulletin, BulletinKind, BulletinStatus, MediaType
from domain.channels import ChannelKind
from domain.delivery import Delivery, DeliveryStatus
from domain.group import Group
from domain.ids import MemberId, WardId
from domain.ports import BulletinFilter, Reach
from tests.builders import NOW, make_group, make_member, make_ward

ALL = Scope.all()
LEASE = timedelta(minutes=10)
transition_t = BulletinTransitionRow.__table__

VIDEO = Attachment("b" * 64, MediaType.VIDEO, "canh-bao.mp4", 600_000, "video/mp4")
IMAGE = Attachment("c" * 64, MediaType.IMAGE, "anh-doi-tuong.jpg", 120_000, "image/jpeg")
FORM = Attachment("d" * 64, MediaType.FILE, "mau-don.pdf", 80_000, "application/pdf")


def only(*ward_ids: WardId) -> Scope:
    return Scope(frozenset(ward_ids))


async def commander_in(uow_factory: SqlUnitOfWorkFactory, ward_id: WardId) -> Actor:
    member = await make_member(uow_factory, ward_id, roles=[Role.COMMANDER])
    return Actor(member.id, {ward_id: Role.COMMANDER})


async def author_in(uow_factory: SqlUnitOfWorkFactory, ward_id: WardId) -> MemberId:
    return (await make_member(uow_factory, ward_id, roles=[Role.OFFICER])).id


def new_bulletin(ward_id: WardId, author_id: MemberId, **overrides) -> Bulletin:
    fields = dict(
        ward_id=ward_id,
        author_id=author_id,
        kind=BulletinKind.SCAM_WARNING,
        title="Cảnh báo lừa đảo qua điện thoại",
        body="Không cung cấp mã OTP cho bất kỳ ai.",
        now=NOW,
        target_ward_ids=[ward_id],
    )
    return Bulletin.draft(**(fields | overrides))


async def save(uow_factory: SqlUnitOfWorkFactory, *entities: Bulletin | Delivery) -> None:
    async with uow_factory() as uow:
        for entity in entities:
            if isinstance(entity, Bulletin):
                uow.bulletins.add(entity)
            else:
                uow.deliveries.add(entity)
        await uow.commit()


async def transitions(uow_factory: SqlUnitOfWorkFactory, bulletin: Bulletin) -> list[tuple]:
    async with uow_factory() as uow:
        rows = await uow.session.execute(
            sa.select(transition_t.c.seq, transition_t.c.to_status, transition_t.c.comment)
            .where(transition_t.c.bulletin_id == bulletin.id)
            .order_by(transition_t.c.seq)
        )
        return [tuple(row) for row in rows]


# bulletins -------------------------------------------------------------------------------------


async def test_bulletin_round_trip(uow_factory: SqlUnitOfWorkFactory) -> None:
    district = await make_ward(uow_factory, name="Quận Hoàng Mai")
    ward = await make_ward(uow_factory, parent_id=district.id)
    groups = sorted([(await make_group(uow_factory, ward.id, channel=k)).id for k in ChannelKind])
    author = await author_in(uow_factory, ward.id)
    bulletin = new_bulletin(
        ward.id,
        author,
        body="Dòng một.\nDòng hai: gọi 113.\n\nĐoạn mới.",
        attachments=[VIDEO, IMAGE, FORM],
        target_group_ids=groups,
        target_ward_ids=[ward.id],
        scheduled_at=NOW + timedelta(days=1),
    )
    bulletin.submit(actor_id=author, now=NOW + timedelta(minutes=1), comment="Nhờ anh duyệt")
    bulletin.approve(await commander_in(uow_factory, ward.id), NOW + timedelta(minutes=2))
    await save(uow_factory, bulletin)

    async with uow_factory() as uow:
        loaded = await uow.bulletins.get(bulletin.id, scope=ALL)
        many = await uow.bulletins.get_many([bulletin.id, district.id], scope=ALL)
    assert loaded == bulletin
    assert loaded.status is BulletinStatus.SCHEDULED
    assert loaded.body == "Dòng một.\nDòng hai: gọi 113.\n\nĐoạn mới."  # line breaks survive
    assert loaded.attachments == (VIDEO, IMAGE, FORM)  # in their order
    assert loaded.target_group_ids == tuple(groups)
    assert loaded.scheduled_at == NOW + timedelta(days=1)
    assert loaded.scheduled_at.utcoffset() == timedelta(0)
    assert [(s.from_status, s.to_status, s.comment) for s in loaded.history] == [
        ("draft", "submitted", "Nhờ anh duyệt"),
        ("submitted", "scheduled", None),
    ]
    assert many == [bulletin, None]


async def test_bulletin_outside_the_scope_is_absent(uow_factory: SqlUnitOfWorkFactory) -> None:
    ward, other = await make_ward(uow_factory), await make_ward(uow_factory)
    bulletin = new_bulletin(ward.id, await author_in(uow_factory, ward.id))
    await save(uow_factory, bulletin)
    async with uow_factory() as uow:
        assert await uow.bulletins.get(bulletin.id, scope=only(other.id)) is None
        assert await uow.bulletins.get_many([bulletin.id], scope=only(other.id)) == [None]
        assert await uow.bulletins.get(bulletin.id, scope=only(ward.id)) == bulletin


async def test_editing_rewrites_attachments_and_targets(uow_factory: SqlUnitOfWorkFactory) -> None:
    ward = await make_ward(uow_factory)
    group_a = await make_group(uow_factory, ward.id)
    group_b = await make_group(uow_factory, ward.id)
    author = await author_in(uow_factory, ward.id)
    bulletin = new_bulletin(ward.id, author, attachments=[VIDEO], target_group_ids=[group_a.id])
    await save(uow_factory, bulletin)

    async with uow_factory() as uow:
        loaded = await uow.bulletins.get(bulletin.id, scope=ALL, for_update=True)
        loaded.edit(
            actor_id=author,
            now=NOW + timedelta(hours=1),
            title="Truy tìm đối tượng",
            attachments=[IMAGE, FORM],
            target_group_ids=[group_b.id],
            target_ward_ids=[],
        )
        await uow.commit()

    async with uow_factory() as uow:
        again = await uow.bulletins.get(bulletin.id, scope=ALL)
    assert again.title == "Truy tìm đối tượng"
    assert again.attachments == (IMAGE, FORM)
    assert (again.target_group_ids, again.target_ward_ids) == ((group_b.id,), ())
    assert again.updated_at == NOW + timedelta(hours=1)
    assert again.created_at == NOW


async def test_history_rows_are_appended_never_rewritten(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    ward = await make_ward(uow_factory)
    author = await author_in(uow_factory, ward.id)
    bulletin = new_bulletin(ward.id, author)
    bulletin.submit(actor_id=author, now=NOW)
    await save(uow_factory, bulletin)
    commander = await commander_in(uow_factory, ward.id)
    async with uow_factory() as uow:
        # Mark the stored first step: if a save rewrote history, the mark would be gone.
        await uow.session.execute(
            sa.update(transition_t)
            .where(transition_t.c.bulletin_id == bulletin.id, transition_t.c.seq == 0)
            .values(comment="đánh dấu")
        )
        await uow.session.commit()

    for step, act in enumerate(
        [
            lambda b: b.reject(commander, NOW, "Thiếu số điện thoại"),
            lambda b: b.submit(actor_id=author, now=NOW),
        ]
    ):
        async with uow_factory() as uow:
            loaded = await uow.bulletins.get(bulletin.id, scope=ALL, for_update=True)
            assert len(loaded.history) == step + 1
            act(loaded)
            await uow.commit()

    assert await transitions(uow_factory, bulletin) == [
        (0, "submitted", "đánh dấu"),
        (1, "rejected", "Thiếu số điện thoại"),
        (2, "submitted", None),
    ]


async def test_saving_twice_in_one_unit_of_work_writes_each_step_once(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    ward = await make_ward(uow_factory)
    author = await author_in(uow_factory, ward.id)
    bulletin = new_bulletin(ward.id, author)
    async with uow_factory() as uow:
        uow.bulletins.add(bulletin)
        await uow.commit()
        bulletin.submit(actor_id=author, now=NOW)
        await uow.commit()
        bulletin.cancel(actor_id=author, now=NOW, comment="Trùng bản tin khác")
        await uow.commit()
    assert [row[1] for row in await transitions(uow_factory, bulletin)] == [
        "submitted",
        "cancelled",
    ]


@pytest.fixture
async def catalogue(uow_factory: SqlUnitOfWorkFactory) -> dict[str, Bulletin]:
    """Five bulletins of two wards, created a day apart, in various kinds and states."""
    ward, other = await make_ward(uow_factory), await make_ward(uow_factory)
    author = await author_in(uow_factory, ward.id)
    other_author = await author_in(uow_factory, other.id)
    specs = {
        "scam": (ward.id, author, BulletinKind.SCAM_WARNING, "Cảnh báo lừa đảo qua Zalo"),
        "wanted": (ward.id, author, BulletinKind.WANTED_NOTICE, "Truy nã đối tượng Nguyễn Văn Đức"),
        "missing": (ward.id, author, BulletinKind.MISSING_PERSON, "Tìm người mất tích"),
        "guide": (ward.id, author, BulletinKind.PROCEDURE_GUIDE, "Hướng dẫn đăng ký tạm trú"),
        "foreign": (other.id, other_author, BulletinKind.SCAM_WARNING, "Lừa đảo đầu tư tiền ảo"),
    }
    made: dict[str, Bulletin] = {}
    for day, (name, (ward_id, by, kind, title)) in enumerate(specs.items()):
        made[name] = new_bulletin(
            ward_id, by, kind=kind, title=title, now=NOW + timedelta(days=day)
        )
    made["wanted"].submit(actor_id=author, now=NOW)
    made["missing"].cancel(actor_id=author, now=NOW)
    await save(uow_factory, *made.values())
    return made


async def names(
    uow_factory: SqlUnitOfWorkFactory,
    catalogue: dict[str, Bulletin],
    scope: Scope = ALL,
    **filters,
) -> set[str]:
    by_id = {b.id: name for name, b in catalogue.items()}
    async with uow_factory() as uow:
        page = await uow.bulletins.page(
            BulletinFilter(**filters), scope=scope, after=None, first=50
        )
    assert page.total == len(page.items)
    return {by_id[b.id] for b in page.items}


async def test_bulletin_filters(uow_factory: SqlUnitOfWorkFactory, catalogue) -> None:
    ward = catalogue["scam"].ward_id
    check = lambda **f: names(uow_factory, catalogue, **f)  # noqa: E731
    assert await check() == set(catalogue)
    assert await check(ward_ids=(ward,)) == {"scam", "wanted", "missing", "guide"}
    assert await check(kinds=(BulletinKind.SCAM_WARNING,)) == {"scam", "foreign"}
    assert await check(
        kinds=(BulletinKind.SCAM_WARNING, BulletinKind.PROCEDURE_GUIDE), ward_ids=(ward,)
    ) == {"scam", "guide"}
    assert await check(statuses=(BulletinStatus.SUBMITTED, BulletinStatus.CANCELLED)) == {
        "wanted",
        "missing",
    }
    assert await check(statuses=(BulletinStatus.PUBLISHED,)) == set()
    # Text matches with or without diacritics, in title or body, any case.
    assert await check(text="lua dao") == {"scam", "foreign"}
    assert await check(text="LỪA ĐẢO") == {"scam", "foreign"}
    assert await check(text="nguyen van duc") == {"wanted"}
    assert await check(text="otp") == set(catalogue)  # every body mentions it
    assert await check(text="100%_") == set()  # wildcards are literal
    # Created range: from inclusive, to exclusive.
    assert await check(
        created_from=NOW + timedelta(days=1), created_to=NOW + timedelta(days=3)
    ) == {"wanted", "missing"}
    assert await check(created_from=NOW + timedelta(days=4)) == {"foreign"}
    assert await check(created_to=NOW) == set()


async def test_bulletin_filters_respect_the_scope(
    uow_factory: SqlUnitOfWorkFactory, catalogue
) -> None:
    other = catalogue["foreign"].ward_id
    assert await names(uow_factory, catalogue, scope=only(other)) == {"foreign"}
    assert await names(uow_factory, catalogue, scope=Scope(), text="lua dao") == set()


@pytest.mark.parametrize("newest_first", [True, False])
async def test_bulletin_pagination(
    uow_factory: SqlUnitOfWorkFactory, catalogue, newest_first: bool
) -> None:
    expected = sorted((b.id for b in catalogue.values()), reverse=newest_first)
    seen, after, pages = [], None, 0
    while True:
        async with uow_factory() as uow:
            page = await uow.bulletins.page(
                BulletinFilter(newest_first=newest_first), scope=ALL, after=after, first=2
            )
        pages += 1
        assert page.total == 5
        seen += [b.id for b in page.items]
        if not page.has_next:
            break
        after = page.end_cursor
        assert after == str(page.items[-1].id)
    assert seen == expected
    assert pages == 3


# deliveries ------------------------------------------------------------------------------------


@pytest.fixture
async def published(uow_factory: SqlUnitOfWorkFactory) -> tuple[Bulletin, list[Group]]:
    """A publishing bulletin of one ward and eight groups to deliver it to."""
    ward = await make_ward(uow_factory)
    author = await author_in(uow_factory, ward.id)
    groups = [await make_group(uow_factory, ward.id) for _ in range(8)]
    bulletin = new_bulletin(ward.id, author)
    bulletin.submit(actor_id=author, now=NOW)
    bulletin.approve(await commander_in(uow_factory, ward.id), NOW)
    bulletin.start_publishing(NOW)
    await save(uow_factory, bulletin)
    return bulletin, groups


def delivery_to(bulletin: Bulletin, group: Group, *, at=NOW, **options) -> Delivery:
    return Delivery.create(
        bulletin_id=bulletin.id,
        group_id=group.id,
        channel=group.channel,
        now=NOW,
        not_before=at,
        **options,
    )


async def test_delivery_round_trip_keeps_its_history(
    uow_factory: SqlUnitOfWorkFactory, published
) -> None:
    bulletin, groups = published
    officer = MemberId(bulletin.author_id)
    delivery = delivery_to(bulletin, groups[0], max_attempts=2)
    delivery.claim(NOW, LEASE)
    delivery.fail(
        "HTTP 503: Dịch vụ tạm ngừng", retryable=True, retry_after=7.25, now=NOW, rand=lambda: 0.1
    )
    delivery.claim(NOW + timedelta(hours=1), LEASE)
    delivery.fail(
        "HTTP 400", retryable=False, retry_after=None, now=NOW + timedelta(hours=1), rand=lambda: 0
    )
    delivery.retry_by_hand(
        actor_id=officer, now=NOW + timedelta(hours=2), comment="Đã sửa quyền trang"
    )
    delivery.claim(NOW + timedelta(hours=2), LEASE)
    delivery.succeed(
        external_post_id="1001_100000000002",
        external_url="https://www.facebook.com/1001_100000000002",
        now=NOW + timedelta(hours=2, seconds=3),
    )
    await save(uow_factory, delivery)

    async with uow_factory() as uow:
        loaded = await uow.deliveries.get(delivery.id, scope=ALL)
        (of_bulletin,) = await uow.deliveries.of_bulletins([bulletin.id], scope=ALL)
    assert loaded == delivery
    assert of_bulletin == [delivery]
    steps = [(s.from_status, s.to_status, s.actor_id, s.at, s.comment) for s in loaded.history]
    assert steps[4] == (
        "dead",
        "pending",
        officer,
        NOW + timedelta(hours=2),
        "Đã sửa quyền trang",
    )
    assert [s[1] for s in steps] == [
        "sending",
        "failed",
        "sending",
        "dead",
        "pending",
        "sending",
        "sent",
    ]
    assert loaded.sent_at == NOW + timedelta(hours=2, seconds=3)
    assert loaded.last_error is None


async def test_deliveries_are_scoped_by_their_bulletins_ward(
    uow_factory: SqlUnitOfWorkFactory, published
) -> None:
    bulletin, groups = published
    delivery = delivery_to(bulletin, groups[0])
    await save(uow_factory, delivery)
    stranger = await make_ward(uow_factory)
    async with uow_factory() as uow:
        assert await uow.deliveries.get(delivery.id, scope=only(stranger.id)) is None
        assert await uow.deliveries.get(delivery.id, scope=only(bulletin.ward_id)) == delivery
        assert await uow.deliveries.of_bulletins([bulletin.id], scope=only(stranger.id)) == [[]]


async def test_reach_is_upserted_and_removed_with_its_delivery(
    uow_factory: SqlUnitOfWorkFactory, published
) -> None:
    bulletin, groups = published
    seen, unseen = delivery_to(bulletin, groups[0]), delivery_to(bulletin, groups[1])
    await save(uow_factory, seen, unseen)
    async with uow_factory() as uow:
        await uow.deliveries.record_reach(seen.id, Reach(views=10, reactions=1), NOW)
        await uow.commit()
    async with uow_factory() as uow:
        await uow.deliveries.record_reach(
            seen.id, Reach(views=250, reactions=12, shares=3, comments=4), NOW + timedelta(hours=1)
        )
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.deliveries.reach_many([seen.id, unseen.id, seen.id]) == [
            Reach(250, 12, 3, 4),
            None,
            Reach(250, 12, 3, 4),
        ]
        uow.deliveries.remove(seen)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.deliveries.get(seen.id, scope=ALL) is None
        assert await uow.deliveries.reach_many([seen.id]) == [None]
        assert await uow.deliveries.get(unseen.id, scope=ALL) == unseen


async def test_sent_between_lists_real_posts_in_the_window(
    uow_factory: SqlUnitOfWorkFactory, published
) -> None:
    bulletin, groups = published
    made = []
    for index, (hours, sandbox) in enumerate([(1, False), (2, True), (3, False), (30, False)]):
        delivery = delivery_to(bulletin, groups[index])
        delivery.claim(NOW, LEASE)
        delivery.succeed(
            external_post_id=f"post-{index}",
            external_url=None,
            now=NOW + timedelta(hours=hours),
            sandbox=sandbox,
        )
        made.append(delivery)
    pending = delivery_to(bulletin, groups[5])
    await save(uow_factory, *made, pending)
    async with uow_factory() as uow:
        window = await uow.deliveries.sent_between(
            NOW, NOW + timedelta(hours=24), after=None, limit=10
        )
        first = await uow.deliveries.sent_between(
            NOW, NOW + timedelta(hours=24), after=None, limit=1
        )
        rest = await uow.deliveries.sent_between(
            NOW, NOW + timedelta(hours=24), after=str(first[0].id), limit=10
        )
    assert sorted(d.id for d in window) == sorted([made[0].id, made[2].id])
    assert [d.id for d in window] == sorted(d.id for d in window)
    assert [d.id for d in first + rest] == [d.id for d in window]


async def test_claim_due_order_and_leases(uow_factory: SqlUnitOfWorkFactory, published) -> None:
    bulletin, groups = published
    now = NOW + timedelta(hours=1)
    early = delivery_to(bulletin, groups[0], at=now - timedelta(minutes=30))
    on_time = delivery_to(bulletin, groups[1], at=now)
    later = delivery_to(bulletin, groups[2], at=now + timedelta(seconds=1))
    retry = delivery_to(bulletin, groups[3], at=now - timedelta(minutes=50))
    retry.claim(now - timedelta(minutes=50), LEASE)
    retry.fail(
        "HTTP 503", retryable=True, retry_after=600, now=now - timedelta(minutes=50), rand=lambda: 0
    )
    lost = delivery_to(bulletin, groups[4], at=now - timedelta(minutes=45))
    lost.claim(now - timedelta(minutes=20), LEASE)  # its worker died; the lease ran out
    busy = delivery_to(bulletin, groups[5], at=now - timedelta(hours=1))
    busy.claim(now - timedelta(minutes=5), LEASE)  # a live worker holds it
    sent = delivery_to(bulletin, groups[6], at=now - timedelta(hours=1))
    sent.claim(now - timedelta(hours=1), LEASE)
    sent.succeed(external_post_id="x", external_url=None, now=now - timedelta(hours=1))
    dead = delivery_to(bulletin, groups[7], at=now - timedelta(hours=1))
    dead.claim(now - timedelta(hours=1), LEASE)
    dead.fail(
        "HTTP 403", retryable=False, retry_after=None, now=now - timedelta(hours=1), rand=lambda: 0
    )
    await save(uow_factory, early, on_time, later, retry, lost, busy, sent, dead)

    async with uow_factory() as uow:
        assert [d.id for d in await uow.deliveries.claim_due(now, 2)] == [lost.id, retry.id]
    async with uow_factory() as uow:
        due = await uow.deliveries.claim_due(now, 10)
        assert [d.id for d in due] == [lost.id, retry.id, early.id, on_time.id]
        # What claim_due returns is tracked: claiming it and committing writes the lease.
        for delivery in due:
            if delivery.abandoned(now):
                delivery.recover(now)
            delivery.claim(now, LEASE)
        await uow.commit()

    async with uow_factory() as uow:
        before = await uow.deliveries.claim_due(now + LEASE - timedelta(seconds=1), 10)
    assert {d.id for d in before} == {later.id, busy.id}  # busy's lease ended first
    async with uow_factory() as uow:
        expired = await uow.deliveries.claim_due(now + LEASE, 10)
    assert {d.id for d in expired} == {lost.id, early.id, retry.id, on_time.id, later.id, busy.id}
    stored = {d.id: d for d in expired}
    assert stored[lost.id].attempts == 2
    assert stored[lost.id].lease_expires_at == now + LEASE
    assert stored[later.id].status is DeliveryStatus.PENDING
    assert stored[busy.id].lease_expires_at == now + timedelta(minutes=5)


async def test_a_second_claim_never_gets_rows_the_first_holds(
    uow_factory: SqlUnitOfWorkFactory, published, backend: str
) -> None:
    """PostgreSQL skips what another claim holds (the bulletin with its deliveries); SQLite
    makes the second claim wait for the first to commit."""
    bulletin, groups = published
    first_ones = [delivery_to(bulletin, g, at=NOW - timedelta(seconds=1)) for g in groups[:4]]
    other = new_bulletin(bulletin.ward_id, bulletin.author_id)
    other.submit(actor_id=other.author_id, now=NOW)
    other.approve(await commander_in(uow_factory, bulletin.ward_id), NOW)
    other.start_publishing(NOW)
    await save(uow_factory, other)
    later_ones = [delivery_to(other, g) for g in groups[4:]]
    await save(uow_factory, *first_ones, *later_ones)

    first = uow_factory()
    async with first:
        held = await first.deliveries.claim_due(NOW, 3)
        assert {d.bulletin_id for d in held} == {bulletin.id}
        second = asyncio.create_task(_claim_and_commit(uow_factory, NOW, 3))
        if backend == "postgresql":
            # It does not wait for the first (a wait would time out: the first still holds its
            # rows), and skips the rest of the first bulletin while that bulletin is held.
            skipped = await asyncio.wait_for(asyncio.shield(second), timeout=10)
            assert {d.bulletin_id for d in skipped} == {other.id}
        else:
            await asyncio.sleep(0.2)
            assert not second.done()  # waiting for the write lock
        for delivery in held:
            delivery.claim(NOW, LEASE)
        await first.commit()
    after = await second
    assert len(held) == len(after) == 3
    assert not {d.id for d in held} & {d.id for d in after}
    rest = await _claim_and_commit(uow_factory, NOW, 10)
    assert len(rest) == 2
    assert not {d.id for d in rest} & {d.id for d in [*held, *after]}


async def _claim_and_commit(
    uow_factory: SqlUnitOfWorkFactory, now: datetime, limit: int
) -> list[Delivery]:
    async with uow_factory() as uow:
        claimed = await uow.deliveries.claim_due(now, limit)
        for delivery in claimed:
            delivery.claim(now, LEASE)
        await uow.commit()
    return claimed
