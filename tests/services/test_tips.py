"""Tip use cases on the real unit of work (SQLite and PostgreSQL): receiving and acknowledging,
deadlines and escalation, the lifecycle and who may move it, the thread with the reporter, and
revealing the reporter (audited, to the few allowed)."""

from __future__ import annotations

import dataclasses
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from adapters.crypto import Sealer
from adapters.persistence.tip_tables import AuditLogRow, ReporterIdentityRow, TipRow
from adapters.vault import SealedVault
from domain.access import Actor, Role, Scope
from domain.errors import DomainError, ErrorCode, Msg
from domain.events import TipEscalated, TipMessageAdded, TipReceived, TipUpdated
from domain.ids import TipId
from domain.ports import AuditFilter, ReplyFailed
from domain.reporter import ReporterIdentity, TipSource
from domain.services.tips import (
    REVEAL_ACTION,
    ChannelTip,
    OfficeHours,
    TipService,
    TipSubmission,
)
from domain.tip import MessageDirection, Tip, TipCategory, TipOutcome, TipStatus
from tests.builders import make_member
from tests.fakes.reporter_reply import RecordingReply

PHONE = "0912345678"
PHONE_E164 = "+84912345678"
NAME = "Nguyễn Văn Báo Tin"
ZALO_USER = "8912345678901234567"
REASON = "Cần gặp trực tiếp người báo để lấy lời khai"


def _sealer(*ids: str) -> Sealer:
    keys = {i: KEYS.setdefault(i, os.urandom(32)) for i in ids}
    return Sealer(keys, ids[0])


KEYS: dict[str, bytes] = {}


class Env:
    def __init__(self, uow_factory: Any, clock: Any, publisher: Any, unit: Any) -> None:
        self.uow = uow_factory
        self.clock = clock
        self.publisher = publisher
        self.unit = unit
        self.replies = RecordingReply()
        self.vault = SealedVault(_sealer("k1"))
        self.svc = self.service()

    def service(self, vault: SealedVault | None = None, **options: Any) -> TipService:
        return TipService(
            self.uow, self.clock, self.publisher, vault or self.vault, self.replies, **options
        )

    async def submit(self, **overrides: Any) -> Tip:
        fields: dict[str, Any] = {
            "ward_id": self.unit.tan_mai.id,
            "body": "Có người lạ bán ma tuý ở ngõ 12 Tân Mai",
            "source": TipSource.APP,
            "anonymous": False,
            "category": TipCategory.MA_TUY,
            "reporter": ReporterIdentity.of(platform=TipSource.APP, phone=PHONE, name=NAME),
        }
        tip, _ = await self.svc.submit(None, TipSubmission(**(fields | overrides)))
        return tip

    async def load(self, tip_id: TipId) -> Tip:
        async with self.uow() as uow:
            tip = await uow.tips.get(tip_id, scope=Scope.all())
        assert tip is not None
        return tip

    async def thread(self, tip_id: TipId) -> list:
        async with self.uow() as uow:
            (found,) = await uow.tips.messages_of([tip_id], scope=Scope.all())
        return found

    async def rows(self, table: Any) -> list:
        async with self.uow() as uow:
            return list((await uow.session.execute(sa.select(table))).all())


@pytest.fixture
def env(uow_factory: Any, clock: Any, publisher: Any, unit: Any) -> Env:
    return Env(uow_factory, clock, publisher, unit)


async def expect(code: ErrorCode, work: Any) -> DomainError:
    with pytest.raises(DomainError) as err:
        await work
    assert err.value.code is code, err.value
    return err.value


# Receiving


async def test_submit_returns_a_tracking_code_at_once_and_acknowledges_it(env: Env) -> None:
    tip, code = await env.svc.submit(
        None,
        TipSubmission(
            ward_id=env.unit.tan_mai.id,
            body="  Có  đánh bạc ở nhà số 5  ",
            source=TipSource.PORTAL,
            anonymous=True,
        ),
    )
    assert code == tip.tracking_code and code.startswith("GD-")
    assert (tip.status, tip.category, tip.body) == (
        TipStatus.RECEIVED,
        TipCategory.KHAC,
        "Có đánh bạc ở nhà số 5",
    )
    (sent,) = env.replies.sent
    assert sent.tracking_code == code and code in sent.text
    assert sent.reporter is None  # an anonymous portal report keeps no way back
    stored = await env.load(tip.id)
    assert stored.acknowledged_at == env.clock.now()
    (ack,) = await env.thread(tip.id)
    assert (ack.direction, ack.author_id, ack.body) == (MessageDirection.OUT, None, sent.text)
    assert TipReceived(tip.id, env.unit.tan_mai.id) in env.publisher.events
    assert await env.rows(ReporterIdentityRow.__table__) == []


