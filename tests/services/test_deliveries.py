"""DeliveryService on the real unit of work: concurrent workers, leases, schedules, quiet hours,
pacing, failures and reach. The channels are recording stand-ins (the real gateways against
fake platforms are in test_end_to_end.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from domain.bulletin import BulletinStatus
from domain.channel_rules import VIETNAM
from domain.channels import ChannelKind
from domain.delivery import DeliveryStatus
from domain.events import BulletinPublished, DeliveryFailed
from domain.ports import ChannelError, Reach
from domain.rate_limit import AccountLimiter
from domain.services.deliveries import DeliveryService, Outcome
from tests.services.conftest import RecordingRegistry, Unit, deliveries_of, load

K = ChannelKind
S = BulletinStatus
D = DeliveryStatus
LEASE = timedelta(minutes=10)


async def drain(*workers: DeliveryService, limit: int = 50) -> int:
    """Run the workers side by side until none of them finds anything due."""

    async def loop(worker: DeliveryService) -> int:
        sent = 0
        while n := await worker.run_once(limit):
            sent += n
        return sent

    return sum(await asyncio.gather(*(loop(w) for w in workers)))


# concurrency ------------------------------------------------------------------------------------


async def test_two_workers_claiming_at_once_never_get_the_same_delivery(
    unit: Unit, approved, worker, registry: RecordingRegistry, uow_factory
) -> None:
    made = [await approved() for _ in range(4)]  # 4 bulletins x 5 groups
    first, second = worker(), worker()
    jobs_a, jobs_b = await asyncio.gather(first.claim(8), second.claim(8))
    ids_a = {j.delivery_id for j in jobs_a}
    ids_b = {j.delivery_id for j in jobs_b}
    assert ids_a and ids_b
    assert not ids_a & ids_b
    assert len(ids_a) == len(jobs_a) and len(ids_b) == len(jobs_b)

    # Both record what they claimed; a third claim finds only the rest.
    for service, jobs in ((first, jobs_a), (second, jobs_b)):
        for job in jobs:
            await service.record(job.delivery_id, Outcome(error=ChannelError("x", retryable=True)))
    rest = await worker().claim(50)
    assert len(rest) == 20 - len(ids_a) - len(ids_b)
    assert not {j.delivery_id for j in rest} & (ids_a | ids_b)
    statuses = [d.status for b in made for d in await deliveries_of(uow_factory, b.id)]
    assert sorted(statuses) == sorted([D.FAILED] * len(ids_a | ids_b) + [D.SENDING] * len(rest))


async def test_workers_running_side_by_side_send_everything_exactly_once(
    unit: Unit, approved, worker, registry: RecordingRegistry, uow_factory, clock
) -> None:
    for gateway in registry.gateways.values():
        gateway.delay = 0.005  # outcomes are recorded while other claims are under way
    made = [await approved() for _ in range(6)]
    sent = await drain(worker(), worker(), worker(), limit=4)

    keys = registry.keys()
    assert sent == len(keys) == 30
    assert set(keys.values()) == {1}  # no delivery was published twice
    for bulletin in made:
        deliveries = await deliveries_of(uow_factory, bulletin.id)
        assert {d.status for d in deliveries} == {D.SENT}
        assert all(d.attempts == 1 and d.external_post_id for d in deliveries)
        assert (await load(uow_factory, bulletin.id)).status is S.PUBLISHED


# leases -----------------------------------------------------------------------------------------


async def test_a_delivery_whose_workers_keep_dying_ends_dead(
    unit: Unit, approved, worker, registry: RecordingRegistry, uow_factory, clock, publisher
) -> None:
    bulletin = await approved(target_ward_ids=(), target_group_ids=unit.group_ids(K.PORTAL))
    (delivery,) = await deliveries_of(uow_factory, bulletin.id)
    for attempt in range(1, delivery.max_attempts + 1):
        jobs = await worker(lease=LEASE).claim(10)  # ...and the worker dies
        assert [j.delivery_id for j in jobs] == [delivery.id]
        (stored,) = await deliveries_of(uow_factory, bulletin.id)
        assert (stored.status, stored.attempts) == (D.SENDING, attempt)
        assert await worker().claim(10) == []  # the lease keeps others off
        clock.advance(seconds=LEASE.total_seconds())

    publisher.events.clear()
    assert await worker().claim(10) == []
    (dead,) = await deliveries_of(uow_factory, bulletin.id)
    assert (dead.status, dead.attempts, dead.next_attempt_at) == (D.DEAD, 6, None)
    assert "stopped before recording an outcome" in (dead.last_error or "")
    assert (await load(uow_factory, bulletin.id)).status is S.FAILED
    assert DeliveryFailed(dead.id, bulletin.id, True) in publisher.events
    assert BulletinPublished(bulletin.id, bulletin.ward_id, S.FAILED) in publisher.events
    assert registry.keys() == {}  # nothing ever reached a channel


async def test_a_late_outcome_from_a_lost_worker_does_not_overwrite_the_new_one(
    unit: Unit, approved, worker, registry: RecordingRegistry, uow_factory, clock
) -> None:
    bulletin = await approved(target_ward_ids=(), target_group_ids=unit.group_ids(K.PORTAL))
    lost = worker()
    (job,) = await lost.claim(10)
    clock.advance(minutes=11)
    assert await drain(worker()) == 1  # recovered and sent by another worker
    await lost.record(job.delivery_id, Outcome(error=ChannelError("timeout", retryable=True)))
    (delivery,) = await deliveries_of(uow_factory, bulletin.id)
    assert (delivery.status, delivery.attempts) == (D.SENT, 2)
    assert (await load(uow_factory, bulletin.id)).status is S.PUBLISHED


async def test_a_lost_worker_cannot_record_over_a_delivery_claimed_again(
    unit: Unit, approved, worker, registry: RecordingRegistry, uow_factory, clock
) -> None:
    bulletin = await approved(target_ward_ids=(), target_group_ids=unit.group_ids(K.PORTAL))
    lost = worker()
    (old,) = await lost.claim(10)
    clock.advance(minutes=11)
    (new,) = await worker().claim(10)  # recovered and claimed again, still sending
    assert new.delivery_id == old.delivery_id and new.lease != old.lease
    await lost.record(
        old.delivery_id, Outcome(error=ChannelError("refused", retryable=False)), lease=old.lease
    )
    (delivery,) = await deliveries_of(uow_factory, bulletin.id)
    assert delivery.status is D.SENDING, "the stale outcome was ignored"
    await worker().record(
        new.delivery_id, Outcome(error=ChannelError("503", retryable=True)), lease=new.lease
    )
    (delivery,) = await deliveries_of(uow_factory, bulletin.id)
    assert delivery.status is D.FAILED


# time -------------------------------------------------------------------------------------------


async def test_a_scheduled_bulletin_is_not_claimed_before_its_time(
    unit: Unit, approved, worker, uow_factory, clock
) -> None:
    at = clock.now() + timedelta(hours=2)
    bulletin = await approved(scheduled_at=at)
    assert bulletin.status is S.SCHEDULED
    assert await worker().claim(50) == []
    clock.current = at - timedelta(seconds=1)
    assert await worker().claim(50) == []
    assert (await load(uow_factory, bulletin.id)).status is S.SCHEDULED

    clock.current = at
    service = worker()
    jobs = await service.claim(50)
    assert len(jobs) == len(unit.groups)
    stored = await load(uow_factory, bulletin.id)
    assert stored.status is S.PUBLISHING
    assert stored.history[-1].to_status == "publishing" and stored.history[-1].at == at
    for job in jobs:
        await service.record(job.delivery_id, Outcome(error=ChannelError("x", retryable=False)))
    assert (await load(uow_factory, bulletin.id)).status is S.FAILED


async def test_zalo_oa_broadcasts_approved_at_23_00_wait_until_06_00(
    unit: Unit, approved, worker, registry: RecordingRegistry, uow_factory, clock
) -> None:
    clock.current = datetime(2026, 11, 23, 23, 0, tzinfo=VIETNAM).astimezone(UTC)
    bulletin = await approved()
    assert await drain(worker()) == len(unit.groups) - 1
    assert registry.gateways[K.ZALO_OA].published == []
    assert registry.gateways[K.ZALO_GROUP].published  # a group message is no broadcast
    assert (await load(uow_factory, bulletin.id)).status is S.PUBLISHING

    clock.current = datetime(2026, 11, 24, 5, 59, tzinfo=VIETNAM).astimezone(UTC)
    assert await drain(worker()) == 0
    clock.current = datetime(2026, 11, 24, 6, 0, tzinfo=VIETNAM).astimezone(UTC)
    assert await drain(worker()) == 1
    assert len(registry.gateways[K.ZALO_OA].published) == 1
    assert (await load(uow_factory, bulletin.id)).status is S.PUBLISHED


async def test_an_account_at_its_pace_waits_instead_of_being_claimed(
    unit: Unit, approved, worker, registry: RecordingRegistry, uow_factory, clock
) -> None:
    zalo = {"target_ward_ids": (), "target_group_ids": unit.group_ids(K.ZALO_GROUP)}
    made = [await approved(**zalo) for _ in range(3)]
    service = worker(limits={K.ZALO_GROUP: AccountLimiter(rate=0.5, burst=2)})
    assert await service.run_once() == 2
    waiting = [d for b in made for d in await deliveries_of(uow_factory, b.id)]
    (held,) = [d for d in waiting if d.status is D.PENDING]
    assert held.next_attempt_at == clock.now() + timedelta(seconds=2)
    assert held.attempts == 0  # moved, not claimed
    assert await service.run_once() == 0
    clock.advance(seconds=2)
    assert await service.run_once() == 1
    assert len(registry.gateways[K.ZALO_GROUP].published) == 3


# outcomes ---------------------------------------------------------------------------------------


async def test_a_dead_delivery_is_retried_alone(
    unit: Unit, approved, worker, registry: RecordingRegistry, uow_factory, bulletins
) -> None:
    facebook = registry.gateways[K.FACEBOOK_PAGE]
    facebook.errors.append(
        ChannelError("(#200) permission missing", retryable=False, code="graph:200")
    )
    bulletin = await approved()
    assert await drain(worker()) == len(unit.groups)
    stored = await load(uow_factory, bulletin.id)
    assert stored.status is S.PARTIALLY_FAILED
    (dead,) = [d for d in await deliveries_of(uow_factory, bulletin.id) if d.status is D.DEAD]
    assert dead.channel is K.FACEBOOK_PAGE
    assert dead.last_error == "graph:200: (#200) permission missing"
    before = registry.keys()

    retried = await bulletins.retry_delivery(unit.officer, dead.id, "Đã cấp lại quyền trang")
    assert (retried.status, retried.attempts) == (D.PENDING, 0)
    assert (await load(uow_factory, bulletin.id)).status is S.PUBLISHING
    assert await drain(worker()) == 1
    after = registry.keys()
    assert after - before == {dead.idempotency_key: 1}  # only the failed target went again
    assert (await load(uow_factory, bulletin.id)).status is S.PUBLISHED


async def test_transient_failures_back_off_and_retry_after_is_honoured(
    unit: Unit, approved, worker, registry: RecordingRegistry, uow_factory, clock
) -> None:
    youtube = registry.gateways[K.YOUTUBE_CHANNEL]
    youtube.errors += [
        ChannelError("HTTP 503", retryable=True, code="503"),
        ChannelError("HTTP 429", retryable=True, retry_after=600, code="429"),
    ]
    bulletin = await approved(
        target_ward_ids=(), target_group_ids=unit.group_ids(K.YOUTUBE_CHANNEL)
    )
    service = worker(rand=lambda: 1.0)
    assert await service.run_once() == 1
    (failed,) = await deliveries_of(uow_factory, bulletin.id)
    assert (failed.status, failed.attempts) == (D.FAILED, 1)
    assert failed.next_attempt_at == clock.now() + timedelta(seconds=30)  # base backoff
    clock.advance(seconds=30)
    assert await service.run_once() == 1
    (failed,) = await deliveries_of(uow_factory, bulletin.id)
    assert failed.next_attempt_at == clock.now() + timedelta(seconds=600)  # Retry-After wins
    clock.advance(seconds=599)
    assert await service.run_once() == 0
    clock.advance(seconds=1)
    assert await service.run_once() == 1
    (sent,) = await deliveries_of(uow_factory, bulletin.id)
    assert (sent.status, sent.attempts) == (D.SENT, 3)


async def test_a_duplicate_is_success_and_an_adapter_crash_is_retried(
    unit: Unit, approved, worker, registry: RecordingRegistry, uow_factory, clock
) -> None:
    registry.gateways[K.FACEBOOK_PAGE].errors.append(
        ChannelError("duplicate post", retryable=False, code="graph:506", duplicate=True)
    )
    registry.gateways[K.PORTAL].errors.append(KeyError("a bug in the adapter"))
    bulletin = await approved(
        target_ward_ids=(), target_group_ids=unit.group_ids(K.FACEBOOK_PAGE, K.PORTAL)
    )
    assert await worker().run_once() == 2
    by_channel = {d.channel: d for d in await deliveries_of(uow_factory, bulletin.id)}
    assert by_channel[K.FACEBOOK_PAGE].status is D.SENT
    assert by_channel[K.FACEBOOK_PAGE].external_post_id is None
    assert by_channel[K.PORTAL].status is D.FAILED
    assert by_channel[K.PORTAL].last_error == "internal error: KeyError"
    clock.advance(hours=1)
    assert await drain(worker()) == 1
    assert (await load(uow_factory, bulletin.id)).status is S.PUBLISHED


# reach ------------------------------------------------------------------------------------------


async def test_refresh_reach_stores_what_the_channels_report(
    unit: Unit, approved, worker, registry: RecordingRegistry, uow_factory, clock
) -> None:
    gateways = registry.gateways
    gateways[K.PORTAL].sandbox = True  # sandbox posts have no audience to ask about
    old = await approved()
    assert await drain(worker()) == len(unit.groups)
    clock.advance(days=15)  # out of the window
    bulletin = await approved()
    assert await drain(worker()) == len(unit.groups)
    clock.advance(hours=1)
    gateways[K.FACEBOOK_PAGE].reach_answer = Reach(views=1200, reactions=85, shares=9, comments=14)
    gateways[K.YOUTUBE_CHANNEL].reach_answer = Reach(views=310, reactions=12, comments=3)
    gateways[K.ZALO_OA].reach_error = ChannelError("HTTP 503", retryable=True)
    # Zalo groups answer None: nothing to store.

    assert await worker().refresh_reach() == 2
    deliveries = {d.channel: d for d in await deliveries_of(uow_factory, bulletin.id)}
    async with uow_factory() as uow:
        reach = dict(
            zip(
                deliveries,
                await uow.deliveries.reach_many([d.id for d in deliveries.values()]),
                strict=True,
            )
        )
        old_reach = await uow.deliveries.reach_many(
            [d.id for d in await deliveries_of(uow_factory, old.id)]
        )
    assert reach == {
        K.ZALO_GROUP: None,
        K.ZALO_OA: None,
        K.FACEBOOK_PAGE: Reach(1200, 85, 9, 14),
        K.YOUTUBE_CHANNEL: Reach(310, 12, None, 3),
        K.PORTAL: None,
    }
    assert old_reach == [None] * len(unit.groups)
    assert gateways[K.PORTAL].reach_asked == []
    assert gateways[K.FACEBOOK_PAGE].reach_asked == [deliveries[K.FACEBOOK_PAGE].external_post_id]

    # A later refresh replaces the figures.
    gateways[K.FACEBOOK_PAGE].reach_answer = Reach(views=2400, reactions=90, shares=10, comments=20)
    assert await worker().refresh_reach() == 2
    async with uow_factory() as uow:
        (facebook,) = await uow.deliveries.reach_many([deliveries[K.FACEBOOK_PAGE].id])
    assert facebook == Reach(2400, 90, 10, 20)


async def test_refresh_reach_pages_through_many_posts(
    unit: Unit, approved, worker, registry: RecordingRegistry, uow_factory, clock
) -> None:
    registry.gateways[K.FACEBOOK_PAGE].reach_answer = Reach(views=1)
    facebook = {"target_ward_ids": (), "target_group_ids": unit.group_ids(K.FACEBOOK_PAGE)}
    made = [await approved(**facebook) for _ in range(5)]
    assert await drain(worker()) == 5
    clock.advance(minutes=1)
    assert await worker().refresh_reach(batch=2) == 5
    ids = [d.id for b in made for d in await deliveries_of(uow_factory, b.id)]
    async with uow_factory() as uow:
        assert await uow.deliveries.reach_many(ids) == [Reach(views=1)] * 5
