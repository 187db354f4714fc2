"""The procedure knowledge base: admins write and publish articles; anyone reads and searches them.

Matching runs on an index of the published articles that is rebuilt whenever the stored
articles change (a cheap fingerprint query tells), so every replica answers from the same text.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from domain.access import Actor, Role
from domain.errors import DomainError, ErrorCode, forbidden, not_found
from domain.ports import Clock, ProcedureMatch, ProcedureMatcher, UnitOfWork, UnitOfWorkFactory
from domain.procedure import Procedure, ProcedureContent, ProcedureStatus, valid_code

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Ranked:
    procedure: Procedure
    match: ProcedureMatch


class ProcedureService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, matcher: ProcedureMatcher) -> None:
        self._uow = uow
        self._clock = clock
        self._matcher = matcher
        self._published: dict[str, Procedure] = {}
        self._rebuild = asyncio.Lock()

    # Reading

    async def get(self, actor: Actor | None, code: str) -> Procedure | None:
        """A published article for anyone; drafts and retired ones for those who edit them."""
        async with self._uow() as uow:
            procedure = await uow.procedures.by_code(code)
        if procedure is None:
            return None
        if procedure.status is not ProcedureStatus.PUBLISHED and not can_edit(actor):
            return None
        return procedure

    async def listed(
        self, actor: Actor | None, statuses: Sequence[ProcedureStatus] = ()
    ) -> list[Procedure]:
        if not can_edit(actor):
            statuses = (ProcedureStatus.PUBLISHED,)
        async with self._uow() as uow:
            return await uow.procedures.listed(statuses)

    async def revisions(self, actor: Actor | None, procedure: Procedure) -> list[ProcedureContent]:
        if not can_edit(actor):
            return []
        async with self._uow() as uow:
            return await uow.procedures.revisions(procedure.id)

    async def rank(self, question: str, *, limit: int = 3) -> list[Ranked]:
        """The published articles that best answer `question`, best first."""
        await self._fresh_index()
        return [
            Ranked(self._published[m.code], m)
            for m in self._matcher.rank(question, limit=limit)
            if m.code in self._published
        ]

    async def _fresh_index(self) -> None:
        async with self._uow() as uow:
            fingerprint = await uow.procedures.fingerprint()
        if fingerprint == self._matcher.fingerprint:
            return
        async with self._rebuild:
            if fingerprint == self._matcher.fingerprint:
                return
            async with self._uow() as uow:
                published = await uow.procedures.listed([ProcedureStatus.PUBLISHED])
            self._published = {p.code: p for p in published}
            self._matcher.build(published, fingerprint)

    # Writing

    async def create(
        self,
        actor: Actor,
        code: str,
        content: ProcedureContent,
        *,
        comment: str | None = None,
        allowed: bool = False,
    ) -> Procedure:
        """A draft. `allowed`: the caller already checked a narrower right (an officer turning an
        inquiry's answer into an article); otherwise only admins write the knowledge base."""
        if not allowed:
            require_editor(actor)
        code = valid_code(code)

        async def run(uow: UnitOfWork) -> Procedure:
            if await uow.procedures.by_code(code) is not None:
                raise DomainError.one(
                    ErrorCode.DUPLICATE,
                    "Đã có thủ tục với mã này.",
                    "A procedure with this code already exists.",
                    ("code",),
                )
            procedure = Procedure.draft(
                code, content, actor_id=actor.member_id, now=self._now(), comment=comment
            )
            uow.procedures.add(procedure)
            return procedure

        return await self._in_uow(run)

    async def update(
        self, actor: Actor, code: str, content: ProcedureContent, comment: str | None = None
    ) -> Procedure:
        require_editor(actor)
        return await self._change(
            code,
            lambda p: p.revise(content, actor_id=actor.member_id, now=self._now(), comment=comment),
        )

    async def publish(self, actor: Actor, code: str) -> Procedure:
        require_editor(actor)
        return await self._change(
            code, lambda p: p.publish(actor_id=actor.member_id, now=self._now())
        )

    async def retire(self, actor: Actor, code: str, comment: str | None = None) -> Procedure:
        require_editor(actor)
        return await self._change(
            code, lambda p: p.retire(actor_id=actor.member_id, now=self._now(), comment=comment)
        )

    async def seed(self, articles: Sequence[tuple[str, ProcedureContent]]) -> int:
        """Publish the articles whose codes are not stored yet; returns how many were added.
        Idempotent, and never overwrites an article an admin has edited since."""
        now = self._now()

        async def run(uow: UnitOfWork) -> int:
            known = {p.code for p in await uow.procedures.listed()}
            added = 0
            for code, content in articles:
                if code in known:
                    continue
                procedure = Procedure.draft(code, content, actor_id=None, now=now)
                procedure.publish(actor_id=None, now=now)
                uow.procedures.add(procedure)
                added += 1
            return added

        return await self._in_uow(run)

    async def _change(self, code: str, change: Callable[[Procedure], None]) -> Procedure:
        async def run(uow: UnitOfWork) -> Procedure:
            procedure = await uow.procedures.by_code(code, for_update=True)
            if procedure is None:
                raise not_found("thủ tục", "Procedure", ("code",))
            change(procedure)
            return procedure

        return await self._in_uow(run)

    def _now(self) -> datetime:
        return self._clock.now()

    async def _in_uow(self, work: Callable[[UnitOfWork], Awaitable[R]]) -> R:
        async with self._uow() as uow:
            result = await work(uow)
            await uow.commit()
        return result


def can_edit(actor: Actor | None) -> bool:
    """The knowledge base belongs to the whole force: an admin of any unit edits it."""
    if actor is None:
        return False
    return actor.system or any(r is Role.ADMIN for r in actor.roles.values())


def require_editor(actor: Actor) -> None:
    actor.require_authenticated()
    if not can_edit(actor):
        raise forbidden()