async def test_a_named_tip_is_sealed_apart_from_the_tip(env: Env) -> None:
    tip = await env.submit()
    assert tip.reporter_id is not None
    (row,) = await env.rows(ReporterIdentityRow.__table__)
    raw = repr(tuple(row)).encode() + bytes(row.sealed)
    for secret in (PHONE, PHONE_E164, "912345678", NAME, "Báo Tin"):
        assert secret.encode() not in raw
    (tip_row,) = await env.rows(TipRow.__table__)
    assert not {PHONE_E164, NAME} & {str(v) for v in tip_row}
    assert env.vault.open(row.key_id, bytes(row.sealed), bound_to=str(row.id)) == (
        ReporterIdentity(TipSource.APP, None, PHONE_E164, NAME)
    )
    # Bound to its row: copied under another id it does not open.
    with pytest.raises(Exception, match="verify"):
        env.vault.open(row.key_id, bytes(row.sealed), bound_to=str(tip.id))


async def test_an_anonymous_tip_keeps_only_the_way_back(env: Env) -> None:
    reporter = ReporterIdentity.of(
        platform=TipSource.ZALO, channel_user_id=ZALO_USER, phone=PHONE, name=NAME
    )
    tip = await env.submit(anonymous=True, source=TipSource.ZALO, reporter=reporter)
    (row,) = await env.rows(ReporterIdentityRow.__table__)
    kept = env.vault.open(row.key_id, bytes(row.sealed), bound_to=str(row.id))
    assert kept == ReporterIdentity(TipSource.ZALO, ZALO_USER, None, None)
    assert row.lookup_hash == env.vault.lookup_hash(TipSource.ZALO, ZALO_USER)
    # The acknowledgement still reaches them, and no one can reveal them.
    assert env.replies.sent[0].reporter == kept
    tip = await env.load(tip.id)
    err = await expect(
        ErrorCode.INVALID, env.svc.reveal_reporter(env.unit.commander, tip.id, REASON)
    )
    assert "ẩn danh" in err.problems[0].message.vi
    assert await env.rows(AuditLogRow.__table__) == []


async def test_a_named_tip_needs_a_phone_or_a_name(env: Env) -> None:
    err = await expect(ErrorCode.REQUIRED, env.submit(reporter=None))
    assert err.problems[0].field == ("reporter",)
    assert await env.rows(TipRow.__table__) == []


async def test_a_signed_in_resident_reports_under_their_own_name(
    env: Env, uow_factory: Any
) -> None:
    member = await make_member(uow_factory, env.unit.tan_mai.id, full_name="Trần Thị Dân")
    actor = Actor(member.id, {env.unit.tan_mai.id: Role.RESIDENT})
    tip, _ = await env.svc.submit(
        actor,
        TipSubmission(
            ward_id=env.unit.tan_mai.id,
            body="Xe máy lạ đỗ lâu",
            source=TipSource.APP,
            anonymous=False,
        ),
    )
    identity = await env.svc.reveal_reporter(env.unit.commander, tip.id, REASON)
    assert identity == ReporterIdentity(
        TipSource.APP, str(member.id), member.phone, member.full_name
    )


async def test_an_unknown_ward_is_refused(env: Env) -> None:
    err = await expect(ErrorCode.NOT_FOUND, env.submit(ward_id=uuid.uuid4()))
    assert err.problems[0].field == ("wardId",)


# Deadlines and acknowledgements


@pytest.mark.parametrize(
    ("category", "hours"),
    [
        (TipCategory.PCCC, 1),
        (TipCategory.AN_NINH_CHINH_TRI, 2),
        (TipCategory.MA_TUY, 4),
        (TipCategory.HINH_SU, 8),
        (TipCategory.LUA_DAO, 24),
        (TipCategory.GIAO_THONG, 24),
        (None, 24),
    ],
)
async def test_the_deadline_follows_the_category(
    env: Env, category: TipCategory | None, hours: int
) -> None:
    tip = await env.submit(category=category)
    assert tip.due_at == env.clock.now() + timedelta(hours=hours)
    assert (await env.load(tip.id)).due_at == tip.due_at


