"""One step of a state machine's history: the same shape for bulletins, deliveries and tips."""

# No `from __future__ import annotations` here: each step type is built with its own status enum,
# which strawberry must see as a real annotation object, not as a name to look up later.

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from api.graphql.context import Info
from api.graphql.organisation.types import Member
from domain.history import Transition
from domain.ids import MemberId


async def member_of(info: Info, member_id: MemberId | None) -> Member | None:
    """A member through the request's loader; null when absent or not visible to the caller."""
    if member_id is None:
        return None
    member = await info.context.loaders.members_by_id.load(member_id)
    return Member.from_domain(member) if member else None


def transition_type(name: str, status: Any, domain_status: type[Enum], what: str) -> Any:
    """The GraphQL type of one step in `what` (e.g. "a bulletin's workflow")."""

    @strawberry.type(name=name, description=f"One step in {what}: who moved it, when, and why.")
    class Step:
        from_status: status  # type: ignore[valid-type]
        to_status: status  # type: ignore[valid-type]
        at: datetime
        comment: str | None
        actor_id: strawberry.Private[MemberId | None]

        @classmethod
        def from_domain(cls, step: Transition) -> Any:
            return cls(
                from_status=domain_status(step.from_status),
                to_status=domain_status(step.to_status),
                at=step.at,
                comment=step.comment,
                actor_id=step.actor_id,
            )

        @strawberry.field(
            description="Who did it; null for the system or when you may not see them."
        )
        async def actor(self, info: Info) -> Member | None:
            return await member_of(info, self.actor_id)

    return Step
