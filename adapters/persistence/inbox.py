"""The durable inbox of inbound webhook events (the InboxRepository port).

Every method is a short transaction of its own, outside any unit of work: a webhook is stored
and committed before the platform gets its 200, and the processor's claim is committed before
it starts acting, so nothing the processor does holds the inbox locked.

- record: INSERT … ON CONFLICT (channel, external_id) DO NOTHING on both engines; a redelivered
  event inserts nothing and says so.
- claim_unprocessed: due rows (`available_at` <= now), skipping rows another processor is
  claiming (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite takes the write lock first, see
  lock_for_write), pushed `lease` ahead and counted. A processor that dies holding events leaves
  them to come due again when the lease runs out. The attempt count doubles as the claim's
  token: marking with `attempt=` does nothing if someone claimed the event again since.
- mark_processed purges the payload (the raw body is personal data; see inbox_tables.py).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.persistence.inbox_tables import InboxEventRow
from adapters.persistence.mappers import utc
from domain.ids import new_id
from domain.ports import Clock, InboxEntry

inbox_t = InboxEventRow.__table__

DEAD = "dead"
ERROR_MAX = 1000


class SqlInbox:
    def __init__(
        self, engine: AsyncEngine, clock: Clock, *, lease: timedelta = timedelta(minutes=5)
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._lease = lease

    @property
    def _postgres(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    async def record(
        self,
        channel: str,
        external_id: str,
        payload: str,
        headers: Mapping[str, str],
        at: datetime,
    ) -> bool:
        at = utc(at)
        values = {
            "id": new_id(),
            "channel": channel,
            "external_id": external_id,
            "received_at": at,
            "payload": payload,
            "headers": json.dumps(dict(headers), sort_keys=True),
            "available_at": at,
            "attempts": 0,
            "purged": False,
        }
        insert = postgresql.insert if self._postgres else sqlite.insert
        statement = (
            insert(inbox_t)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["channel", "external_id"])
            .returning(inbox_t.c.id)
        )
        async with self._engine.begin() as conn:
            inserted = (await conn.execute(statement)).first()
        return inserted is not None

    async def claim_unprocessed(self, limit: int, now: datetime) -> list[InboxEntry]:
        c = inbox_t.c
        now = utc(now)
        query = (
            sa.select(inbox_t)
            .where(c.processed_at.is_(None), c.available_at <= now)
            .order_by(c.available_at, c.id)
            .limit(limit)
        )
        async with self._engine.begin() as conn:
            if self._postgres:
                query = query.with_for_update(skip_locked=True)
            else:
                await _lock_for_write(conn)
            rows = (await conn.execute(query)).all()
            if not rows:
                return []
            await conn.execute(
                sa.update(inbox_t)
                .where(c.id.in_([row.id for row in rows]))
                .values(available_at=now + self._lease, attempts=c.attempts + 1)
            )
        return [_entry(row, attempts=row.attempts + 1) for row in rows]

    async def mark_processed(
        self, id: uuid.UUID, outcome: str, *, attempt: int | None = None, keep_payload: bool = False
    ) -> bool:
        erase = {} if keep_payload else {"payload": None, "purged": True}
        return await self._finish(
            id,
            attempt,
            processed_at=utc(self._clock.now()),
            outcome=outcome[:32],
            last_error=None,
            **erase,
        )

    async def mark_failed(
        self,
        id: uuid.UUID,
        error: str,
        retry_at: datetime | None,
        *,
        attempt: int | None = None,
    ) -> bool:
        if retry_at is None:
            # Given up: kept, payload and all, for an operator until the retention purge.
            return await self._finish(
                id,
                attempt,
                processed_at=utc(self._clock.now()),
                outcome=DEAD,
                last_error=error[:ERROR_MAX],
            )
        return await self._finish(
            id, attempt, available_at=utc(retry_at), last_error=error[:ERROR_MAX]
        )

    async def purge_older_than(self, before: datetime) -> int:
        c = inbox_t.c
        before = utc(before)
        async with self._engine.begin() as conn:
            result = await conn.execute(
                sa.update(inbox_t)
                .where(c.payload.is_not(None), c.processed_at.is_not(None), c.received_at < before)
                .values(payload=None, purged=True)
            )
        return result.rowcount

    async def _finish(self, id: uuid.UUID, attempt: int | None, **values: Any) -> bool:
        c = inbox_t.c
        conditions = [c.id == id, c.processed_at.is_(None)]
        if attempt is not None:
            conditions.append(c.attempts == attempt)
        async with self._engine.begin() as conn:
            result = await conn.execute(sa.update(inbox_t).where(*conditions).values(**values))
        return result.rowcount == 1


async def _lock_for_write(conn: AsyncConnection) -> None:
    """SQLite has no row locks: a no-op write makes this transaction the only writer, so two
    processors never claim the same rows (the same device as repositories.lock_for_write)."""
    await conn.execute(sa.update(inbox_t).where(sa.false()).values(attempts=inbox_t.c.attempts))


def _entry(row: Any, *, attempts: int) -> InboxEntry:
    try:
        headers = json.loads(row.headers or "{}")
    except ValueError:
        headers = {}
    return InboxEntry(
        id=row.id,
        channel=row.channel,
        external_id=row.external_id,
        received_at=utc(row.received_at),
        payload=row.payload,
        headers={str(k): str(v) for k, v in headers.items()} if isinstance(headers, dict) else {},
        attempts=attempts,
    )