async def test_deadlines_are_configurable(env: Env) -> None:
    env.svc = env.service(sla={TipCategory.MA_TUY: timedelta(minutes=30)})
    tip = await env.submit()
    assert tip.due_at == env.clock.now() + timedelta(minutes=30)


async def test_triage_into_a_faster_category_brings_the_deadline_forward(env: Env) -> None:
    tip = await env.submit(category=None)
    tip = await env.svc.triage(env.unit.officer, tip.id, TipCategory.PCCC, "Có khói")
    assert tip.due_at == tip.received_at + timedelta(hours=1)
    assert (await env.load(tip.id)).category is TipCategory.PCCC


async def test_in_office_hours_the_acknowledgement_is_plain(env: Env) -> None:
    # 2026-11-23 08:00 UTC is Monday 15:00 in Hà Nội.
    tip = await env.submit()
    (sent,) = env.replies.sent
    assert tip.tracking_code in sent.text
    assert "ngoài giờ" not in sent.text


@pytest.mark.parametrize(
    "when",
    [
        datetime(2026, 11, 23, 15, 0, tzinfo=UTC),  # Monday 22:00 in Hà Nội
        datetime(2026, 11, 28, 3, 0, tzinfo=UTC),  # Saturday 10:00
        datetime(2026, 11, 23, 0, 29, tzinfo=UTC),  # Monday 07:29
    ],
)
async def test_out_of_hours_the_acknowledgement_says_so(env: Env, when: datetime) -> None:
    env.clock.current = when
    tip = await env.submit()
    (sent,) = env.replies.sent
    assert tip.tracking_code in sent.text
    assert "ngoài giờ làm việc" in sent.text and "113" in sent.text
    assert "07:30–17:00, thứ Hai đến thứ Sáu" in sent.text
    assert (await env.load(tip.id)).acknowledged_at == when


async def test_a_failed_acknowledgement_keeps_the_tip(env: Env) -> None:
    env.replies.failures.append(ReplyFailed(Msg("hỏng", "broken"), retryable=True))
    tip = await env.submit()
    stored = await env.load(tip.id)
    assert (stored.status, stored.acknowledged_at) == (TipStatus.RECEIVED, None)
    assert await env.thread(tip.id) == []


def test_office_hours_parse() -> None:
    hours = OfficeHours.parse("07:30-11:30, 13:30-17:00", "mon-fri,sat")
    saturday_morning = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)  # 09:00
    lunch = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)  # 12:00
    sunday = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
    assert hours(saturday_morning) and not hours(lunch) and not hours(sunday)
    for bad in ("", "17:00-07:30", "7h30"):
        with pytest.raises(ValueError):
            OfficeHours.parse(bad)
    with pytest.raises(ValueError):
        OfficeHours.parse("07:30-17:00", "funday")


# The lifecycle


async def test_the_whole_lifecycle_with_its_history(env: Env, actor_in: Any) -> None:
    unit = env.unit
    tip = await env.submit()
    await env.svc.triage(unit.officer, tip.id, TipCategory.MA_TUY, "Đúng địa bàn")
    await env.svc.assign(unit.commander, tip.id, unit.officer.member_id, "Đồng chí Cảnh xử lý")
    await env.svc.start_investigation(unit.officer, tip.id)
    env.clock.advance(hours=30)
    done = await env.svc.resolve(unit.officer, tip.id, TipOutcome.CASE_SOLVED, 2, "Bắt quả tang")
    assert (done.status, done.outcome, done.arrests) == (
        TipStatus.RESOLVED,
        TipOutcome.CASE_SOLVED,
        2,
    )
    stored = await env.load(tip.id)
    assert [(s.from_status, s.to_status) for s in stored.history] == [
        ("received", "triaged"),
        ("triaged", "assigned"),
        ("assigned", "investigating"),
        ("investigating", "resolved"),
    ]
    assert [s.actor_id for s in stored.history] == [
        unit.officer.member_id,
        unit.commander.member_id,
        unit.officer.member_id,
        unit.officer.member_id,
    ]
    assert stored.history[-1].comment == "Bắt quả tang"
    assert stored.updated_at == env.clock.now()
    updates = [e for e in env.publisher.events if isinstance(e, TipUpdated)]
    assert [e.status for e in updates] == ["triaged", "assigned", "investigating", "resolved"]
    assert all(e.ward_id == unit.tan_mai.id for e in updates)
    # An event says which tip, which ward and which state: nothing about the reporter.
    assert all(
        {f.name for f in dataclasses.fields(e)} == {"tip_id", "ward_id", "status"} for e in updates
    )


