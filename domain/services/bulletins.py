"""Use cases of bulletins: write, submit, approve (writing the delivery outbox), preview, retry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from domain.access import Actor, Role, Scope
from domain.bulletin import Attachment, Bulletin, BulletinKind, BulletinStatus
from domain.channel_rules import Rendering, Severity, end_of_quiet_hours, render
from domain.channels import ChannelKind
from domain.delivery import Delivery, DeliveryStatus
from domain.errors import DomainError, ErrorCode, Msg, Problem, not_found
from domain.events import DeliveryUpdated
from domain.group import Group
from domain.ids import BulletinId, DeliveryId, GroupId, WardId
from domain.ports import Clock, EventPublisher, UnitOfWork, UnitOfWorkFactory

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class BulletinDraft:
    ward_id: WardId
    kind: BulletinKind
    title: str
    body: str
    attachments: tuple[Attachment, ...] = ()
    target_group_ids: tuple[GroupId, ...] = ()
    target_ward_ids: tuple[WardId, ...] = ()
    scheduled_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class BulletinEdit:
    id: BulletinId
    kind: BulletinKind | None = None
    title: str | None = None
    body: str | None = None
    attachments: tuple[Attachment, ...] | None = None
    target_group_ids: tuple[GroupId, ...] | None = None
    target_ward_ids: tuple[WardId, ...] | None = None
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class TargetPreview:
    group: Group
    rendering: Rendering


@dataclass(frozen=True, slots=True)
class Preview:
    bulletin: Bulletin
    targets: list[TargetPreview]
    channels: list[Rendering]

    @property
    def blocking(self) -> list[Rendering]:
        return [r for r in self.channels if r.blocking]


class BulletinService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        publisher: EventPublisher,
        link_for: Callable[[BulletinId], str],
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._publisher = publisher
        self._link_for = link_for

    async def create(self, actor: Actor, cmd: BulletinDraft) -> Bulletin:
        async def run(uow: UnitOfWork) -> Bulletin:
            await _ward_of_actor(uow, actor, cmd.ward_id, ("wardId",))
            actor.require(Role.OFFICER, cmd.ward_id, ("wardId",))
            assert actor.member_id is not None
            bulletin = Bulletin.draft(
                ward_id=cmd.ward_id,
                author_id=actor.member_id,
                kind=cmd.kind,
                title=cmd.title,
                body=cmd.body,
                now=self._clock.now(),
                attachments=cmd.attachments,
                target_group_ids=cmd.target_group_ids,
                target_ward_ids=cmd.target_ward_ids,
                scheduled_at=cmd.scheduled_at,
            )
            await _check_targets(uow, bulletin)
            uow.bulletins.add(bulletin)
            return bulletin

        return await self._in_uow(run)

    async def edit(self, actor: Actor, cmd: BulletinEdit) -> Bulletin:
        async def run(uow: UnitOfWork) -> Bulletin:
            bulletin = await self._writable(uow, actor, cmd.id)
            was_approved = bulletin.status in (BulletinStatus.APPROVED, BulletinStatus.SCHEDULED)
            bulletin.edit(
                actor_id=actor.member_id,
                now=self._clock.now(),
                kind=cmd.kind,
                title=cmd.title,
                body=cmd.body,
                attachments=cmd.attachments,
                target_group_ids=cmd.target_group_ids,
                target_ward_ids=cmd.target_ward_ids,
                comment=cmd.comment,
            )
            await _check_targets(uow, bulletin)
            if was_approved and bulletin.status is BulletinStatus.SUBMITTED:
                # The approval covered the old text: its outbox goes with it.
                await _drop_unsent(uow, bulletin.id)
            return bulletin

        return await self._in_uow(run)

    async def submit(self, actor: Actor, bulletin_id: BulletinId, comment: str | None) -> Bulletin:
        async def run(uow: UnitOfWork) -> Bulletin:
            bulletin = await self._writable(uow, actor, bulletin_id)
            bulletin.submit(actor_id=actor.member_id, now=self._clock.now(), comment=comment)
            return bulletin

        return await self._in_uow(run)

    async def approve(self, actor: Actor, bulletin_id: BulletinId, comment: str | None) -> Bulletin:
        """Approve and, in the same transaction, write one delivery per target group."""

        async def run(uow: UnitOfWork) -> Bulletin:
            bulletin = await _visible(uow, actor, bulletin_id, for_update=True)
            now = self._clock.now()
            bulletin.approve(actor, now, comment)
            groups = await _resolve_targets(uow, bulletin)
            if not groups:
                raise DomainError.one(
                    ErrorCode.REQUIRED,
                    "Các đơn vị nhận không còn nhóm nào đang hoạt động.",
                    "The targets have no active group left.",
                    ("targetGroupIds",),
                )
            renderings = {
                kind: render(bulletin, kind, self._link_for(bulletin.id), now)
                for kind in {g.channel for g in groups}
            }
            problems = [
                Problem(ErrorCode.INVALID, f.message, ("channels", kind.value, f.code))
                for kind, r in sorted(renderings.items())
                for f in r.findings
                if f.severity is Severity.BLOCKING
            ]
            if problems:
                raise DomainError(*problems)
            start = bulletin.scheduled_at if bulletin.status is BulletinStatus.SCHEDULED else now
            for group in groups:
                not_before = start
                if group.channel is ChannelKind.ZALO_OA:
                    not_before = end_of_quiet_hours(start)
                uow.deliveries.add(
                    Delivery.create(
                        bulletin_id=bulletin.id,
                        group_id=group.id,
                        channel=group.channel,
                        now=now,
                        not_before=not_before,
                    )
                )
            if bulletin.status is BulletinStatus.APPROVED:
                bulletin.start_publishing(now)
            return bulletin

        return await self._in_uow(run)

    async def reject(self, actor: Actor, bulletin_id: BulletinId, comment: str | None) -> Bulletin:
        async def run(uow: UnitOfWork) -> Bulletin:
            bulletin = await _visible(uow, actor, bulletin_id, for_update=True)
            bulletin.reject(actor, self._clock.now(), comment)
            return bulletin

        return await self._in_uow(run)

    async def schedule(
        self, actor: Actor, bulletin_id: BulletinId, at: datetime | None, comment: str | None
    ) -> Bulletin:
        async def run(uow: UnitOfWork) -> Bulletin:
            bulletin = await self._writable(uow, actor, bulletin_id)
            now = self._clock.now()
            bulletin.schedule(at, actor_id=actor.member_id, now=now, comment=comment)
            for delivery in await uow.deliveries.of_bulletin_for_update(bulletin.id):
                if delivery.status is DeliveryStatus.PENDING:
                    start = at or now
                    if delivery.channel is ChannelKind.ZALO_OA:
                        start = end_of_quiet_hours(start)
                    delivery.next_attempt_at = start
            if bulletin.status is BulletinStatus.APPROVED:
                bulletin.start_publishing(now)
            return bulletin

        return await self._in_uow(run)

    async def cancel(self, actor: Actor, bulletin_id: BulletinId, comment: str | None) -> Bulletin:
        async def run(uow: UnitOfWork) -> Bulletin:
            bulletin = await self._writable(uow, actor, bulletin_id)
            bulletin.cancel(actor_id=actor.member_id, now=self._clock.now(), comment=comment)
            await _drop_unsent(uow, bulletin.id)
            return bulletin

        return await self._in_uow(run)

    async def retry_delivery(
        self, actor: Actor, delivery_id: DeliveryId, comment: str | None
    ) -> Delivery:
        """Send a dead delivery again; its bulletin goes back to publishing until it settles."""
        retried: list[DeliveryUpdated] = []

        async def run(uow: UnitOfWork) -> Delivery:
            actor.require_authenticated()
            scope = actor.scope(Role.OFFICER)
            found = await uow.deliveries.get(delivery_id, scope=scope)
            if found is None:
                raise not_found("lượt gửi", "Delivery", ("id",))
            # The bulletin is locked before the delivery, as the worker locks them.
            bulletin = await _visible(uow, actor, found.bulletin_id, for_update=True)
            delivery = await uow.deliveries.get(delivery_id, scope=scope, for_update=True)
            if delivery is None:
                raise not_found("lượt gửi", "Delivery", ("id",))
            actor.require(Role.OFFICER, bulletin.ward_id)
            now = self._clock.now()
            delivery.retry_by_hand(actor_id=actor.member_id, now=now, comment=comment)
            retried.append(
                DeliveryUpdated(
                    delivery.id, delivery.bulletin_id, bulletin.ward_id, delivery.status.value
                )
            )
            statuses = await uow.deliveries.statuses_of(bulletin.id)
            bulletin.settle(statuses, now)
            return delivery

        delivery = await self._in_uow(run)
        for event in retried:
            await self._publisher.publish(event)
        return delivery

    async def preview(self, actor: Actor, bulletin_id: BulletinId) -> Preview:
        async with self._uow() as uow:
            bulletin = await _visible(uow, actor, bulletin_id)
            groups = await _resolve_targets(uow, bulletin)
        now = self._clock.now()
        link = self._link_for(bulletin.id)
        renderings = {
            kind: render(bulletin, kind, link, now) for kind in {g.channel for g in groups}
        }
        return Preview(
            bulletin=bulletin,
            targets=[TargetPreview(g, renderings[g.channel]) for g in groups],
            channels=[renderings[k] for k in sorted(renderings)],
        )

    async def _writable(self, uow: UnitOfWork, actor: Actor, bulletin_id: BulletinId) -> Bulletin:
        bulletin = await _visible(uow, actor, bulletin_id, for_update=True)
        actor.require(Role.OFFICER, bulletin.ward_id)
        return bulletin

    async def _in_uow(self, work: Callable[[UnitOfWork], Awaitable[R]]) -> R:
        async with self._uow() as uow:
            result = await work(uow)
            await uow.commit()
            events = uow.collect_events()
        for event in events:
            await self._publisher.publish(event)
        return result


async def _ward_of_actor(
    uow: UnitOfWork, actor: Actor, ward_id: WardId, field: tuple[str, ...]
) -> None:
    actor.require_authenticated()
    if await uow.wards.get(ward_id, scope=actor.scope(), for_update=False) is None:
        raise not_found("đơn vị", "Unit", field)


async def _visible(
    uow: UnitOfWork, actor: Actor, bulletin_id: BulletinId, *, for_update: bool = False
) -> Bulletin:
    """Staff of the bulletin's ward see it; residents only see what was published."""
    actor.require_authenticated()
    bulletin = await uow.bulletins.get(
        bulletin_id, scope=actor.scope(Role.OFFICER), for_update=for_update
    )
    if bulletin is None:
        raise not_found("bản tin", "Bulletin", ("id",))
    return bulletin


