"""DataLoaders, built per request: every relation costs one batched query, whatever the page size."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from domain.access import Actor, Role, Scope
from domain.bulletin import Bulletin
from domain.delivery import Delivery
from domain.group import Group
from domain.ids import BulletinId, DeliveryId, GroupId, InquiryId, MemberId, TipId, WardId
from domain.inquiry import Inquiry
from domain.member import Member, RoleGrant
from domain.ports import Reach, UnitOfWork, UnitOfWorkFactory
from domain.services.inquiries import InquiryService
from domain.tip import Tip, TipMessage
from domain.ward import Ward

K = TypeVar("K")
V = TypeVar("V")


class Loaders:
    def __init__(self, uow: UnitOfWorkFactory, actor: Actor) -> None:
        self._uow = uow
        self.actor = actor
        self.wards_by_id: DataLoader[WardId, Ward | None] = self._loader(
            lambda u, ids: u.wards.get_many(ids, scope=actor.scope())
        )
        self.groups_by_id: DataLoader[GroupId, Group | None] = self._loader(
            lambda u, ids: u.groups.get_many(ids, scope=actor.scope())
        )
        self.members_by_id: DataLoader[MemberId, Member | None] = self._loader(self._members)
        self.member_count_by_group: DataLoader[GroupId, int] = self._loader(
            lambda u, ids: u.groups.member_counts(ids)
        )
        self.member_ids_by_group: DataLoader[tuple[GroupId, int], list[MemberId]] = self._loader(
            self._member_ids_by_group
        )
        self.grants_by_member: DataLoader[MemberId, list[RoleGrant]] = self._loader(
            lambda u, ids: u.roles.grants_of_many(ids)
        )
        self.bulletins_by_id: DataLoader[BulletinId, Bulletin | None] = self._loader(
            self._bulletins
        )
        self.public_bulletins_by_id: DataLoader[BulletinId, Bulletin | None] = self._loader(
            self._public_bulletins
        )
        self.public_wards_by_id: DataLoader[WardId, Ward | None] = self._loader(
            lambda u, ids: u.wards.get_many(ids, scope=Scope.all())
        )
        self.deliveries_by_id: DataLoader[DeliveryId, Delivery | None] = self._loader(
            lambda u, ids: u.deliveries.get_many(ids, scope=actor.scope(Role.OFFICER))
        )
        self.deliveries_by_bulletin: DataLoader[BulletinId, list[Delivery]] = self._loader(
            lambda u, ids: u.deliveries.of_bulletins(ids, scope=actor.scope(Role.OFFICER))
        )
        # Keys come from deliveries already loaded within the caller's scope.
        self.reach_by_delivery: DataLoader[DeliveryId, Reach | None] = self._loader(
            lambda u, ids: u.deliveries.reach_many(ids)
        )
        # Tips are for the staff (officer and up) of their ward, and so is their thread.
        self.tips_by_id: DataLoader[TipId, Tip | None] = self._loader(
            lambda u, ids: u.tips.get_many(ids, scope=actor.scope(Role.OFFICER))
        )
        self.messages_by_tip: DataLoader[TipId, list[TipMessage]] = self._loader(
            lambda u, ids: u.tips.messages_of(ids, scope=actor.scope(Role.OFFICER))
        )

        # Staff of its ward and the member who asked see an inquiry.
        self.inquiries_by_id: DataLoader[InquiryId, Inquiry | None] = self._loader(self._inquiries)

    async def _inquiries(self, uow: UnitOfWork, ids: list[InquiryId]) -> list[Inquiry | None]:
        found = await uow.inquiries.get_many(ids, scope=Scope.all())
        return [
            q if q is not None and InquiryService.visible_to(self.actor, q) else None for q in found
        ]

    def _loader(
        self, fetch: Callable[[UnitOfWork, list[Any]], Awaitable[Sequence[Any]]]
    ) -> DataLoader:
        async def load(keys: list[Any]) -> list[Any]:
            async with self._uow() as uow:
                return list(await fetch(uow, keys))

        return DataLoader(load_fn=load)

    async def _members(self, uow: UnitOfWork, ids: list[MemberId]) -> list[Member | None]:
        """Officers see their wards' members; everyone sees themselves."""
        found = await uow.members.get_many(ids, scope=self.actor.scope(Role.OFFICER))
        if self.actor.member_id in ids:
            (me,) = await uow.members.get_many([self.actor.member_id], scope=Scope.all())
            found = [
                me if key == self.actor.member_id else m for key, m in zip(ids, found, strict=True)
            ]
        return [m if m is not None and not m.removed else None for m in found]

    async def _bulletins(self, uow: UnitOfWork, ids: list[BulletinId]) -> list[Bulletin | None]:
        """Staff (officer and up) of the bulletin's ward see it in any state; other members of
        the ward only once it is published."""
        found = await uow.bulletins.get_many(ids, scope=self.actor.scope())
        return [
            b if b is not None and (self.actor.has(Role.OFFICER, b.ward_id) or b.public) else None
            for b in found
        ]

    async def _public_bulletins(
        self, uow: UnitOfWork, ids: list[BulletinId]
    ) -> list[Bulletin | None]:
        """What anyone may read, token or not: published bulletins of any ward."""
        found = await uow.bulletins.get_many(ids, scope=Scope.all())
        return [b if b is not None and b.public else None for b in found]

    async def _member_ids_by_group(
        self, uow: UnitOfWork, keys: list[tuple[GroupId, int]]
    ) -> list[list[MemberId]]:
        by_limit: dict[int, list[GroupId]] = defaultdict(list)
        for group_id, limit in keys:
            by_limit[limit].append(group_id)
        found: dict[tuple[GroupId, int], list[MemberId]] = {}
        for limit, group_ids in by_limit.items():
            lists = await uow.members.ids_by_group(group_ids, limit=limit)
            found.update({(g, limit): ids for g, ids in zip(group_ids, lists, strict=True)})
        return [found[key] for key in keys]
