"""The outbox worker's use cases: claim due deliveries, publish each through its channel, record
the outcome and settle the bulletin; and pull reach figures back from the channels."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.access import Scope
from domain.bulletin import Bulletin, BulletinStatus
from domain.channels import ChannelKind
from domain.delivery import DeliveryStatus
from domain.events import DeliveryUpdated
from domain.group import Group
from domain.ids import BulletinId, DeliveryId
from domain.ports import (
    ChannelError,
    ChannelRegistry,
    Clock,
    DeliveryReceipt,
    EventPublisher,
    GroupRef,
    MediaRef,
    OutboundMessage,
    UnitOfWork,
    UnitOfWorkFactory,
)
from domain.rate_limit import AccountLimiter

log = logging.getLogger(__name__)

SETTLING = (BulletinStatus.PUBLISHING, BulletinStatus.PARTIALLY_FAILED, BulletinStatus.FAILED)


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed delivery with everything needed to send it outside any transaction."""

    delivery_id: DeliveryId
    idempotency_key: str
    target: GroupRef
    message: OutboundMessage
    lease: datetime | None = None  # identifies this claim: a later claim has another lease


@dataclass(frozen=True, slots=True)
class Outcome:
    receipt: DeliveryReceipt | None = None
    error: ChannelError | None = None