async def test_another_wards_staff_cannot_touch_the_tip(env: Env, actor_in: Any) -> None:
    tip = await env.submit()
    foreign_officer = await actor_in(env.unit.tuong_mai, Role.OFFICER)
    for actor in (env.unit.foreign_commander, foreign_officer):
        await expect(ErrorCode.NOT_FOUND, env.svc.triage(actor, tip.id, TipCategory.KHAC))
        await expect(ErrorCode.NOT_FOUND, env.svc.reply(actor, tip.id, "Xin chào"))
        await expect(ErrorCode.NOT_FOUND, env.svc.reveal_reporter(actor, tip.id, REASON))
        await expect(ErrorCode.NOT_FOUND, env.svc.dismiss(actor, tip.id, "Không rõ"))
    resident = await actor_in(env.unit.tan_mai, Role.RESIDENT)
    await expect(ErrorCode.NOT_FOUND, env.svc.triage(resident, tip.id, TipCategory.KHAC))
    await expect(
        ErrorCode.UNAUTHENTICATED, env.svc.triage(Actor.anonymous(), tip.id, TipCategory.KHAC)
    )
    assert (await env.load(tip.id)).status is TipStatus.RECEIVED


async def test_only_the_wards_officers_can_be_assigned(
    env: Env, actor_in: Any, uow_factory: Any
) -> None:
    tip = await env.submit()
    await env.svc.triage(env.unit.officer, tip.id, TipCategory.MA_TUY)
    foreign_officer = await actor_in(env.unit.tuong_mai, Role.OFFICER)
    resident = await actor_in(env.unit.tan_mai, Role.RESIDENT)
    for member_id in (foreign_officer.member_id, resident.member_id):
        err = await expect(
            ErrorCode.NOT_FOUND, env.svc.assign(env.unit.commander, tip.id, member_id)
        )
        assert err.problems[0].field == ("assigneeId",)
    other = await actor_in(env.unit.tan_mai, Role.OFFICER)
    tip = await env.svc.assign(env.unit.officer, tip.id, other.member_id)
    assert tip.assignee_id == other.member_id


async def test_investigating_and_closing_belong_to_the_assignee_and_commanders(
    env: Env, actor_in: Any
) -> None:
    unit = env.unit
    tip = await env.submit()
    await env.svc.triage(unit.officer, tip.id, TipCategory.MA_TUY)
    colleague = await actor_in(unit.tan_mai, Role.OFFICER)
    # Before anyone is assigned, only a commander dismisses.
    await expect(ErrorCode.FORBIDDEN, env.svc.dismiss(colleague, tip.id, "Tin trùng"))
    await env.svc.assign(unit.commander, tip.id, unit.officer.member_id)
    await expect(ErrorCode.FORBIDDEN, env.svc.start_investigation(colleague, tip.id))
    await env.svc.start_investigation(unit.officer, tip.id)
    await expect(ErrorCode.FORBIDDEN, env.svc.resolve(colleague, tip.id, TipOutcome.UNFOUNDED))
    await expect(ErrorCode.REQUIRED, env.svc.dismiss(unit.commander, tip.id, "  "))
    tip = await env.svc.dismiss(unit.commander, tip.id, "Đã có tin báo khác cùng vụ")
    assert (tip.status, tip.dismiss_reason) == (TipStatus.DISMISSED, "Đã có tin báo khác cùng vụ")
    await expect(
        ErrorCode.INVALID_TRANSITION, env.svc.triage(unit.commander, tip.id, TipCategory.KHAC)
    )


# Escalation


