"""Overdue work goes to the ward's commanders: the part tips and inquiries share."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.access import Role
from domain.ids import MemberId, WardId
from domain.ports import RoleRepository

ESCALATION_BATCH = 100


class Escalable(Protocol):
    @property
    def id(self) -> uuid.UUID: ...

    @property
    def ward_id(self) -> WardId: ...

    def escalate(self, now: datetime, commander_ids: tuple[MemberId, ...] = ()) -> bool: ...


@dataclass(frozen=True, slots=True)
class Escalation:
    """`subject_id` is the tip's or the inquiry's id."""

    subject_id: uuid.UUID
    ward_id: WardId
    commander_ids: tuple[MemberId, ...]


async def escalate_to_commanders(
    roles: RoleRepository, overdue: Sequence[Escalable], now: datetime
) -> list[Escalation]:
    """Each one that was not escalated for its current deadline, with its ward's commanders
    (looked up once per ward); a ward without any still escalates, and shows it."""
    commanders: dict[WardId, tuple[MemberId, ...]] = {}
    escalated: list[Escalation] = []
    for item in overdue:
        if item.ward_id not in commanders:
            holders = await roles.holders(item.ward_id, Role.COMMANDER)
            commanders[item.ward_id] = tuple(sorted(holders))
        if item.escalate(now, commanders[item.ward_id]):
            escalated.append(Escalation(item.id, item.ward_id, commanders[item.ward_id]))
    return escalated
