"""BulletinService on the real unit of work: targets, approval writing the outbox in the same
transaction, edits and cancellations dropping what was not sent, previews."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from adapters.persistence.engine import session_factory
from adapters.persistence.tables import DeliveryRow
from adapters.persistence.unit_of_work import SqlUnitOfWork
from domain.access import Role
from domain.bulletin import BulletinStatus
from domain.channel_rules import VIETNAM, Severity
from domain.channels import ChannelKind
from domain.delivery import DeliveryStatus
from domain.errors import DomainError, ErrorCode
from domain.events import BulletinApproved, BulletinSubmitted
from domain.ids import GroupId, new_id
from domain.services.bulletins import BulletinEdit, BulletinService
from tests.builders import make_group
from tests.services.conftest import (
    LINK_BASE,
    VIDEO,
    Unit,
    deliveries_of,
    draft,
    link_for,
    load,
)

K = ChannelKind
S = BulletinStatus


async def fails(call: Any, code: ErrorCode, field: tuple[str, ...] = ()) -> DomainError:
    with pytest.raises(DomainError) as info:
        await call
    assert [(p.code, p.field) for p in info.value.problems] == [(code, field)]
    return info.value


async def submitted(bulletins: BulletinService, unit: Unit, **overrides: Any):
    bulletin = await bulletins.create(unit.officer, draft(unit, **overrides))
    return await bulletins.submit(unit.officer, bulletin.id, "Kính trình chỉ huy")


# approval writes the outbox ---------------------------------------------------------------------


async def test_approval_writes_one_delivery_per_target_group(
    bulletins: BulletinService, unit: Unit, uow_factory, clock, publisher
) -> None:
    bulletin = await submitted(bulletins, unit)
    approved = await bulletins.approve(unit.commander, bulletin.id, "Đồng ý đăng")

    assert approved.status is S.PUBLISHING
    stored = await load(uow_factory, bulletin.id)
    assert (stored.status, stored.approved_by, stored.approved_at) == (
        S.PUBLISHING,
        unit.commander.member_id,
        clock.now(),
    )
    assert [(s.from_status, s.to_status, s.actor_id, s.comment) for s in stored.history] == [
        ("draft", "submitted", unit.officer.member_id, "Kính trình chỉ huy"),
        ("submitted", "approved", unit.commander.member_id, "Đồng ý đăng"),
        ("approved", "publishing", None, None),
    ]
    deliveries = await deliveries_of(uow_factory, bulletin.id)
    assert sorted((d.group_id, d.channel) for d in deliveries) == sorted(
        (g.id, g.channel) for g in unit.groups.values()
    )
    assert all(d.status is DeliveryStatus.PENDING for d in deliveries)
    assert all(d.next_attempt_at == clock.now() and d.attempts == 0 for d in deliveries)
    assert len({d.idempotency_key for d in deliveries}) == len(deliveries)
    assert unit.foreign_group.id not in {d.group_id for d in deliveries}
    assert [type(e) for e in publisher.events] == [BulletinSubmitted, BulletinApproved]


async def test_explicit_groups_and_unit_targets_give_one_delivery_each(
    bulletins: BulletinService, unit: Unit, uow_factory
) -> None:
    bulletin = await submitted(
        bulletins,
        unit,
        target_group_ids=unit.group_ids(K.ZALO_GROUP, K.PORTAL),
        target_ward_ids=(unit.tan_mai.id,),
    )
    await bulletins.approve(unit.commander, bulletin.id, None)
    deliveries = await deliveries_of(uow_factory, bulletin.id)
    assert sorted(d.group_id for d in deliveries) == sorted(unit.group_ids())


async def test_a_district_bulletin_reaches_the_wards_below(
    bulletins: BulletinService, unit: Unit, uow_factory, actor_in
) -> None:
    officer = await actor_in(unit.district, Role.OFFICER)
    commander = await actor_in(unit.district, Role.COMMANDER)
    bulletin = await bulletins.create(
        officer,
        draft(
            unit,
            ward_id=unit.district.id,
            target_ward_ids=(unit.tuong_mai.id,),
            target_group_ids=unit.group_ids(K.ZALO_GROUP),
        ),
    )
    await bulletins.submit(officer, bulletin.id, None)
    await bulletins.approve(commander, bulletin.id, None)
    deliveries = await deliveries_of(uow_factory, bulletin.id)
    assert sorted(d.group_id for d in deliveries) == sorted(
        [unit.foreign_group.id, unit.groups[K.ZALO_GROUP].id]
    )


@pytest.mark.parametrize(
    ("targets", "field"),
    [
        ({"target_ward_ids": "tuong_mai"}, ("targetWardIds", "0")),  # a sibling ward
        ({"target_ward_ids": "district"}, ("targetWardIds", "0")),  # the unit above
        ({"target_group_ids": "foreign_group"}, ("targetGroupIds", "0")),
        ({"target_group_ids": "unknown"}, ("targetGroupIds", "0")),
        ({"target_group_ids": "archived"}, ("targetGroupIds", "0")),
    ],
)
async def test_targets_must_be_within_the_bulletins_unit(
    bulletins: BulletinService, unit: Unit, uow_factory, targets: dict, field: tuple
) -> None:
    archived = await make_group(uow_factory, unit.tan_mai.id, archived=True)
    ids = {
        "tuong_mai": unit.tuong_mai.id,
        "district": unit.district.id,
        "foreign_group": unit.foreign_group.id,
        "unknown": GroupId(new_id()),
        "archived": archived.id,
    }
    ((name, key),) = targets.items()
    overrides = {"target_ward_ids": (), name: (ids[key],)}
    if name == "target_ward_ids":
        overrides["target_group_ids"] = unit.group_ids(K.PORTAL)
    await fails(
        bulletins.create(unit.officer, draft(unit, **overrides)), ErrorCode.NOT_FOUND, field
    )

    # Nor can an edit bring one in.
    bulletin = await bulletins.create(unit.officer, draft(unit))
    edit = BulletinEdit(bulletin.id, **{name: (ids[key],)})
    await fails(bulletins.edit(unit.officer, edit), ErrorCode.NOT_FOUND, field)
    assert (await load(uow_factory, bulletin.id)).target_ward_ids == (unit.tan_mai.id,)


async def test_only_officers_of_the_unit_write_bulletins(
    bulletins: BulletinService, unit: Unit, actor_in
) -> None:
    resident = await actor_in(unit.tan_mai, Role.RESIDENT)
    await fails(bulletins.create(resident, draft(unit)), ErrorCode.FORBIDDEN, ("wardId",))
    await fails(
        bulletins.create(unit.foreign_commander, draft(unit)), ErrorCode.NOT_FOUND, ("wardId",)
    )


async def test_a_blocking_finding_refuses_the_approval_and_writes_nothing(
    bulletins: BulletinService, unit: Unit, uow_factory, publisher
) -> None:
    bulletin = await submitted(bulletins, unit, attachments=())  # YouTube needs a video
    publisher.events.clear()
    await fails(
        bulletins.approve(unit.commander, bulletin.id, None),
        ErrorCode.INVALID,
        ("channels", "youtube_channel", "video_required"),
    )
    stored = await load(uow_factory, bulletin.id)
    assert (stored.status, stored.approved_by, len(stored.history)) == (S.SUBMITTED, None, 1)
    assert await deliveries_of(uow_factory, bulletin.id) == []
    assert publisher.events == []


class _CrashAtCommit(SqlUnitOfWork):
    """Writes every row of the transaction, then loses the database before COMMIT."""

    written: int | None = None

    async def commit(self) -> None:
        for repository in self._repositories():
            await repository.flush()
        table = DeliveryRow.__table__
        type(self).written = await self.session.scalar(
            sa.select(sa.func.count()).select_from(table)
        )
        raise ConnectionResetError("the database went away")


async def test_a_failure_during_approval_leaves_neither_approval_nor_deliveries(
    bulletins: BulletinService, unit: Unit, uow_factory, db, clock, publisher
) -> None:
    bulletin = await submitted(bulletins, unit)
    sessions = session_factory(db)
    crashing = BulletinService(
        lambda: _CrashAtCommit(sessions, clock.now), clock, publisher, link_for
    )
    publisher.events.clear()
    with pytest.raises(ConnectionResetError):
        await crashing.approve(unit.commander, bulletin.id, None)

    assert _CrashAtCommit.written == len(unit.groups)  # the outbox rows had been written...
    stored = await load(uow_factory, bulletin.id)  # ...and went with the approval
    assert (stored.status, stored.approved_by, stored.approved_at) == (S.SUBMITTED, None, None)
    assert len(stored.history) == 1
    assert await deliveries_of(uow_factory, bulletin.id) == []
    assert publisher.events == []
    # The approval can simply be given again.
    await bulletins.approve(unit.commander, bulletin.id, None)
    assert len(await deliveries_of(uow_factory, bulletin.id)) == len(unit.groups)


async def test_approval_needs_an_active_group(
    bulletins: BulletinService, unit: Unit, uow_factory, org
) -> None:
    lonely = await make_group(uow_factory, unit.tan_mai.id, channel=K.PORTAL)
    bulletin = await submitted(bulletins, unit, target_ward_ids=(), target_group_ids=(lonely.id,))
    await org.archive_group(unit.commander, lonely.id)
    await fails(
        bulletins.approve(unit.commander, bulletin.id, None),
        ErrorCode.REQUIRED,
        ("targetGroupIds",),
    )
    assert (await load(uow_factory, bulletin.id)).status is S.SUBMITTED


async def test_who_may_approve(
    bulletins: BulletinService, unit: Unit, uow_factory, actor_in
) -> None:
    bulletin = await submitted(bulletins, unit)
    colleague = await actor_in(unit.tan_mai, Role.OFFICER)
    await fails(bulletins.approve(colleague, bulletin.id, None), ErrorCode.NOT_COMMANDER)
    await fails(bulletins.approve(unit.officer, bulletin.id, None), ErrorCode.SELF_APPROVAL)
    await fails(
        bulletins.approve(unit.foreign_commander, bulletin.id, None), ErrorCode.NOT_FOUND, ("id",)
    )
    # A commander who wrote the bulletin needs another commander.
    own = await bulletins.create(unit.commander, draft(unit))
    await bulletins.submit(unit.commander, own.id, None)
    await fails(bulletins.approve(unit.commander, own.id, None), ErrorCode.SELF_APPROVAL)
    for refused in (bulletin, own):
        assert (await load(uow_factory, refused.id)).status is S.SUBMITTED
        assert await deliveries_of(uow_factory, refused.id) == []
    second = await actor_in(unit.tan_mai, Role.COMMANDER)
    assert (await bulletins.approve(second, own.id, None)).status is S.PUBLISHING


async def test_rejection_sends_it_back_without_deliveries(
    bulletins: BulletinService, unit: Unit, uow_factory
) -> None:
    bulletin = await submitted(bulletins, unit)
    await fails(
        bulletins.reject(unit.commander, bulletin.id, "  "), ErrorCode.REQUIRED, ("comment",)
    )
    rejected = await bulletins.reject(unit.commander, bulletin.id, "Bổ sung số điện thoại trực ban")
    assert rejected.status is S.REJECTED
    assert await deliveries_of(uow_factory, bulletin.id) == []
    await bulletins.edit(unit.officer, BulletinEdit(bulletin.id, body="Gọi 0243.863.xxxx."))
    await bulletins.submit(unit.officer, bulletin.id, None)
    assert (await bulletins.approve(unit.commander, bulletin.id, None)).status is S.PUBLISHING


# edits, schedules and cancellations -------------------------------------------------------------


async def scheduled(bulletins: BulletinService, unit: Unit, clock, **overrides: Any):
    at = clock.now() + timedelta(days=1)
    bulletin = await submitted(bulletins, unit, scheduled_at=at, **overrides)
    return await bulletins.approve(unit.commander, bulletin.id, None), at


async def test_a_scheduled_approval_holds_its_deliveries_until_the_time(
    bulletins: BulletinService, unit: Unit, uow_factory, clock
) -> None:
    bulletin, at = await scheduled(bulletins, unit, clock)
    assert bulletin.status is S.SCHEDULED
    deliveries = await deliveries_of(uow_factory, bulletin.id)
    assert len(deliveries) == len(unit.groups)
    assert {d.next_attempt_at for d in deliveries} == {at}


async def test_editing_an_approved_bulletin_needs_a_new_approval(
    bulletins: BulletinService, unit: Unit, uow_factory, clock
) -> None:
    bulletin, _ = await scheduled(bulletins, unit, clock)
    before = await deliveries_of(uow_factory, bulletin.id)

    # An edit that changes nothing keeps the approval and the outbox.
    same = await bulletins.edit(unit.officer, BulletinEdit(bulletin.id, title=bulletin.title))
    assert same.status is S.SCHEDULED
    assert await deliveries_of(uow_factory, bulletin.id) == before

    edited = await bulletins.edit(
        unit.officer, BulletinEdit(bulletin.id, title="Cảnh báo: lừa đảo mạo danh công an")
    )
    assert (edited.status, edited.approved_by, edited.approved_at) == (S.SUBMITTED, None, None)
    stored = await load(uow_factory, bulletin.id)
    assert stored.status is S.SUBMITTED
    assert stored.history[-1].to_status == "submitted"
    assert await deliveries_of(uow_factory, bulletin.id) == []

    again = await bulletins.approve(unit.commander, bulletin.id, None)
    assert again.status is S.SCHEDULED
    fresh = await deliveries_of(uow_factory, bulletin.id)
    assert len(fresh) == len(before)
    assert not {d.id for d in fresh} & {d.id for d in before}


async def test_a_publishing_bulletin_can_no_longer_be_edited_or_cancelled(
    bulletins: BulletinService, unit: Unit, uow_factory
) -> None:
    bulletin = await submitted(bulletins, unit)
    await bulletins.approve(unit.commander, bulletin.id, None)
    before = await deliveries_of(uow_factory, bulletin.id)
    edit = BulletinEdit(bulletin.id, title="Tiêu đề khác")
    await fails(bulletins.edit(unit.officer, edit), ErrorCode.INVALID_TRANSITION, ("status",))
    await fails(
        bulletins.cancel(unit.officer, bulletin.id, None), ErrorCode.INVALID_TRANSITION, ("status",)
    )
    assert await deliveries_of(uow_factory, bulletin.id) == before


async def test_cancelling_drops_the_unsent_deliveries(
    bulletins: BulletinService, unit: Unit, uow_factory, clock
) -> None:
    bulletin, _ = await scheduled(bulletins, unit, clock)
    cancelled = await bulletins.cancel(unit.officer, bulletin.id, "Sự việc đã được xử lý")
    assert cancelled.status is S.CANCELLED
    assert await deliveries_of(uow_factory, bulletin.id) == []
    stored = await load(uow_factory, bulletin.id)
    assert (stored.status, stored.history[-1].comment) == (S.CANCELLED, "Sự việc đã được xử lý")


async def test_rescheduling_moves_the_waiting_deliveries(
    bulletins: BulletinService, unit: Unit, uow_factory, clock
) -> None:
    bulletin, _ = await scheduled(bulletins, unit, clock)
    night = datetime(2026, 11, 24, 23, 0, tzinfo=VIETNAM)
    moved = await bulletins.schedule(unit.officer, bulletin.id, night, None)
    assert moved.status is S.SCHEDULED
    times = {d.channel: d.next_attempt_at for d in await deliveries_of(uow_factory, bulletin.id)}
    morning = datetime(2026, 11, 25, 6, 0, tzinfo=VIETNAM)
    assert times == {kind: morning if kind is K.ZALO_OA else night for kind in unit.groups}

    # Clearing the time publishes now.
    now_ = await bulletins.schedule(unit.officer, bulletin.id, None, None)
    assert now_.status is S.PUBLISHING
    deliveries = await deliveries_of(uow_factory, bulletin.id)
    assert {d.next_attempt_at for d in deliveries if d.channel is not K.ZALO_OA} == {clock.now()}


async def test_zalo_oa_deliveries_approved_at_night_wait_for_the_morning(
    bulletins: BulletinService, unit: Unit, uow_factory, clock
) -> None:
    clock.current = datetime(2026, 11, 23, 23, 0, tzinfo=VIETNAM).astimezone(UTC)
    bulletin = await submitted(bulletins, unit)
    await bulletins.approve(unit.commander, bulletin.id, None)
    times = {d.channel: d.next_attempt_at for d in await deliveries_of(uow_factory, bulletin.id)}
    assert times.pop(K.ZALO_OA) == datetime(2026, 11, 24, 6, 0, tzinfo=VIETNAM)
    assert set(times.values()) == {clock.now()}


# previews ---------------------------------------------------------------------------------------


async def test_preview_shows_each_channel_with_its_findings(
    bulletins: BulletinService, unit: Unit, uow_factory
) -> None:
    body = "Người dân cần cảnh giác với các cuộc gọi mạo danh cơ quan công an. " * 40
    bulletin = await bulletins.create(unit.officer, draft(unit, body=body))
    preview = await bulletins.preview(unit.officer, bulletin.id)

    link = f"{LINK_BASE}/{bulletin.id}"
    assert [r.channel for r in preview.channels] == sorted(unit.groups)
    assert sorted(t.group.id for t in preview.targets) == sorted(unit.group_ids())
    findings = {r.channel: {f.code: f.severity for f in r.findings} for r in preview.channels}
    assert findings[K.ZALO_GROUP] == {
        "text_truncated": Severity.WARNING,
        "video_not_supported": Severity.WARNING,
    }
    assert findings[K.ZALO_OA] == {"video_not_supported": Severity.WARNING}
    assert findings[K.FACEBOOK_PAGE] == findings[K.PORTAL] == findings[K.YOUTUBE_CHANNEL] == {}
    assert preview.blocking == []
    zalo = next(r for r in preview.channels if r.channel is K.ZALO_GROUP)
    assert len(zalo.text) <= 2000 and zalo.text.endswith(link)
    youtube = next(r for r in preview.channels if r.channel is K.YOUTUBE_CHANNEL)
    assert youtube.media == (VIDEO.filename,)
    assert (await load(uow_factory, bulletin.id)).status is S.DRAFT  # a preview writes nothing


async def test_preview_flags_what_would_block_the_approval(
    bulletins: BulletinService, unit: Unit
) -> None:
    bulletin = await bulletins.create(unit.officer, draft(unit, attachments=()))
    preview = await bulletins.preview(unit.commander, bulletin.id)
    assert [r.channel for r in preview.blocking] == [K.YOUTUBE_CHANNEL]
    assert [f.code for f in preview.blocking[0].findings] == ["video_required"]


async def test_preview_of_another_units_bulletin_is_not_found(
    bulletins: BulletinService, unit: Unit
) -> None:
    bulletin = await bulletins.create(unit.officer, draft(unit))
    await fails(
        bulletins.preview(unit.foreign_commander, bulletin.id), ErrorCode.NOT_FOUND, ("id",)
    )


async def test_preview_warns_of_quiet_hours_for_the_oa(
    bulletins: BulletinService, unit: Unit, clock
) -> None:
    night = datetime(2026, 11, 23, 22, 30, tzinfo=VIETNAM)
    bulletin = await bulletins.create(
        unit.officer,
        draft(
            unit, target_ward_ids=(), target_group_ids=unit.group_ids(K.ZALO_OA), scheduled_at=night
        ),
    )
    preview = await bulletins.preview(unit.officer, bulletin.id)
    assert [(r.channel, [f.code for f in r.findings]) for r in preview.channels] == [
        (K.ZALO_OA, ["video_not_supported", "quiet_hours"])
    ]
