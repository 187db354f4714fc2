"""The durable inbox and the processor: claims with leases, crashes that lose nothing, events acted
on once however often they are read, and what becomes of each message (a tip, a thread message,
an inquiry left for later, chatter)."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta

import pytest

from adapters.persistence.inbox import SqlInbox
from api.bootstrap import bootstrap
from domain.access import Role, Scope
from domain.ports import InquiryFilter
from domain.services.inbound import InboundProcessor, Outcome
from domain.tip import MessageDirection
from tests.builders import make_member
from tests.fakes.logs import JsonLines
from tests.webhooks.conftest import (
    GMF_GROUP,
    OA_A,
    OA_SECRET,
    PAGE_ID,
    all_tips,
    inbox_rows,
    message_count,
    post_messenger,
    post_zalo,
    thread,
    tip_count,
)

REPORT = "Báo công an: có nhóm thanh niên bán ma túy ở ngõ 12 Tân Mai, tối nào cũng tụ tập"
FOLLOW_UP = "Bổ sung thêm: tối nay bọn chúng đi xe Wave màu đỏ, biển 29 không rõ số"


async def send_zalo(client, zalo, clock, user, text, **options) -> None:
    body = zalo.webhook_body(
        user, text, at=clock.now(), oa_id=options.pop("oa_id", OA_A), **options
    )
    response = await post_zalo(client, body, zalo.webhook_signature(body, OA_SECRET[OA_A]))
    assert response.status_code == 200, response.text


# The inbox on its own.


async def test_record_is_idempotent_per_channel_and_platform_id(db, clock):
    inbox = SqlInbox(db, clock)
    now = clock.now()
    assert await inbox.record("zalo", "m1", "{}", {"x-zevent-signature": "mac=1"}, now) is True
    assert await inbox.record("zalo", "m1", '{"other": 1}', {}, now) is False
    assert await inbox.record("messenger", "m1", "{}", {}, now) is True
    rows = await inbox_rows(db)
    assert [(r.channel, r.external_id, r.payload) for r in rows] == [
        ("zalo", "m1", "{}"),
        ("messenger", "m1", "{}"),
    ]


async def test_a_claim_is_a_lease_that_a_crashed_processor_loses(db, clock):
    inbox = SqlInbox(db, clock, lease=timedelta(minutes=5))
    await inbox.record("zalo", "m1", "{}", {}, clock.now())

    (first,) = await inbox.claim_unprocessed(10, clock.now())
    assert first.attempts == 1
    assert await inbox.claim_unprocessed(10, clock.now()) == []  # held by the first processor

    clock.advance(minutes=6)  # the first processor died without marking anything
    (again,) = await inbox.claim_unprocessed(10, clock.now())
    assert (again.id, again.attempts, again.payload) == (first.id, 2, "{}")

    assert await inbox.mark_processed(first.id, "tip", attempt=first.attempts) is False
    assert await inbox.mark_processed(again.id, "tip", attempt=again.attempts) is True
    (row,) = await inbox_rows(db)
    assert (row.outcome, row.payload, row.purged) == ("tip", None, True)
    clock.advance(hours=1)
    assert await inbox.claim_unprocessed(10, clock.now()) == []


async def test_failures_come_back_at_their_retry_time_or_are_set_aside(db, clock):
    inbox = SqlInbox(db, clock)
    await inbox.record("zalo", "m1", "{}", {}, clock.now())
    (entry,) = await inbox.claim_unprocessed(10, clock.now())
    await inbox.mark_failed(entry.id, "boom", clock.now() + timedelta(minutes=2), attempt=1)

    assert await inbox.claim_unprocessed(10, clock.now() + timedelta(minutes=1)) == []
    (entry,) = await inbox.claim_unprocessed(10, clock.now() + timedelta(minutes=2))
    await inbox.mark_failed(entry.id, "boom again", None, attempt=entry.attempts)

    (row,) = await inbox_rows(db)
    assert (row.outcome, row.last_error, row.payload) == ("dead", "boom again", "{}")
    assert await inbox.claim_unprocessed(10, clock.now() + timedelta(days=1)) == []
    # Kept for an operator until the retention purge, then erased.
    assert await inbox.purge_older_than(clock.now() - timedelta(days=30)) == 0
    assert await inbox.purge_older_than(clock.now() + timedelta(seconds=1)) == 1
    (row,) = await inbox_rows(db)
    assert (row.payload, row.purged) == (None, True)


async def test_concurrent_claims_never_share_an_event(db, clock):
    inbox = SqlInbox(db, clock)
    for n in range(30):
        await inbox.record("zalo", f"m{n}", "{}", {}, clock.now())

    batches = await asyncio.gather(
        *(SqlInbox(db, clock).claim_unprocessed(10, clock.now()) for _ in range(4))
    )

    claimed = [entry.external_id for batch in batches for entry in batch]
    assert len(claimed) == len(set(claimed)) == 30


# Crashes.


async def test_a_crash_between_storing_and_processing_loses_nothing(
    client, container, district, zalo, clock, db, settings, endpoints, credentials
):
    user = zalo.new_user_id()
    await send_zalo(client, zalo, clock, user, REPORT)
    assert await tip_count(db) == 0
    # The process that stored it is gone; a new one (another worker, after a restart) starts.
    restarted = bootstrap(
        settings, engine=db, clock=clock, endpoints=endpoints, channel_credentials=credentials
    )
    try:
        assert await restarted.inbound.run_once() == 1
    finally:
        for close in reversed(restarted._closers):
            await close()

    (tip,) = await all_tips(container)
    assert tip.ward_id == district.a.id
    assert [m["user_id"] for m in zalo.cs_messages] == [user]


async def test_a_processor_that_dies_holding_events_leaves_them_to_another(
    client, container, district, zalo, clock, db
):
    await send_zalo(client, zalo, clock, zalo.new_user_id(), REPORT)
    assert len(await container.inbox.claim_unprocessed(10, clock.now())) == 1  # …then it died
    assert await container.inbound.run_once() == 0

    clock.advance(minutes=6)
    assert await container.inbound.run_once() == 1
    assert await tip_count(db) == 1


async def test_an_event_acted_on_but_not_marked_has_one_effect_when_processed_again(
    client, container, district, zalo, clock, db
):
    """The processor received the tip and died before marking the event: the next one reads
    the same message again and finds the tip it already became."""
    await send_zalo(client, zalo, clock, zalo.new_user_id(), REPORT)
    (entry,) = await container.inbox.claim_unprocessed(10, clock.now())
    processor = container.inbound
    parser = container.webhooks.parsers()["zalo"]
    (event,) = parser.parse(entry.payload.encode(), entry.headers)
    assert await processor.handle(event) is Outcome.TIP  # acted, never marked

    clock.advance(minutes=6)
    assert await processor.run_once() == 1

    assert await tip_count(db) == 1
    assert await message_count(db) == 2  # the report and one acknowledgement
    assert len(zalo.cs_messages) == 1
    (row,) = await inbox_rows(db)
    assert row.outcome == "already_recorded"


# What messages become.


async def test_the_reporters_next_message_joins_the_same_tip_thread(
    client, container, district, zalo, clock, db
):
    user = zalo.new_user_id()
    await send_zalo(client, zalo, clock, user, REPORT)
    await container.inbound.run_once()
    clock.advance(minutes=3)
    await send_zalo(client, zalo, clock, user, FOLLOW_UP)
    await container.inbound.run_once()

    (tip,) = await all_tips(container)
    messages = await thread(container, tip)
    inbound = [m for m in messages if m.direction is MessageDirection.IN]
    assert [m.body for m in inbound] == [REPORT, FOLLOW_UP]
    assert inbound[1].at == clock.now()
    assert (await inbox_rows(db))[1].outcome == "thread"


async def test_a_message_quoting_the_tracking_code_joins_the_thread_from_any_channel(
    client, container, district, zalo, messenger, clock, db
):
    await send_zalo(client, zalo, clock, zalo.new_user_id(), REPORT)
    await container.inbound.run_once()
    (tip,) = await all_tips(container)
    spaced = tip.tracking_code.replace("-", " ").lower()

    psid = messenger.add_user(PAGE_ID)
    event = messenger.message_event(
        PAGE_ID, psid, f"Về tin báo mã {spaced}: có thêm 2 người lạ", at=clock.now()
    )
    body = messenger.delivery(PAGE_ID, [event], at=clock.now())
    assert (await post_messenger(client, body, messenger.sign(body))).status_code == 200
    await container.inbound.run_once()

    assert await tip_count(db) == 1
    inbound = [m for m in await thread(container, tip) if m.direction is MessageDirection.IN]
    assert len(inbound) == 2
    assert spaced in inbound[1].body


async def test_group_chat_from_a_reporter_with_an_open_tip_stays_out_of_the_thread(
    client, container, district, zalo, clock, db
):
    user = zalo.new_user_id()
    await send_zalo(client, zalo, clock, user, REPORT)
    await container.inbound.run_once()
    await send_zalo(
        client,
        zalo,
        clock,
        user,
        "Chào cả nhà, mai họp tổ dân phố lúc 7h nhé",
        event_name="user_send_group_text",
        group_id=GMF_GROUP,
    )
    await container.inbound.run_once()

    (tip,) = await all_tips(container)
    assert len([m for m in await thread(container, tip) if m.direction is MessageDirection.IN]) == 1
    assert (await inbox_rows(db))[1].outcome == "chatter"


async def test_chatter_is_dropped_and_its_body_erased(client, container, district, zalo, clock, db):
    await send_zalo(client, zalo, clock, zalo.new_user_id(), "Cảm ơn các anh nhiều ạ 👍")
    await container.inbound.run_once()
    (row,) = await inbox_rows(db)
    assert (row.outcome, row.payload, row.purged) == ("chatter", None, True)
    assert await tip_count(db) == 0
    assert zalo.cs_messages == []


async def test_a_question_becomes_an_inquiry_and_its_raw_body_is_erased(
    client, container, district, zalo, clock, db
):
    await send_zalo(
        client, zalo, clock, zalo.new_user_id(), "Cho em hỏi làm thẻ căn cước cần giấy tờ gì ạ?"
    )
    await container.inbound.run_once()
    (row,) = await inbox_rows(db)
    assert row.outcome == "inquiry"
    assert row.payload is None  # the inquiry holds the question now
    assert await tip_count(db) == 0
    async with container.uow() as uow:
        (inquiry,) = (
            await uow.inquiries.page(InquiryFilter(), scope=Scope.all(), after=None, first=5)
        ).items
    assert inquiry.question == "Cho em hỏi làm thẻ căn cước cần giấy tờ gì ạ?"


async def test_a_picture_without_text_joins_the_thread_with_its_link(
    client, container, district, zalo, clock, db
):
    user = zalo.new_user_id()
    await send_zalo(client, zalo, clock, user, REPORT)
    await container.inbound.run_once()
    event = json.loads(zalo.webhook_body(user, "", at=clock.now(), oa_id=OA_A))
    event["event_name"] = "user_send_image"
    event["message"]["attachments"] = [
        {"type": "image", "payload": {"url": "https://photo-s.zdn.vn/abc.jpg"}}
    ]
    body = json.dumps(event).encode()
    assert (
        await post_zalo(client, body, zalo.webhook_signature(body, OA_SECRET[OA_A]))
    ).status_code == 200
    await container.inbound.run_once()

    (tip,) = await all_tips(container)
    last = [m for m in await thread(container, tip) if m.direction is MessageDirection.IN][-1]
    assert last.body == "[ảnh] https://photo-s.zdn.vn/abc.jpg"


class Exploding:
    def classify(self, text, *, in_conversation=False):
        raise RuntimeError("classifier unavailable")


async def test_failures_are_retried_with_backoff_then_set_aside(
    client, container, district, zalo, clock, db
):
    await send_zalo(client, zalo, clock, zalo.new_user_id(), REPORT)
    processor = InboundProcessor(
        container.inbox,
        container.webhooks.parsers(),
        container.uow,
        clock,
        container.tips,
        Exploding(),
        max_attempts=3,
        rand=lambda: 1.0,
    )
    delays = []
    for _ in range(3):
        assert await processor.run_once() == 1
        (row,) = await inbox_rows(db)
        if row.processed_at is None:
            due = row.available_at.replace(tzinfo=clock.now().tzinfo)
            delays.append(due - clock.now())
            clock.current = due
    assert delays == [timedelta(seconds=30), timedelta(seconds=60)]
    (row,) = await inbox_rows(db)
    assert (row.outcome, row.attempts) == ("dead", 3)
    assert "classifier unavailable" in row.last_error
    assert row.payload is not None  # for an operator, until the retention purge


async def test_a_stored_body_is_parsed_by_its_own_channel_only(db, clock, container):
    inbox = container.inbox
    await inbox.record("carrier-pigeon", "m1", "{}", {}, clock.now())
    assert await container.inbound.run_once() == 1
    (row,) = await inbox_rows(db)
    assert row.outcome == "dead"


@pytest.mark.parametrize("text", ["", "   "])
async def test_an_empty_message_is_ignored(client, container, district, zalo, clock, db, text):
    await send_zalo(client, zalo, clock, zalo.new_user_id(), text)
    await container.inbound.run_once()
    (row,) = await inbox_rows(db)
    assert row.outcome == "ignored"


async def test_no_log_line_carries_a_body_a_user_id_or_a_signature(
    client, container, district, zalo, messenger, clock, db
):
    lines = JsonLines()
    root = logging.getLogger("gandan")  # everything the app logs (drivers log their own way)
    previous = root.level
    root.addHandler(lines)
    root.setLevel(logging.DEBUG)
    try:
        user = zalo.new_user_id()
        body = zalo.webhook_body(user, REPORT, at=clock.now(), oa_id=OA_A)
        signature = zalo.webhook_signature(body, OA_SECRET[OA_A])
        await post_zalo(client, body, signature)
        await post_zalo(client, body, "mac=" + "0" * 64)  # refused, logged
        psid = messenger.add_user(PAGE_ID)
        event = messenger.message_event(PAGE_ID, psid, FOLLOW_UP, at=clock.now())
        delivered = messenger.delivery(PAGE_ID, [event], at=clock.now())
        await post_messenger(client, delivered, messenger.sign(delivered))
        await container.inbound.run_once()
        clock.advance(minutes=1)
        await send_zalo(client, zalo, clock, user, FOLLOW_UP)
        await container.inbound.run_once()
    finally:
        root.removeHandler(lines)
        root.setLevel(previous)

    assert await tip_count(db) == 2
    text = json.dumps(lines.lines, ensure_ascii=False)
    assert any(line["logger"] == "gandan.webhooks" for line in lines.lines)
    for secret in (user, psid, "ngõ 12", "Wave màu đỏ", signature, event["message"]["mid"]):
        assert secret not in text


async def test_replying_to_the_acknowledgement_joins_the_thread_even_of_a_closed_tip(
    client, container, district, messenger, clock, db
):
    psid = messenger.add_user(PAGE_ID)
    first = messenger.message_event(PAGE_ID, psid, REPORT, at=clock.now())
    body = messenger.delivery(PAGE_ID, [first], at=clock.now())
    assert (await post_messenger(client, body, messenger.sign(body))).status_code == 200
    await container.inbound.run_once()
    (tip,) = await all_tips(container)
    (ack,) = messenger.sent
    commander = await make_member(container.uow, district.a.id, roles=[Role.COMMANDER])
    actor = await container.organisation.actor_for(commander.id)
    await container.tips.dismiss(actor, tip.id, "Trùng với tin báo đã xử lý hôm qua")

    clock.advance(hours=2)
    answer = messenger.message_event(
        PAGE_ID, psid, "Sao lại đóng tin báo của tôi?", at=clock.now(), reply_to=ack.message_id
    )
    body = messenger.delivery(PAGE_ID, [answer], at=clock.now())
    assert (await post_messenger(client, body, messenger.sign(body))).status_code == 200
    await container.inbound.run_once()

    assert await tip_count(db) == 1
    inbound = [m for m in await thread(container, tip) if m.direction is MessageDirection.IN]
    assert [m.body for m in inbound][-1] == "Sao lại đóng tin báo của tôi?"
    assert (await inbox_rows(db))[-1].outcome == "thread"
