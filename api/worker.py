"""The delivery worker loop: claims due deliveries until told to stop, refreshes reach, and
syncs who is in each Zalo group and among each OA's followers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable
from datetime import timedelta

from api.bootstrap import Container

log = logging.getLogger("gandan.worker")


class DeliveryWorker:
    def __init__(self, container: Container) -> None:
        self._container = container
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Loop until stop(): a batch finishes before the loop looks at the stop flag again, so a
        shutdown never abandons a send half-recorded; a hard kill is recovered by the lease."""
        settings = self._container.settings
        service = self._container.deliveries
        next_reach = time.monotonic() + settings.reach_interval_seconds
        # Membership changes slowly and listing a large OA costs many API calls: sync it at a
        # quarter of the reach rate (reach_interval_seconds * 4; it has no setting of its own).
        members_interval = settings.reach_interval_seconds * 4
        next_members = time.monotonic() + members_interval
        log.info("delivery worker started")
        c = self._container
        while not self._stop.is_set():
            # Each job fails on its own: a partner endpoint that crashes its job must not stop
            # bulletins from going out, nor the other way round.
            handled = await self._step("deliveries", service.run_once(settings.worker_batch))
            # Stored webhook events into tips and thread messages (domain/services/inbound.py).
            handled += await self._step("inbound", c.inbound.run_once(settings.worker_batch))
            # Signed webhooks to partners, from their outbox (domain/services/partners.py).
            handled += await self._step("partners", c.partners.run_once(settings.worker_batch))
            # Overdue tips and inquiries to their commanders: one indexed probe each when none.
            await self._step("escalation", c.tips.escalate_overdue())
            await self._step("inquiry escalation", c.inquiries.escalate_overdue())
            if time.monotonic() >= next_reach:
                next_reach = time.monotonic() + settings.reach_interval_seconds
                await self._step("reach", service.refresh_reach())
                # Raw webhook bodies still held past their retention (README "Webhooks").
                await self._step(
                    "purge", c.inbound.purge(timedelta(days=settings.inbox_retention_days))
                )
            if time.monotonic() >= next_members:
                next_members = time.monotonic() + members_interval
                await self._step("membership", c.membership.sync_all())
            if not handled:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), settings.worker_poll_seconds)
        log.info("delivery worker stopped")

    @staticmethod
    async def _step(name: str, job: Awaitable[object]) -> int:
        """Run one job; a number it returns counts as work done. Failures are logged, not raised:
        the database or a platform may be away for a moment, and the worker must live on."""
        try:
            result = await job
        except Exception:
            log.exception("worker job %s failed", name)
            return 0
        return result if isinstance(result, int) and not isinstance(result, bool) else 0
