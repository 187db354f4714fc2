"""The recorded history of an entity's state machine: who moved it, when, and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.ids import MemberId


@dataclass(frozen=True, slots=True)
class Transition:
    """One step in an entity's history. Kept with the entity and never published, so not an Event."""

    from_status: str
    to_status: str
    actor_id: MemberId | None
    at: datetime
    comment: str | None = None
