"""Knowledge-base and inquiry repositories on the real database, SQLite and PostgreSQL alike."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from domain.access import Role, Scope
from domain.inquiry import Department, Inquiry, InquiryStatus
from domain.ports import InquiryFilter
from domain.procedure import Procedure, ProcedureStatus
from domain.reporter import TipSource
from tests.builders import NOW, make_member, make_ward
from tests.unit.test_procedure import CONTENT

ALL = Scope.all()


async def test_an_article_round_trips_with_its_versions_and_history(uow_factory):
    admin_ward = await make_ward(uow_factory)
    admin = await make_member(uow_factory, admin_ward.id, roles=[Role.ADMIN])
    p = Procedure.draft("dang_ky_tam_tru", CONTENT, actor_id=admin.id, now=NOW)
    async with uow_factory() as uow:
        uow.procedures.add(p)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.procedures.by_code("dang_ky_tam_tru", for_update=True)
        assert stored is not None and stored.content == p.content
        stored.publish(actor_id=admin.id, now=NOW + timedelta(minutes=1))
        stored.revise(
            replace(CONTENT, fee="Miễn phí"), actor_id=admin.id, now=NOW + timedelta(minutes=2)
        )
        await uow.commit()
    async with uow_factory() as uow:
        again = await uow.procedures.by_code("dang_ky_tam_tru")
        revisions = await uow.procedures.revisions(again.id)
        published = await uow.procedures.listed([ProcedureStatus.PUBLISHED])
    assert (again.status, again.version, again.content.fee) == (
        ProcedureStatus.PUBLISHED,
        2,
        "Miễn phí",
    )
    assert [s.to_status for s in again.history] == ["draft", "published", "published"]
    assert again.history[1].actor_id == admin.id
    assert [r.fee for r in revisions] == [CONTENT.fee, "Miễn phí"]
    assert [x.code for x in published] == ["dang_ky_tam_tru"]


async def test_the_fingerprint_changes_with_every_edit(uow_factory):
    async with uow_factory() as uow:
        empty = await uow.procedures.fingerprint()
        uow.procedures.add(Procedure.draft("dang_ky_tam_tru", CONTENT, actor_id=None, now=NOW))
        await uow.commit()
    async with uow_factory() as uow:
        one = await uow.procedures.fingerprint()
        p = await uow.procedures.by_code("dang_ky_tam_tru", for_update=True)
        p.publish(actor_id=None, now=NOW + timedelta(seconds=1))
        await uow.commit()
    async with uow_factory() as uow:
        published = await uow.procedures.fingerprint()
    assert len({empty, one, published}) == 3


async def test_codes_are_unique(uow_factory):
    async with uow_factory() as uow:
        uow.procedures.add(Procedure.draft("dang_ky_tam_tru", CONTENT, actor_id=None, now=NOW))
        await uow.commit()
    with pytest.raises(IntegrityError):
        async with uow_factory() as uow:
            uow.procedures.add(Procedure.draft("dang_ky_tam_tru", CONTENT, actor_id=None, now=NOW))
            await uow.commit()


def _inquiry(ward_id, question="Làm căn cước cho con cần gì?", **kw) -> Inquiry:
    return Inquiry.receive(
        ward_id=ward_id,
        source=kw.pop("source", TipSource.APP),
        question=question,
        now=kw.pop("now", NOW),
        **kw,
    )


async def test_inquiries_are_filtered_scoped_and_paged(uow_factory):
    a, b = await make_ward(uow_factory), await make_ward(uow_factory)
    routed = _inquiry(a.id, "Hỏi về đăng ký xe máy")
    routed.route(Department.CSGT, actor_id=None, now=NOW, due_in=timedelta(days=3))
    late = _inquiry(a.id, "Thủ tục hộ chiếu", now=NOW - timedelta(days=9))
    late.route(
        Department.XUAT_NHAP_CANH,
        actor_id=None,
        now=NOW - timedelta(days=9),
        due_in=timedelta(days=5),
    )
    answered = _inquiry(a.id)
    answered.auto_answer("Mang giấy khai sinh.", "cap_can_cuoc_duoi_14", now=NOW, confidence=0.8)
    other = _inquiry(b.id, "Hỏi về đăng ký xe máy")
    async with uow_factory() as uow:
        for q in (routed, late, answered, other):
            uow.inquiries.add(q)
        await uow.commit()

    async def page(f: InquiryFilter, scope=ALL):
        async with uow_factory() as uow:
            return await uow.inquiries.page(f, scope=scope, after=None, first=10)

    only_a = Scope(frozenset({a.id}))
    assert (await page(InquiryFilter(), only_a)).total == 3
    assert {q.id for q in (await page(InquiryFilter(text="dang ky xe"), only_a)).items} == {
        routed.id
    }
    csgt = await page(InquiryFilter(departments=(Department.CSGT,)), only_a)
    assert [q.id for q in csgt.items] == [routed.id]
    overdue = await page(InquiryFilter(overdue=True, now=NOW))
    assert [q.id for q in overdue.items] == [late.id]
    done = await page(InquiryFilter(statuses=(InquiryStatus.AUTO_ANSWERED,)))
    (stored,) = done.items
    assert (stored.answer, stored.procedure_code, stored.match_confidence) == (
        "Mang giấy khai sinh.",
        "cap_can_cuoc_duoi_14",
        0.8,
    )
    first = await page(InquiryFilter())
    assert first.total == 4 and [q.id for q in first.items] == sorted(
        q.id for q in (routed, late, answered, other)
    )


async def test_a_platform_message_becomes_one_inquiry(uow_factory):
    ward = await make_ward(uow_factory)
    q = _inquiry(ward.id, source=TipSource.ZALO, external_message_id="m-1")
    async with uow_factory() as uow:
        uow.inquiries.add(q)
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.inquiries.by_external_id(TipSource.ZALO, "m-1")
        assert found is not None and found.id == q.id
        assert await uow.inquiries.by_external_id(TipSource.MESSENGER, "m-1") is None
    with pytest.raises(IntegrityError):
        async with uow_factory() as uow:
            uow.inquiries.add(_inquiry(ward.id, source=TipSource.ZALO, external_message_id="m-1"))
            await uow.commit()


async def test_history_is_appended_not_rewritten(uow_factory):
    ward = await make_ward(uow_factory)
    officer = await make_member(uow_factory, ward.id, roles=[Role.OFFICER])
    q = _inquiry(ward.id)
    q.route(Department.WARD, actor_id=None, now=NOW, due_in=timedelta(days=2))
    async with uow_factory() as uow:
        uow.inquiries.add(q)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.inquiries.get(q.id, scope=ALL, for_update=True)
        stored.answer_by(
            officer.id, "Anh mang giấy khai sinh của cháu.", now=NOW + timedelta(hours=1)
        )
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.inquiries.get(q.id, scope=ALL, for_update=True)
        stored.close(actor_id=officer.id, now=NOW + timedelta(hours=2))
        await uow.commit()
    async with uow_factory() as uow:
        final = await uow.inquiries.get(q.id, scope=ALL)
    assert [s.to_status for s in final.history] == ["routed", "answered", "closed"]
    assert final.answered_by == officer.id and final.due_at is None


async def test_overdue_takes_open_unescalated_inquiries_past_their_deadline(uow_factory):
    a, b = await make_ward(uow_factory), await make_ward(uow_factory)

    def routed(ward_id, due_in: timedelta) -> Inquiry:
        q = _inquiry(ward_id, "Hỏi về tranh chấp lối đi chung", now=NOW - timedelta(days=3))
        q.route(Department.WARD, actor_id=None, now=NOW - timedelta(days=3), due_in=due_in)
        return q

    due, due_b = routed(a.id, timedelta(days=3)), routed(b.id, timedelta(days=2))
    not_yet = routed(a.id, timedelta(days=4))
    answered = routed(a.id, timedelta(days=1))
    officer = await make_member(uow_factory, a.id)
    answered.answer_by(officer.id, "Mời anh lên trụ sở phường.", now=NOW)
    fresh = _inquiry(a.id)  # received, no deadline yet
    async with uow_factory() as uow:
        for q in (due, due_b, not_yet, answered, fresh):
            uow.inquiries.add(q)
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.inquiries.overdue(NOW, limit=10)
        assert [q.id for q in found] == [due_b.id, due.id]  # earliest deadline first
        assert [q.id for q in await uow.inquiries.overdue(NOW, limit=1)] == [due_b.id]
        for q in found:
            assert q.escalate(NOW, ())
        await uow.commit()
    async with uow_factory() as uow:
        later = await uow.inquiries.overdue(NOW + timedelta(days=1), limit=10)
        assert [q.id for q in later] == [not_yet.id]
        raised = await uow.inquiries.page(
            InquiryFilter(escalated=True), scope=ALL, after=None, first=10
        )
        assert sorted(q.id for q in raised.items) == sorted([due.id, due_b.id])
        assert {q.escalated_at for q in raised.items} == {NOW}
        rest = await uow.inquiries.page(
            InquiryFilter(escalated=False), scope=ALL, after=None, first=10
        )
        assert sorted(q.id for q in rest.items) == sorted([not_yet.id, answered.id, fresh.id])