async def test_overdue_tips_escalate_to_the_wards_commanders_once(env: Env, actor_in: Any) -> None:
    unit = env.unit
    fire = await env.submit(category=TipCategory.PCCC)  # due in 1 hour
    drugs = await env.submit(category=TipCategory.MA_TUY)  # due in 4 hours
    closed = await env.submit(category=TipCategory.PCCC)
    await env.svc.dismiss(unit.commander, closed.id, "Báo nhầm")
    foreign = await env.submit(ward_id=unit.tuong_mai.id, category=TipCategory.PCCC)
    deputy = await actor_in(unit.tan_mai, Role.COMMANDER)
    env.publisher.events.clear()

    assert await env.svc.escalate_overdue(env.clock.now() + timedelta(minutes=59)) == []
    env.clock.advance(hours=1)
    escalated = await env.svc.escalate_overdue()
    by_tip = {e.subject_id: e for e in escalated}
    assert set(by_tip) == {fire.id, foreign.id}
    assert set(by_tip[fire.id].commander_ids) == {unit.commander.member_id, deputy.member_id}
    assert by_tip[foreign.id].commander_ids == (unit.foreign_commander.member_id,)
    events = [e for e in env.publisher.events if isinstance(e, TipEscalated)]
    assert {(e.tip_id, e.ward_id) for e in events} == {
        (fire.id, unit.tan_mai.id),
        (foreign.id, unit.tuong_mai.id),
    }
    assert (await env.load(fire.id)).escalated_at == env.clock.now()
    assert await env.svc.escalate_overdue() == []  # once per deadline

    env.clock.advance(hours=3)
    assert [e.subject_id for e in await env.svc.escalate_overdue()] == [drugs.id]
    await env.svc.triage(unit.officer, drugs.id, TipCategory.PCCC)  # a new deadline, passed too
    assert [e.subject_id for e in await env.svc.escalate_overdue()] == [drugs.id]


# The thread with the reporter


async def test_a_channel_message_becomes_a_tip_once(env: Env) -> None:
    msg = ChannelTip(
        ward_id=env.unit.tan_mai.id,
        platform=TipSource.ZALO,
        channel_user_id=ZALO_USER,
        body="Có cháy ở chợ Tân Mai",
        category=TipCategory.PCCC,
        display_name="Anh Ba",
        group_id=env.unit.groups[next(iter(env.unit.groups))].id,
        external_message_id="zmsg-1",
    )
    tip, code = await env.svc.receive_from_channel(msg)
    again, same_code = await env.svc.receive_from_channel(msg)
    assert (again.id, same_code) == (tip.id, code)
    assert len(await env.rows(TipRow.__table__)) == 1
    first, ack = await env.thread(tip.id)
    assert (first.direction, first.external_message_id, first.body) == (
        MessageDirection.IN,
        "zmsg-1",
        "Có cháy ở chợ Tân Mai",
    )
    assert ack.direction is MessageDirection.OUT and code in ack.body
    (sent,) = env.replies.sent
    assert sent.reporter == ReporterIdentity(TipSource.ZALO, ZALO_USER, None, "Anh Ba")
    assert sent.last_inbound_at == env.clock.now()
    assert (await env.svc.find_open_tip_for(TipSource.ZALO, ZALO_USER)).id == tip.id
    assert await env.svc.find_open_tip_for(TipSource.MESSENGER, ZALO_USER) is None
    assert (await env.svc.find_by_tracking_code(code.lower().replace("-", " "))).id == tip.id
    assert await env.svc.find_by_tracking_code("GD-222-222-222") is None
    assert await env.svc.find_by_tracking_code("not a code") is None


async def test_the_reporters_answers_and_the_officers_replies_form_one_thread(env: Env) -> None:
    unit = env.unit
    tip = await env.submit(
        source=TipSource.MESSENGER,
        reporter=ReporterIdentity.of(platform=TipSource.MESSENGER, channel_user_id="psid-42"),
    )
    env.replies.sent.clear()
    env.clock.advance(minutes=5)
    answer, created = await env.svc.add_inbound_message(
        tip.id, "Tôi thấy họ lúc 9 giờ tối", TipSource.MESSENGER, "mid.1", env.clock.now()
    )
    assert created
    again, created = await env.svc.add_inbound_message(
        tip.id, "Tôi thấy họ lúc 9 giờ tối", TipSource.MESSENGER, "mid.1", env.clock.now()
    )
    assert (again.id, created) == (answer.id, False)
    env.clock.advance(minutes=5)
    reply = await env.svc.reply(unit.officer, tip.id, "Cảm ơn anh, chúng tôi đang xác minh.")
    (sent,) = env.replies.sent
    assert sent.reporter == ReporterIdentity(TipSource.MESSENGER, "psid-42")
    assert sent.last_inbound_at == answer.at
    assert (reply.direction, reply.author_id, reply.external_message_id) == (
        MessageDirection.OUT,
        unit.officer.member_id,
        "out-2",  # the acknowledgement was out-1
    )
    thread = await env.thread(tip.id)
    assert [m.direction for m in thread] == ["out", "in", "out"]  # ack, answer, reply
    assert TipMessageAdded(tip.id, unit.tan_mai.id, MessageDirection.OUT) in env.publisher.events
    view = await env.svc.status_for_reporter(tip.tracking_code)
    assert [m.id for m in view.replies] == [thread[0].id, reply.id]  # the police's messages only
    assert await env.svc.status_for_reporter("GD-333-333-333") is None


