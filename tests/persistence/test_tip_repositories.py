"""Tip repositories and the audit log on the real database, SQLite and PostgreSQL alike."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from adapters.persistence.tip_tables import ReporterIdentityRow, TipTransitionRow
from adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from domain.access import Scope
from domain.bulletin import Attachment, MediaType
from domain.ids import MemberId, TipId, WardId, new_id
from domain.ports import AuditEntry, AuditFilter, SealedReporter, TipFilter
from domain.reporter import ReporterId, TipSource
from domain.tip import (
    MessageDirection,
    Tip,
    TipCategory,
    TipMessage,
    TipOutcome,
    TipStatus,
    new_tracking_code,
)
from tests.builders import NOW, make_member, make_ward

ALL = Scope.all()
IMAGE = Attachment("c" * 64, MediaType.IMAGE, "hien-truong.jpg", 120_000, "image/jpeg")
CLIP = Attachment("e" * 64, MediaType.VIDEO, "clip.mp4", 900_000, "video/mp4")


def only(*ward_ids: WardId) -> Scope:
    return Scope(frozenset(ward_ids))


def new_tip(ward_id: WardId, **overrides) -> Tip:
    fields = dict(
        ward_id=ward_id,
        tracking_code=new_tracking_code(os.urandom(8)),
        source=TipSource.APP,
        body="Có người bán ma tuý ở ngõ 12",
        anonymous=True,
        reporter_id=None,
        now=NOW,
        category=TipCategory.MA_TUY,
        due_at=NOW + timedelta(hours=4),
    )
    return Tip.receive(**(fields | overrides))


def in_order(*tips: Tip) -> None:
    """Ids in the order given: UUIDv7 orders by the millisecond, and these share one."""
    for tip, tip_id in zip(tips, sorted(new_id() for _ in tips), strict=True):
        tip.id = TipId(tip_id)


async def save(uow_factory: SqlUnitOfWorkFactory, *tips: Tip) -> None:
    async with uow_factory() as uow:
        for tip in tips:
            uow.tips.add(tip)
        await uow.commit()


async def load(uow_factory: SqlUnitOfWorkFactory, tip_id: TipId) -> Tip:
    async with uow_factory() as uow:
        tip = await uow.tips.get(tip_id, scope=ALL)
    assert tip is not None
    return tip


def message(tip: Tip, direction: MessageDirection, body: str, minutes: int, **kw) -> TipMessage:
    return TipMessage.create(
        tip_id=tip.id,
        direction=direction,
        body=body,
        channel=tip.source,
        at=NOW + timedelta(minutes=minutes),
        **kw,
    )


@pytest.fixture
async def wards(uow_factory):
    a = await make_ward(uow_factory, name="Phường Tân Mai")
    b = await make_ward(uow_factory, name="Phường Tương Mai")
    return a, b


async def test_a_tip_round_trips_with_its_files_and_history(uow_factory, wards) -> None:
    a, _ = wards
    officer = await make_member(uow_factory, a.id)
    tip = new_tip(a.id, attachments=(IMAGE, CLIP), source=TipSource.ZALO)
    await save(uow_factory, tip)
    async with uow_factory() as uow:
        stored = await uow.tips.get(tip.id, scope=ALL, for_update=True)
        stored.triage(TipCategory.HINH_SU, actor_id=officer.id, now=NOW, comment="Phân loại")
        stored.assign(officer.id, actor_id=officer.id, now=NOW + timedelta(minutes=1))
        stored.acknowledge(NOW)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.tips.get(tip.id, scope=ALL, for_update=True)
        stored.start_investigation(actor_id=officer.id, now=NOW + timedelta(minutes=2))
        stored.resolve(
            TipOutcome.CASE_SOLVED, arrests=3, actor_id=officer.id, now=NOW + timedelta(hours=1)
        )
        await uow.commit()
    stored = await load(uow_factory, tip.id)
    assert stored.attachments == (IMAGE, CLIP)
    assert (stored.status, stored.outcome, stored.arrests, stored.assignee_id) == (
        TipStatus.RESOLVED,
        TipOutcome.CASE_SOLVED,
        3,
        officer.id,
    )
    assert (stored.source, stored.category, stored.acknowledged_at) == (
        TipSource.ZALO,
        TipCategory.HINH_SU,
        NOW,
    )
    assert [s.to_status for s in stored.history] == [
        "triaged",
        "assigned",
        "investigating",
        "resolved",
    ]
    assert stored.history[0].comment == "Phân loại"
    assert stored.updated_at == NOW + timedelta(hours=1)
    async with uow_factory() as uow:  # every step written once
        rows = (await uow.session.execute(sa.select(TipTransitionRow.__table__))).all()
    assert len(rows) == 4


async def test_another_wards_tip_is_absent(uow_factory, wards) -> None:
    a, b = wards
    tip = new_tip(a.id)
    await save(uow_factory, tip)
    async with uow_factory() as uow:
        uow.tips.add_message(message(tip, MessageDirection.IN, "Thêm chi tiết", 1))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.tips.get(tip.id, scope=only(b.id)) is None
        assert await uow.tips.get(tip.id, scope=Scope()) is None
        assert await uow.tips.get_many([tip.id], scope=only(b.id)) == [None]
        page = await uow.tips.page(TipFilter(), scope=only(b.id), after=None, first=10)
        assert page.total == 0 and page.items == []
        assert await uow.tips.messages_of([tip.id], scope=only(b.id)) == [[]]
        assert len((await uow.tips.messages_of([tip.id], scope=only(a.id)))[0]) == 1


async def test_the_list_filters_and_pages(uow_factory, wards) -> None:
    a, b = wards
    officer = await make_member(uow_factory, a.id)
    old = new_tip(a.id, body="Đánh bạc ăn tiền ở quán nước", category=TipCategory.HINH_SU)
    fire = new_tip(
        a.id,
        body="Khói bốc lên từ kho hàng",
        category=TipCategory.PCCC,
        now=NOW + timedelta(hours=1),
        due_at=NOW + timedelta(hours=2),
    )
    late = new_tip(a.id, body="Ma tuý", now=NOW + timedelta(hours=2), due_at=NOW)
    other = new_tip(b.id)
    in_order(old, fire, late, other)
    late.triage(TipCategory.MA_TUY, actor_id=officer.id, now=NOW + timedelta(hours=2))
    late.assign(officer.id, actor_id=officer.id, now=NOW + timedelta(hours=2))
    await save(uow_factory, old, fire, late, other)
    now = NOW + timedelta(hours=3)

    async def ids(**filter) -> list:
        async with uow_factory() as uow:
            page = await uow.tips.page(
                TipFilter(**filter), scope=only(a.id, b.id), after=None, first=10
            )
        return [t.id for t in page.items]

    assert await ids() == [other.id, late.id, fire.id, old.id]
    assert await ids(newest_first=False) == [old.id, fire.id, late.id, other.id]
    assert await ids(ward_ids=(b.id,)) == [other.id]
    assert await ids(categories=(TipCategory.HINH_SU, TipCategory.PCCC)) == [fire.id, old.id]
    assert await ids(statuses=(TipStatus.ASSIGNED,)) == [late.id]
    assert await ids(assignee_ids=(officer.id,)) == [late.id]
    assert await ids(text="DANH BAC") == [old.id]
    assert await ids(text="kho hàng") == [fire.id]
    assert await ids(text="100%_") == []
    assert await ids(overdue=True, now=now) == [late.id, fire.id]
    assert await ids(overdue=False, now=now) == [other.id, old.id]
    assert await ids(
        received_from=NOW + timedelta(hours=1), received_to=NOW + timedelta(hours=2)
    ) == [fire.id]
    with pytest.raises(ValueError):
        await ids(overdue=True)
    async with uow_factory() as uow:
        first = await uow.tips.page(TipFilter(), scope=only(a.id), after=None, first=2)
        rest = await uow.tips.page(TipFilter(), scope=only(a.id), after=first.end_cursor, first=2)
    assert (first.total, first.has_next, [t.id for t in first.items]) == (
        3,
        True,
        [late.id, fire.id],
    )
    assert ([t.id for t in rest.items], rest.has_next) == ([old.id], False)


async def test_tracking_codes_are_unique_and_found_in_any_ward(uow_factory, wards) -> None:
    a, b = wards
    tip = new_tip(a.id)
    await save(uow_factory, tip)
    async with uow_factory() as uow:
        assert (await uow.tips.by_tracking_code(tip.tracking_code)).id == tip.id
        assert await uow.tips.by_tracking_code("GD-222-222-222") is None
    with pytest.raises(IntegrityError):
        await save(uow_factory, new_tip(b.id, tracking_code=tip.tracking_code))


async def test_sealed_reporters_and_their_open_tips(uow_factory, wards) -> None:
    a, _ = wards
    reporter = SealedReporter(ReporterId(new_id()), "k1", b"\x00sealed\xff", "hash-1", NOW)
    other = SealedReporter(ReporterId(new_id()), "k1", b"\x01", None, NOW)
    first = new_tip(a.id, reporter_id=reporter.id, anonymous=False)
    second = new_tip(a.id, reporter_id=reporter.id, anonymous=False, now=NOW + timedelta(1))
    closed = new_tip(a.id, reporter_id=reporter.id, anonymous=False)
    closed.dismiss("Trùng", actor_id=None, now=NOW)
    in_order(first, second, closed)
    async with uow_factory() as uow:
        uow.tips.add_reporter(reporter)
        uow.tips.add_reporter(other)
        for tip in (first, second, closed, new_tip(a.id, reporter_id=other.id)):
            uow.tips.add(tip)
        assert await uow.tips.reporter(reporter.id) == reporter  # before the flush too
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.tips.reporter(reporter.id) == reporter
        assert await uow.tips.reporter(ReporterId(uuid.uuid4())) is None
        found = await uow.tips.open_for_reporter(["hash-0", "hash-1"])
        assert [t.id for t in found] == [second.id, first.id]
        assert await uow.tips.open_for_reporter([]) == []
        (row,) = (
            await uow.session.execute(
                sa.select(ReporterIdentityRow.__table__).where(
                    ReporterIdentityRow.__table__.c.id == reporter.id
                )
            )
        ).all()
    assert bytes(row.sealed) == b"\x00sealed\xff"


async def test_threads_are_ordered_and_platform_messages_unique(uow_factory, wards) -> None:
    a, _ = wards
    tip = new_tip(a.id, source=TipSource.MESSENGER)
    officer = await make_member(uow_factory, a.id)
    await save(uow_factory, tip)
    later = message(tip, MessageDirection.IN, "Câu trả lời", 20, external_message_id="m.2")
    first = message(tip, MessageDirection.IN, "Tin đầu", 0, external_message_id="m.1")
    reply = message(tip, MessageDirection.OUT, "Cảm ơn", 10, author_id=officer.id)
    async with uow_factory() as uow:
        for m in (later, first, reply):
            uow.tips.add_message(m)
        found = await uow.tips.message_by_external_id(TipSource.MESSENGER, "m.1")
        assert found == first  # pending messages are found before the flush
        await uow.commit()
    async with uow_factory() as uow:
        (thread,) = await uow.tips.messages_of([tip.id], scope=ALL)
        assert thread == [first, reply, later]
        assert await uow.tips.message_by_external_id(TipSource.MESSENGER, "m.2") == later
        assert await uow.tips.message_by_external_id(TipSource.ZALO, "m.2") is None
        assert await uow.tips.last_inbound_at(tip.id) == later.at
        assert await uow.tips.last_inbound_at(TipId(uuid.uuid4())) is None
    with pytest.raises(IntegrityError):
        async with uow_factory() as uow:
            uow.tips.add_message(
                message(tip, MessageDirection.IN, "Lặp lại", 30, external_message_id="m.1")
            )
            await uow.commit()
    # Messages without a platform id (app, portal, our own) never collide.
    async with uow_factory() as uow:
        uow.tips.add_message(message(tip, MessageDirection.OUT, "Một", 40))
        uow.tips.add_message(message(tip, MessageDirection.OUT, "Hai", 41))
        await uow.commit()


async def test_overdue_takes_open_unescalated_tips_past_their_deadline(uow_factory, wards) -> None:
    a, b = wards
    due = new_tip(a.id, due_at=NOW)
    due_b = new_tip(b.id, due_at=NOW - timedelta(minutes=5))
    not_yet = new_tip(a.id, due_at=NOW + timedelta(minutes=1))
    no_deadline = new_tip(a.id, due_at=None)
    closed = new_tip(a.id, due_at=NOW - timedelta(hours=1))
    closed.dismiss("Trùng", actor_id=None, now=NOW)
    await save(uow_factory, due, due_b, not_yet, no_deadline, closed)
    async with uow_factory() as uow:
        found = await uow.tips.overdue(NOW, limit=10)
        assert [t.id for t in found] == [due_b.id, due.id]  # earliest deadline first
        assert [t.id for t in await uow.tips.overdue(NOW, limit=1)] == [due_b.id]
        for tip in found:
            tip.escalate(NOW, (MemberId(uuid.uuid4()),))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.tips.overdue(NOW + timedelta(hours=1), limit=10) == [
            await uow.tips.get(not_yet.id, scope=ALL)
        ]
    assert (await load(uow_factory, due.id)).escalated_at == NOW


async def test_the_audit_log_is_scoped_and_newest_first(uow_factory, wards) -> None:
    a, b = wards
    actor = await make_member(uow_factory, a.id)
    ids = sorted(new_id() for _ in range(4))
    entries = [
        AuditEntry(
            ids[i],
            actor.id,
            "tip.reveal_reporter",
            "tip",
            uuid.uuid4(),
            ward,
            f"Lý do {i}",
            NOW + timedelta(minutes=i),
        )
        for i, ward in enumerate((a.id, b.id, a.id, None))
    ]
    async with uow_factory() as uow:
        for entry in entries:
            uow.audit.record(entry)
        # Rolled back with its unit of work: nothing is written unless committed.
    async with uow_factory() as uow:
        assert (await uow.audit.page(AuditFilter(), scope=ALL, after=None, first=10)).total == 0
        for entry in entries:
            uow.audit.record(entry)
        await uow.commit()
    async with uow_factory() as uow:
        mine = await uow.audit.page(AuditFilter(), scope=only(a.id), after=None, first=1)
        assert (mine.total, mine.has_next, mine.items) == (2, True, [entries[2]])
        rest = await uow.audit.page(AuditFilter(), scope=only(a.id), after=mine.end_cursor, first=5)
        assert rest.items == [entries[0]]
        everything = await uow.audit.page(AuditFilter(), scope=ALL, after=None, first=10)
        assert everything.items == entries[::-1]
        none = await uow.audit.page(AuditFilter(), scope=Scope(), after=None, first=10)
        assert none.total == 0
        by_subject = await uow.audit.page(
            AuditFilter(subject_ids=(entries[1].subject_id,)), scope=ALL, after=None, first=10
        )
        assert by_subject.items == [entries[1]]
        by_time = await uow.audit.page(
            AuditFilter(
                at_from=NOW + timedelta(minutes=1),
                at_to=NOW + timedelta(minutes=3),
                actions=("tip.reveal_reporter",),
                actor_ids=(actor.id,),
                ward_ids=(a.id, b.id),
            ),
            scope=ALL,
            after=None,
            first=10,
        )
        assert by_time.items == [entries[2], entries[1]]
