"""The unit of work: one session, its repositories, commit or roll back, and the events it saw."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.persistence.bulletins import SqlBulletinRepository, SqlDeliveryRepository
from adapters.persistence.inquiries import SqlInquiryRepository, SqlProcedureRepository
from adapters.persistence.partners import (
    SqlPartnerClientRepository,
    SqlPartnerWebhookRepository,
    SqlWebhookDeliveryRepository,
)
from adapters.persistence.repositories import (
    SqlGroupRepository,
    SqlMemberRepository,
    SqlRoleRepository,
    SqlWardRepository,
)
from adapters.persistence.tips import SqlAuditLog, SqlTipRepository
from domain.events import Event


def _utc_now() -> datetime:
    return datetime.now(UTC)


# Runs inside commit(), once the changes are flushed and before the transaction commits, with the
# events about to be published: what a hook writes (the partner webhook outbox) is committed with
# the change that caused it, or not at all.
BeforeCommit = Callable[[Any, list[Event]], Awaitable[object]]


class SqlUnitOfWork:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        now: Callable[[], datetime] = _utc_now,
        before_commit: list[BeforeCommit] | None = None,
    ) -> None:
        self._sessions = sessions
        self._now = now
        self._events: list[Event] = []
        self._before_commit = before_commit if before_commit is not None else []

    async def __aenter__(self) -> Self:
        self.session = self._sessions()
        self._fresh_repositories()
        return self

    def _fresh_repositories(self) -> None:
        self.wards = SqlWardRepository(self.session)
        self.groups = SqlGroupRepository(self.session)
        self.members = SqlMemberRepository(self.session)
        self.roles = SqlRoleRepository(self.session)
        self.bulletins = SqlBulletinRepository(self.session)
        self.deliveries = SqlDeliveryRepository(self.session, self._now)
        self.tips = SqlTipRepository(self.session)
        self.audit = SqlAuditLog(self.session)
        self.procedures = SqlProcedureRepository(self.session)
        self.inquiries = SqlInquiryRepository(self.session)
        self.partners = SqlPartnerClientRepository(self.session)
        self.partner_webhooks = SqlPartnerWebhookRepository(self.session)
        self.webhook_deliveries = SqlWebhookDeliveryRepository(self.session, self._now)

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.session.rollback()
        finally:
            await self.session.close()

    def _repositories(self) -> tuple:
        # Order matters: rows are written parents first so foreign keys hold.
        return (
            self.wards,
            self.groups,
            self.members,
            self.bulletins,
            self.deliveries,
            self.tips,  # before inquiries: it writes the sealed identities they point at
            self.procedures,
            self.inquiries,
        )

    async def commit(self) -> None:
        for repository in self._repositories():
            await repository.flush()
        await self.roles.flush()
        await self.audit.flush()
        if self._before_commit:
            pending = [e for r in self._repositories() for x in r.tracked() for e in x.events]
            for hook in self._before_commit:
                await hook(self, pending)
        for repository in (self.partners, self.partner_webhooks, self.webhook_deliveries):
            await repository.flush()
        await self.session.commit()
        for repository in self._repositories():
            for entity in repository.tracked():
                self._events.extend(entity.events)
                entity.events.clear()

    async def rollback(self) -> None:
        await self.session.rollback()
        # Entities and grants waiting for the next flush were part of the work rolled back.
        self._fresh_repositories()

    def collect_events(self) -> list[Event]:
        events, self._events = self._events, []
        return events


class SqlUnitOfWorkFactory:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], now: Callable[[], datetime] = _utc_now
    ) -> None:
        self._sessions = sessions
        self._now = now
        # Hooks every unit of work runs before it commits (bootstrap adds them).
        self.before_commit: list[BeforeCommit] = []

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._sessions, self._now, self.before_commit)