async def test_a_reply_the_channel_refuses_is_a_user_error_and_not_recorded(env: Env) -> None:
    tip = await env.submit()
    env.replies.failures.append(
        ReplyFailed(Msg("Đã quá 7 ngày kể từ tin nhắn cuối.", "More than 7 days have passed."))
    )
    err = await expect(ErrorCode.INVALID, env.svc.reply(env.unit.officer, tip.id, "Xin chào"))
    assert err.problems[0].message.en == "More than 7 days have passed."
    assert len(await env.thread(tip.id)) == 1  # the acknowledgement only
    await expect(ErrorCode.REQUIRED, env.svc.reply(env.unit.officer, tip.id, "   "))


# Revealing the reporter


async def test_reveal_is_for_the_wards_commanders_and_the_assignee_and_is_audited(
    env: Env, actor_in: Any, uow_factory: Any
) -> None:
    unit = env.unit
    tip = await env.submit()
    colleague = await actor_in(unit.tan_mai, Role.OFFICER)
    admin = await actor_in(unit.tan_mai, Role.ADMIN)
    district_admin = await actor_in(unit.district, Role.ADMIN)
    # Admins see the tip (its ward is theirs) but do not learn who reported it.
    for actor in (unit.officer, colleague, admin, district_admin):
        await expect(ErrorCode.FORBIDDEN, env.svc.reveal_reporter(actor, tip.id, REASON))
    for reason in (None, "", "vì sao", "  ngắn   "):
        err = await expect(
            ErrorCode.REQUIRED, env.svc.reveal_reporter(unit.commander, tip.id, reason)
        )
        assert err.problems[0].field == ("reason",)
    assert await env.rows(AuditLogRow.__table__) == []

    identity = await env.svc.reveal_reporter(unit.commander, tip.id, REASON)
    assert identity == ReporterIdentity(TipSource.APP, None, PHONE_E164, NAME)
    await env.svc.triage(unit.commander, tip.id, TipCategory.MA_TUY)
    await env.svc.assign(unit.commander, tip.id, unit.officer.member_id)
    assert await env.svc.reveal_reporter(unit.officer, tip.id, REASON + " (2)") == identity

    async with uow_factory() as uow:
        page = await uow.audit.page(
            AuditFilter(), scope=Scope(frozenset({unit.tan_mai.id})), after=None, first=10
        )
        foreign = await uow.audit.page(
            AuditFilter(), scope=Scope(frozenset({unit.tuong_mai.id})), after=None, first=10
        )
    assert foreign.total == 0
    assert [(e.actor_id, e.reason) for e in page.items] == [
        (unit.officer.member_id, REASON + " (2)"),
        (unit.commander.member_id, REASON),
    ]
    assert all(
        (e.action, e.subject_type, e.subject_id, e.ward_id)
        == (REVEAL_ACTION, "tip", tip.id, unit.tan_mai.id)
        for e in page.items
    )


async def test_keys_rotate_old_identities_still_open_and_match(env: Env) -> None:
    old = await env.submit(
        reporter=ReporterIdentity.of(
            platform=TipSource.ZALO, channel_user_id=ZALO_USER, phone=PHONE
        ),
        source=TipSource.ZALO,
    )
    rotated = SealedVault(_sealer("k2", "k1"))
    env.svc = env.service(vault=rotated)
    new = await env.submit(
        reporter=ReporterIdentity.of(platform=TipSource.APP, channel_user_id="app-7", name=NAME)
    )
    rows = {r.id: r for r in await env.rows(ReporterIdentityRow.__table__)}
    assert rows[old.reporter_id].key_id == "k1" and rows[new.reporter_id].key_id == "k2"
    assert (await env.svc.reveal_reporter(env.unit.commander, old.id, REASON)).phone == PHONE_E164
    assert (await env.svc.reveal_reporter(env.unit.commander, new.id, REASON)).name == NAME
    assert (await env.svc.find_open_tip_for(TipSource.ZALO, ZALO_USER)).id == old.id
    assert (await env.svc.find_open_tip_for(TipSource.APP, "app-7")).id == new.id
    # A vault that no longer holds k1 cannot open the old identity.
    env.svc = env.service(vault=SealedVault(_sealer("k2")))
    with pytest.raises(Exception, match="unknown key"):
        await env.svc.reveal_reporter(env.unit.commander, old.id, REASON)
