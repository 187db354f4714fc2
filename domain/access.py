"""Who may do what, and where. Pure rules over an Actor; nothing here touches storage."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from domain.errors import DomainError, ErrorCode, forbidden
from domain.ids import MemberId, WardId


class Role(StrEnum):
    RESIDENT = "resident"
    OFFICER = "officer"
    COMMANDER = "commander"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Role.RESIDENT: 0, Role.OFFICER: 1, Role.COMMANDER: 2, Role.ADMIN: 3}


@dataclass(frozen=True, slots=True)
class Scope:
    """The wards a read or write may touch. `everything` is for the system itself, never a user."""

    wards: frozenset[WardId] = frozenset()
    everything: bool = False

    @classmethod
    def all(cls) -> Scope:
        return cls(everything=True)

    def allows(self, ward_id: WardId | None) -> bool:
        return self.everything or (ward_id is not None and ward_id in self.wards)


@dataclass(frozen=True, slots=True)
class Actor:
    """An authenticated caller with the highest role it holds in each ward it can reach.

    `roles` is already expanded: an admin of a parent unit appears as admin of every ward below it.
    """

    member_id: MemberId | None
    roles: Mapping[WardId, Role] = field(default_factory=dict)
    system: bool = False

    @classmethod
    def anonymous(cls) -> Actor:
        return cls(member_id=None)

    @classmethod
    def system_actor(cls) -> Actor:
        return cls(member_id=None, system=True)

    @property
    def authenticated(self) -> bool:
        return self.system or self.member_id is not None

    def role_in(self, ward_id: WardId) -> Role | None:
        return self.roles.get(ward_id)

    def has(self, role: Role, ward_id: WardId) -> bool:
        if self.system:
            return True
        held = self.roles.get(ward_id)
        return held is not None and held.rank >= role.rank

    def scope(self, at_least: Role = Role.RESIDENT) -> Scope:
        if self.system:
            return Scope.all()
        return Scope(frozenset(w for w, r in self.roles.items() if r.rank >= at_least.rank))

    def require_authenticated(self) -> None:
        if not self.authenticated:
            raise DomainError.one(
                ErrorCode.UNAUTHENTICATED,
                "Bạn cần đăng nhập.",
                "You need to sign in.",
            )

    def require(self, role: Role, ward_id: WardId, field: tuple[str, ...] = ()) -> None:
        self.require_authenticated()
        if not self.has(role, ward_id):
            raise forbidden(field)


def expand_roles(
    grants: Iterable[tuple[WardId, Role]], under_admin: Iterable[WardId]
) -> dict[WardId, Role]:
    """Each ward's highest role; `under_admin` are the units below any unit where admin is held."""
    roles: dict[WardId, Role] = {}
    for ward_id, role in [*grants, *((w, Role.ADMIN) for w in under_admin)]:
        held = roles.get(ward_id)
        if held is None or role.rank > held.rank:
            roles[ward_id] = role
    return roles


def can_assign(actor: Actor, role: Role, ward_id: WardId) -> bool:
    """Commanders appoint residents and officers; only admins appoint commanders and admins."""
    needed = Role.COMMANDER if role.rank <= Role.OFFICER.rank else Role.ADMIN
    return actor.has(needed, ward_id)


def can_approve_bulletin(actor: Actor, ward_id: WardId, author_id: MemberId) -> bool:
    return actor.member_id != author_id and actor.role_in(ward_id) is Role.COMMANDER


def can_reveal_reporter(actor: Actor, ward_id: WardId, assignee_id: MemberId | None) -> bool:
    if actor.member_id is None:
        return False
    return actor.role_in(ward_id) is Role.COMMANDER or (
        assignee_id is not None and actor.member_id == assignee_id
    )
