"""Group membership sync: who is really in each OA-managed Zalo group and among each OA's
followers, so group sizes and households reached are counted, not guessed.

Each person the platform lists is matched to a member by their Zalo user id, and by nothing else:
two people may share a name, and a phone number says nobody is the same Zalo user, so nobody is
ever merged on a guess. A known member is added to the group (their ward never changes); an
unknown user becomes a new resident of the group's ward, linked by their Zalo id. Members linked
by a Zalo id who are no longer listed leave the group (they are not deleted); members with no
Zalo id in the group (officers added by hand, imported households) are never touched.

The work is done in batches, one unit of work each, so a large OA never becomes one giant
transaction. A platform failure stops that group's sync: the batches already linked stay (those
people were really listed), but nobody is removed, since the listing was not complete.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from domain.access import Role, Scope
from domain.channels import ChannelKind, Platform
from domain.errors import not_found
from domain.events import MembersImported
from domain.group import Group
from domain.ids import GroupId, MemberId
from domain.member import ChannelIdentity, Member, RoleGrant
from domain.ports import (
    ChannelError,
    ChannelMember,
    Clock,
    EventPublisher,
    GroupFilter,
    GroupRef,
    MemberFilter,
    MembershipSource,
    MembershipTruncated,
    UnitOfWorkFactory,
)
from domain.text import clean

log = logging.getLogger(__name__)

BATCH = 500
NAME_LIMIT = 120
# The ChannelError code of an account without credentials: there is nothing to sync.
NO_CREDENTIALS = "credentials"


@dataclass(slots=True)
class SyncReport:
    """What one group's sync did.

    `seen`: distinct users the platform listed. `linked`: members already known by their Zalo id
    who were added to the group now. `created`: new residents. `left`: members linked by a Zalo
    id who were no longer listed and were taken out of the group. `complete` is True only when
    the platform listed everyone, the one case in which anybody is taken out.
    """

    group_id: GroupId
    group_name: str
    channel: ChannelKind
    seen: int = 0
    linked: int = 0
    created: int = 0
    left: int = 0
    complete: bool = False
    skipped: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class MembershipSync:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        publisher: EventPublisher,
        sources: Mapping[ChannelKind, MembershipSource],
        *,
        batch: int = BATCH,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._publisher = publisher
        self._sources = dict(sources)
        self._batch = batch

    async def sync_all(self) -> list[SyncReport]:
        """Every active group on a listable channel that has an account; one failing group
        is reported and the others go on."""
        reports: list[SyncReport] = []
        for group in await self._syncable_groups():
            try:
                reports.append(await self._sync(group))
            except Exception as error:  # e.g. the database went away mid-group
                log.exception("membership sync of group %s failed", group.id)
                report = _report(group)
                report.error = f"{type(error).__name__}: {error}"
                reports.append(report)
        return reports

    async def sync_group(self, group_id: GroupId) -> SyncReport:
        async with self._uow() as uow:
            group = await uow.groups.get(group_id, scope=Scope.all())
        if group is None:
            raise not_found("nhóm", "Group", ("id",))
        return await self._sync(group)

    async def _syncable_groups(self) -> list[Group]:
        if not self._sources:
            return []  # an empty channel filter would mean every channel
        groups: list[Group] = []
        after: str | None = None
        query = GroupFilter(channels=tuple(self._sources))
        while True:
            async with self._uow() as uow:
                page = await uow.groups.page(query, scope=Scope.all(), after=after, first=500)
            groups.extend(g for g in page.items if g.credentials_ref)
            if not page.has_next:
                return groups
            after = page.end_cursor

    async def _sync(self, group: Group) -> SyncReport:
        report = _report(group)
        source = self._sources.get(group.channel)
        if group.archived:
            report.skipped = "the group is archived"
        elif source is None:
            report.skipped = f"no member listing for {group.channel.value}"
        elif not group.credentials_ref:
            report.skipped = "the group has no channel account"
        if source is None or report.skipped:
            return report
        seen: set[str] = set()
        pending: list[ChannelMember] = []
        try:
            async with contextlib.aclosing(source.members(_target(group))) as people:
                async for person in people:
                    if person.external_user_id in seen:
                        continue  # a listing that shifted between pages repeats people
                    seen.add(person.external_user_id)
                    pending.append(person)
                    if len(pending) >= self._batch:
                        await self._link(group, pending, report)
                        pending = []
            report.complete = True
        except MembershipTruncated as error:
            log.warning("members of group %s listed only in part: %s", group.id, error)
        except ChannelError as error:
            if error.code == NO_CREDENTIALS and not seen:
                report.skipped = str(error)
            else:
                report.error = f"{error.code}: {error}" if error.code else str(error)
                log.warning("membership sync of group %s stopped: %s", group.id, report.error)
        if report.skipped:
            return report
        await self._link(group, pending, report)
        report.seen = len(seen)
        if report.complete and seen:
            report.left = await self._remove_departed(group, seen)
        elif report.complete:
            # A group does not empty itself between two syncs; a platform answering "nobody" is
            # far likelier to be wrong, so nobody is taken out on its word alone.
            log.warning("group %s listed no members; keeping its links", group.id)
        if report.created or report.linked:
            await self._publisher.publish(
                MembersImported(group.ward_id, report.created, report.linked)
            )
        log.info(
            "membership sync of group %s: seen %d, linked %d, created %d, left %d%s",
            group.id,
            report.seen,
            report.linked,
            report.created,
            report.left,
            "" if report.complete else " (incomplete)",
        )
        return report

    async def _link(
        self, group: Group, people: Sequence[ChannelMember], report: SyncReport
    ) -> None:
        """Put everyone listed in the group: known members by Zalo id, the rest as new residents."""
        if not people:
            return
        now = self._clock.now()
        created: list[Member] = []
        linked = 0
        async with self._uow() as uow:
            known = await uow.members.by_channel_ids(
                Platform.ZALO, [p.external_user_id for p in people]
            )
            for person in people:
                member = known.get(person.external_user_id)
                if member is None:
                    fresh = Member.create(
                        ward_id=group.ward_id,
                        full_name=_full_name(person),
                        group_ids=[group.id],
                        now=now,
                    )
                    fresh.link(ChannelIdentity(Platform.ZALO, person.external_user_id))
                    fresh.events.clear()  # one MembersImported event speaks for the sync
                    uow.members.add(fresh)
                    created.append(fresh)
                    continue
                # A removed member keeps their Zalo id but was taken off on purpose: leave them.
                if member.removed or group.id in member.group_ids:
                    continue
                tracked = await uow.members.get(member.id, scope=Scope.all(), for_update=True)
                if tracked is None or tracked.removed or group.id in tracked.group_ids:
                    continue  # e.g. a member listed under two Zalo ids, already added
                tracked.update(group_ids=[*tracked.group_ids, group.id])
                linked += 1
            await uow.roles.grant_many(
                [(m.id, RoleGrant(group.ward_id, Role.RESIDENT)) for m in created]
            )
            await uow.commit()
        report.created += len(created)
        report.linked += linked

    async def _remove_departed(self, group: Group, listed: set[str]) -> int:
        """Take out of the group the members linked by a Zalo id that was not listed."""
        departed: list[MemberId] = []
        after: str | None = None
        query = MemberFilter(group_ids=(group.id,))
        while True:
            async with self._uow() as uow:
                page = await uow.members.page(
                    query, scope=Scope.all(), after=after, first=self._batch
                )
            for member in page.items:
                ids = [i.external_id for i in member.identities if i.platform is Platform.ZALO]
                if ids and not listed.intersection(ids):
                    departed.append(member.id)
            if not page.has_next:
                break
            after = page.end_cursor
        left = 0
        for start in range(0, len(departed), self._batch):
            async with self._uow() as uow:
                for member_id in departed[start : start + self._batch]:
                    member = await uow.members.get(member_id, scope=Scope.all(), for_update=True)
                    if member is None or member.removed or group.id not in member.group_ids:
                        continue
                    member.update(group_ids=[g for g in member.group_ids if g != group.id])
                    left += 1
                await uow.commit()
        return left


def _report(group: Group) -> SyncReport:
    return SyncReport(group_id=group.id, group_name=group.name, channel=group.channel)


def _target(group: Group) -> GroupRef:
    return GroupRef(
        group_id=group.id,
        ward_id=group.ward_id,
        channel=group.channel,
        external_id=group.external_id,
        name=group.name,
        credentials_ref=group.credentials_ref,
    )


def _full_name(person: ChannelMember) -> str:
    """The name the platform shows, or "Người dùng Zalo" and the id's last four digits."""
    name = clean(person.display_name or "")[:NAME_LIMIT].rstrip()
    return name or f"Người dùng Zalo {person.external_user_id[-4:]}"