class DeliveryService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        publisher: EventPublisher,
        channels: ChannelRegistry,
        link_for: Callable[[BulletinId], str],
        *,
        limits: Mapping[ChannelKind, AccountLimiter] | None = None,
        lease: timedelta = timedelta(minutes=10),
        concurrency: int = 16,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._publisher = publisher
        self._channels = channels
        self._link_for = link_for
        self._limits = dict(limits or {})
        self._lease = lease
        self._slots = asyncio.Semaphore(concurrency)
        self._rand = rand

    async def run_once(self, limit: int = 50) -> int:
        """Claim up to `limit` due deliveries, send them concurrently, record every outcome."""
        jobs = await self.claim(limit)
        if jobs:
            await asyncio.gather(*(self._send(job) for job in jobs))
        return len(jobs)

    async def claim(self, limit: int) -> list[Job]:
        now = self._clock.now()
        async with self._uow() as uow:
            deliveries = await uow.deliveries.claim_due(now, limit)
            if not deliveries:
                return []
            groups = {
                g.id: g
                for g in await uow.groups.get_many(
                    [d.group_id for d in deliveries], scope=Scope.all()
                )
                if g is not None
            }
            bulletins: dict[BulletinId, Bulletin] = {}
            for bulletin_id in dict.fromkeys(d.bulletin_id for d in deliveries):
                bulletin = await uow.bulletins.get(bulletin_id, scope=Scope.all(), for_update=True)
                if bulletin is not None:
                    bulletins[bulletin_id] = bulletin
            ward_names = await self._ward_names(uow, bulletins.values())
            jobs: list[Job] = []
            updates: list[DeliveryUpdated] = []
            for delivery in deliveries:
                if delivery.abandoned(now):
                    delivery.recover(now)
                    if delivery.status is DeliveryStatus.DEAD:
                        await _settle(uow, bulletins.get(delivery.bulletin_id), now)
                        continue
                bulletin = bulletins.get(delivery.bulletin_id)
                group = groups.get(delivery.group_id)
                if bulletin is None or group is None or not self._ready(bulletin, now):
                    continue
                limiter = self._limits.get(group.channel)
                wait = (
                    limiter.wait_seconds((group.channel, group.credentials_ref), now)
                    if limiter
                    else 0
                )
                if wait > 0:
                    # The account is at its pace, or asked us to wait: move the delivery to when
                    # it may go, rather than hold a claim on it or spin.
                    delivery.next_attempt_at = now + timedelta(seconds=wait)
                    continue
                if bulletin.status is BulletinStatus.SCHEDULED:
                    bulletin.start_publishing(now)
                delivery.claim(now, self._lease)
                updates.append(
                    DeliveryUpdated(
                        delivery.id, delivery.bulletin_id, bulletin.ward_id, delivery.status.value
                    )
                )
                jobs.append(
                    Job(
                        delivery.id,
                        delivery.idempotency_key,
                        _target(group),
                        self._message(bulletin, ward_names.get(bulletin.ward_id, "")),
                        delivery.lease_expires_at,
                    )
                )
            await uow.commit()
            events = uow.collect_events()
        await self._announce([*events, *updates])
        return jobs

    @staticmethod
    def _ready(bulletin: Bulletin, now: datetime) -> bool:
        return bulletin.status in SETTLING or (
            bulletin.status is BulletinStatus.SCHEDULED and bulletin.due(now)
        )

    async def _ward_names(self, uow: UnitOfWork, bulletins) -> dict:
        ids = list(dict.fromkeys(b.ward_id for b in bulletins))
        wards = await uow.wards.get_many(ids, scope=Scope.all())
        return {w.id: w.name for w in wards if w is not None}

    def _message(self, bulletin: Bulletin, ward_name: str) -> OutboundMessage:
        return OutboundMessage(
            bulletin_id=bulletin.id,
            kind=bulletin.kind.value,
            title=bulletin.title,
            body=bulletin.body,
            ward_name=ward_name,
            link=self._link_for(bulletin.id),
            media=tuple(
                MediaRef(a.blob_key, a.media_type.value, a.filename, a.content_type, a.size_bytes)
                for a in bulletin.attachments
            ),
            published_at=bulletin.approved_at,
        )

    async def _send(self, job: Job) -> None:
        async with self._slots:
            outcome = await self._publish(job)
        await self.record(job.delivery_id, outcome, lease=job.lease)

    async def _publish(self, job: Job) -> Outcome:
        gateway = self._channels.get(job.target.channel)
        try:
            receipt = await gateway.publish(
                job.target, job.message, idempotency_key=job.idempotency_key
            )
        except ChannelError as error:
            if error.duplicate:
                # The channel already has this post: that is the outcome we wanted.
                return Outcome(DeliveryReceipt("", detail=f"already on the channel: {error}"))
            if error.retryable and error.retry_after:
                limiter = self._limits.get(job.target.channel)
                if limiter is not None:
                    key = (job.target.channel, job.target.credentials_ref)
                    limiter.pause(key, self._clock.now(), error.retry_after)
            return Outcome(error=error)
        except Exception as error:  # a bug in an adapter must not lose the delivery
            log.exception("channel %s failed unexpectedly", job.target.channel)
            return Outcome(
                error=ChannelError(f"internal error: {type(error).__name__}", retryable=True)
            )
        return Outcome(receipt=receipt)

    async def record(
        self, delivery_id: DeliveryId, outcome: Outcome, *, lease: datetime | None = None
    ) -> None:
        """Store the outcome of a send. With `lease`, only if the delivery is still under that
        claim: a worker that outlived its lease must not overwrite the claim that replaced it."""
        now = self._clock.now()
        async with self._uow() as uow:
            # The bulletin is locked before the delivery, as every other writer locks them:
            # the other way round, two outcomes of one bulletin recorded at once deadlocked.
            found = await uow.deliveries.get(delivery_id, scope=Scope.all())
            if found is None:
                return
            bulletin = await uow.bulletins.get(
                found.bulletin_id, scope=Scope.all(), for_update=True
            )
            delivery = await uow.deliveries.get(delivery_id, scope=Scope.all(), for_update=True)
            if delivery is None or delivery.status is not DeliveryStatus.SENDING:
                # Recovered by another worker after our lease ran out; its outcome stands.
                return
            if lease is not None and delivery.lease_expires_at != lease:
                return  # recovered and claimed again since: the newer claim will record
            if outcome.receipt is not None:
                receipt = outcome.receipt
                delivery.succeed(
                    external_post_id=receipt.external_id or None,
                    external_url=receipt.url,
                    now=now,
                    sandbox=receipt.sandbox,
                )
            else:
                error = outcome.error
                assert error is not None
                message = f"{error.code}: {error}" if error.code else str(error)
                delivery.fail(
                    message,
                    retryable=error.retryable,
                    retry_after=error.retry_after,
                    now=now,
                    rand=self._rand,
                )
            await _settle(uow, bulletin, now)
            await uow.commit()
            events = uow.collect_events()
        await self._announce(events)

    async def refresh_reach(
        self, *, since: timedelta = timedelta(days=14), batch: int = 200
    ) -> int:
        """Ask each channel how far each recent post went; store what it says."""
        now = self._clock.now()
        done = 0
        after: str | None = None
        while True:
            async with self._uow() as uow:
                deliveries = await uow.deliveries.sent_between(
                    now - since, now, after=after, limit=batch
                )
                groups = {
                    g.id: g
                    for g in await uow.groups.get_many(
                        [d.group_id for d in deliveries], scope=Scope.all()
                    )
                    if g is not None
                }
            if not deliveries:
                return done
            after = str(deliveries[-1].id)
            for delivery in deliveries:
                group = groups.get(delivery.group_id)
                if group is None or not delivery.external_post_id:
                    continue
                try:
                    reach = await self._channels.get(group.channel).reach(
                        _target(group), delivery.external_post_id
                    )
                except ChannelError as error:
                    log.info("reach of %s unavailable: %s", delivery.id, error)
                    continue
                if reach is None:
                    continue
                async with self._uow() as uow:
                    await uow.deliveries.record_reach(delivery.id, reach, self._clock.now())
                    await uow.commit()
                done += 1

    async def _announce(self, events) -> None:
        for event in events:
            await self._publisher.publish(event)


async def _settle(uow: UnitOfWork, bulletin: Bulletin | None, now: datetime) -> None:
    if bulletin is None or bulletin.status not in SETTLING:
        return
    # Statuses only: settling after each of a fan-out's outcomes must not load every delivery.
    bulletin.settle(await uow.deliveries.statuses_of(bulletin.id), now)


def _target(group: Group) -> GroupRef:
    return GroupRef(
        group_id=group.id,
        ward_id=group.ward_id,
        channel=group.channel,
        external_id=group.external_id,
        name=group.name,
        credentials_ref=group.credentials_ref,
    )