async def _check_targets(uow: UnitOfWork, bulletin: Bulletin) -> None:
    """Targets are the bulletin's own unit, units below it, and their active groups."""
    allowed = {bulletin.ward_id, *await uow.wards.descendants([bulletin.ward_id])}
    problems: list[Problem] = []
    wards = await uow.wards.get_many(list(bulletin.target_ward_ids), scope=Scope.all())
    for index, (ward_id, ward) in enumerate(zip(bulletin.target_ward_ids, wards, strict=True)):
        if ward is None or ward_id not in allowed:
            problems.append(_target_problem("đơn vị", "unit", ("targetWardIds", str(index))))
    groups = await uow.groups.get_many(list(bulletin.target_group_ids), scope=Scope.all())
    for index, group in enumerate(groups):
        if group is None or group.archived or group.ward_id not in allowed:
            problems.append(_target_problem("nhóm", "group", ("targetGroupIds", str(index))))
    if problems:
        raise DomainError(*problems)


def _target_problem(what_vi: str, what_en: str, field: tuple[str, ...]) -> Problem:
    return Problem(
        ErrorCode.NOT_FOUND,
        Msg(
            f"Không tìm thấy {what_vi} nhận trong phạm vi của bản tin.",
            f"No such {what_en} within the bulletin's unit.",
        ),
        field,
    )


async def _resolve_targets(uow: UnitOfWork, bulletin: Bulletin) -> list[Group]:
    """Explicit groups plus every active group of the target units, each once, in id order."""
    found: dict[GroupId, Group] = {}
    for group in await uow.groups.get_many(list(bulletin.target_group_ids), scope=Scope.all()):
        if group is not None and not group.archived:
            found[group.id] = group
    if bulletin.target_ward_ids:
        for group in await uow.groups.active_in_wards(list(bulletin.target_ward_ids)):
            found[group.id] = group
    return [found[g] for g in sorted(found)]


async def _drop_unsent(uow: UnitOfWork, bulletin_id: BulletinId) -> None:
    for delivery in await uow.deliveries.of_bulletin_for_update(bulletin_id):
        if delivery.status in (DeliveryStatus.PENDING, DeliveryStatus.FAILED):
            uow.deliveries.remove(delivery)
