"""An officer's reply reaches the reporter on the platform the tip came from: a Zalo CS message
from the OA it came through, a Messenger message whose type follows the messaging window, and for
the portal, the thread the reporter reads with the tracking code."""

from __future__ import annotations

from datetime import timedelta

import pytest
from strawberry import relay

from adapters.channels.replies import ChannelReplies, as_reply_failed
from domain.access import Actor, Role
from domain.errors import DomainError
from domain.ids import WardId, new_id
from domain.ports import ChannelError, ReplyFailed
from domain.reporter import ReporterIdentity, TipSource
from domain.tip import Tip
from tests.builders import NOW, make_member
from tests.webhooks.conftest import (
    OA_B,
    OA_SECRET,
    PAGE_ID,
    all_tips,
    portal_form,
    portal_headers,
    post_messenger,
    post_zalo,
    thread,
)

REPORT = "Báo công an: có người trộm xe đạp điện trước cổng trường tiểu học sáng nay"
ANSWER = "Công an phường đã tiếp nhận, anh/chị có nhớ đặc điểm người đó không?"


async def officer_of(container, ward) -> Actor:
    member = await make_member(container.uow, ward.id, roles=[Role.OFFICER])
    return await container.organisation.actor_for(member.id)


async def messenger_tip(client, container, messenger, clock, psid=None):
    psid = psid or messenger.add_user(PAGE_ID)
    event = messenger.message_event(PAGE_ID, psid, REPORT, at=clock.now())
    body = messenger.delivery(PAGE_ID, [event], at=clock.now())
    assert (await post_messenger(client, body, messenger.sign(body))).status_code == 200
    await container.inbound.run_once()
    (tip,) = await all_tips(container)
    messenger.sent.clear()  # the acknowledgement
    return tip, psid


@pytest.mark.parametrize(
    ("after", "messaging_type", "tag"),
    [
        (timedelta(hours=1), "RESPONSE", None),
        (timedelta(hours=23, minutes=59), "RESPONSE", None),
        (timedelta(days=3), "MESSAGE_TAG", "HUMAN_AGENT"),
        (timedelta(days=6, hours=23), "MESSAGE_TAG", "HUMAN_AGENT"),
    ],
)
async def test_a_messenger_reply_is_typed_by_the_messaging_window(
    client, container, district, messenger, clock, after, messaging_type, tag
):
    tip, psid = await messenger_tip(client, container, messenger, clock)
    officer = await officer_of(container, district.a)
    clock.advance(seconds=after.total_seconds())

    message = await container.tips.reply(officer, tip.id, ANSWER)

    (sent,) = messenger.sent
    assert (sent.page_id, sent.psid, sent.text) == (PAGE_ID, psid, ANSWER)
    assert (sent.messaging_type, sent.tag) == (messaging_type, tag)
    assert message.external_message_id == sent.message_id
    assert [m.body for m in await thread(container, tip) if m.author_id == officer.member_id] == [
        ANSWER
    ]


async def test_after_seven_days_messenger_may_not_write_first(
    client, container, district, messenger, clock
):
    tip, psid = await messenger_tip(client, container, messenger, clock)
    officer = await officer_of(container, district.a)
    clock.advance(days=8)

    with pytest.raises(DomainError) as refused:
        await container.tips.reply(officer, tip.id, ANSWER)
    assert "7" in refused.value.problems[0].message.en
    assert messenger.sent == []

    # The reporter writes again: the window opens again, from that message.
    event = messenger.message_event(PAGE_ID, psid, "Em bổ sung: hắn mặc áo xanh", at=clock.now())
    body = messenger.delivery(PAGE_ID, [event], at=clock.now())
    assert (await post_messenger(client, body, messenger.sign(body))).status_code == 200
    await container.inbound.run_once()
    await container.tips.reply(officer, tip.id, ANSWER)
    assert [(m.psid, m.messaging_type) for m in messenger.sent] == [(psid, "RESPONSE")]


async def test_a_zalo_reply_is_a_cs_message_from_the_oa_the_tip_came_through(
    client, container, district, zalo, clock
):
    user = zalo.new_user_id()
    body = zalo.webhook_body(user, REPORT, at=clock.now(), oa_id=OA_B)
    assert (
        await post_zalo(client, body, zalo.webhook_signature(body, OA_SECRET[OA_B]))
    ).status_code == 200
    await container.inbound.run_once()
    (tip,) = await all_tips(container)
    officer = await officer_of(container, district.b)
    clock.advance(days=2)

    message = await container.tips.reply(officer, tip.id, ANSWER)

    _ack, reply = zalo.cs_messages
    assert (reply["user_id"], reply["message"]) == (user, {"text": ANSWER})
    assert zalo.token_oa[reply["token"]] == OA_B
    assert message.external_message_id == reply["message_id"]


async def test_a_zalo_reply_past_seven_days_is_refused_without_calling_zalo(
    client, container, district, zalo, clock
):
    user = zalo.new_user_id()
    body = zalo.webhook_body(user, REPORT, at=clock.now(), oa_id=OA_B)
    assert (
        await post_zalo(client, body, zalo.webhook_signature(body, OA_SECRET[OA_B]))
    ).status_code == 200
    await container.inbound.run_once()
    (tip,) = await all_tips(container)
    officer = await officer_of(container, district.b)
    calls = len(zalo.requests)
    clock.advance(days=7, minutes=1)

    with pytest.raises(DomainError):
        await container.tips.reply(officer, tip.id, ANSWER)
    assert len(zalo.requests) == calls
    assert len(zalo.cs_messages) == 1  # the acknowledgement only


async def test_a_portal_reply_waits_in_the_thread_for_the_tracking_code(
    client, container, district, clock
):
    body = portal_form("A", REPORT, anonymous=True)
    headers = portal_headers(body, "msg_portal_reply", clock.now())
    assert (await client.post("/webhooks/portal", content=body, headers=headers)).status_code == 200
    await container.inbound.run_once()
    (tip,) = await all_tips(container)
    officer = await officer_of(container, district.a)

    message = await container.tips.reply(officer, tip.id, ANSWER)

    assert message.external_message_id is None  # nothing pushed anywhere
    view = await container.tips.status_for_reporter(tip.tracking_code)
    assert ANSWER in [m.body for m in view.replies]
    assert all(m.channel is TipSource.PORTAL for m in await thread(container, tip))


# The adapter on its own.


async def test_the_zalo_window_refusal_from_zalo_is_final(container, district, zalo, clock):
    """When we do not know when the reporter last wrote, Zalo decides: -230 is final."""
    replies = container.reporter_reply
    tip = _tip(district.oa_a.id, TipSource.ZALO)
    stranger = zalo.new_user_id()
    zalo.user_interacted(stranger, at=clock.now() - timedelta(days=9))
    with pytest.raises(ReplyFailed) as refused:
        await replies.send(
            tip, ReporterIdentity(TipSource.ZALO, stranger), ANSWER, last_inbound_at=None
        )
    assert refused.value.retryable is False
    assert "7" in refused.value.message.en


async def test_a_messenger_rate_limit_may_be_retried(container, district, messenger, clock):
    psid = messenger.add_user(PAGE_ID)
    messenger.user_wrote(PAGE_ID, psid, at=clock.now())
    messenger.fail_next(code=613)
    with pytest.raises(ReplyFailed) as refused:
        await container.reporter_reply.send(
            _tip(district.page.id, TipSource.MESSENGER),
            ReporterIdentity(TipSource.MESSENGER, psid),
            ANSWER,
            last_inbound_at=clock.now(),
        )
    assert refused.value.retryable is True


async def test_a_person_who_blocked_the_page_is_a_final_refusal(
    container, district, messenger, clock
):
    psid = messenger.add_user(PAGE_ID)
    messenger.user_wrote(PAGE_ID, psid, at=clock.now())
    messenger.blocked.add(psid)
    with pytest.raises(ReplyFailed) as refused:
        await container.reporter_reply.send(
            _tip(district.page.id, TipSource.MESSENGER),
            ReporterIdentity(TipSource.MESSENGER, psid),
            ANSWER,
            last_inbound_at=clock.now(),
        )
    assert refused.value.retryable is False


async def test_nothing_is_pushed_without_a_way_back(container, district):
    replies: ChannelReplies = container.reporter_reply
    zalo_tip = _tip(district.oa_a.id, TipSource.ZALO)
    assert await replies.send(zalo_tip, None, ANSWER, last_inbound_at=None) is None
    assert await replies.send(_tip(None, TipSource.APP), None, ANSWER, last_inbound_at=None) is None
    with pytest.raises(ReplyFailed):  # a Zalo reporter but no account to answer from
        await replies.send(
            _tip(None, TipSource.ZALO),
            ReporterIdentity(TipSource.ZALO, "5000000000000000001"),
            ANSWER,
            last_inbound_at=None,
        )


def test_channel_errors_read_as_reply_failures():
    window = as_reply_failed(
        ChannelError("Graph API error 10/2018278", retryable=False, code="graph:10")
    )
    assert window.retryable is False and "7" in window.message.en
    assert as_reply_failed(
        ChannelError("x", retryable=False, code="credentials")
    ).message.en.startswith("The unit's channel account is not configured")
    assert as_reply_failed(ChannelError("x", retryable=True, code="zalo:-32")).retryable is True
    assert as_reply_failed(ChannelError("x", retryable=False, code="zalo:-213")).retryable is False


def _tip(group_id, source) -> Tip:
    """A tip as the reply adapter sees it (not stored: the adapter reads only its group)."""
    return Tip.receive(
        ward_id=WardId(new_id()),
        tracking_code="GD-234-567-89A",
        source=source,
        body=REPORT,
        anonymous=False,
        reporter_id=None,
        now=NOW,
        group_id=group_id,
    )


# Through the API, as an officer does it.

TIP_REPLY = (
    "mutation ($input: TipReplyInput!) { tipReply(input: $input) {"
    " message { direction body } userErrors { field code message messageEn } } }"
)


async def tip_reply(client, container, officer: Actor, tip: Tip, text: str) -> dict:
    token = container.dev_tokens.issue(str(officer.member_id))
    response = await client.post(
        "/graphql",
        json={
            "query": TIP_REPLY,
            "variables": {"input": {"id": str(relay.GlobalID("Tip", str(tip.id))), "text": text}},
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]["tipReply"]


async def test_tip_reply_reaches_a_messenger_reporter_with_the_type_the_window_allows(
    client, container, district, messenger, clock
):
    tip, psid = await messenger_tip(client, container, messenger, clock)
    officer = await officer_of(container, district.a)

    clock.advance(hours=2)
    first = await tip_reply(client, container, officer, tip, ANSWER)
    clock.advance(days=2)
    second = await tip_reply(client, container, officer, tip, "Anh/chị còn ở địa chỉ cũ không?")
    clock.advance(days=6)
    third = await tip_reply(client, container, officer, tip, "Xin phản hồi giúp chúng tôi.")

    assert first == {"message": {"direction": "OUT", "body": ANSWER}, "userErrors": []}
    assert second["userErrors"] == []
    assert third["message"] is None
    assert [e["field"] for e in third["userErrors"]] == [["text"]]
    assert [(m.psid, m.messaging_type, m.tag) for m in messenger.sent] == [
        (psid, "RESPONSE", None),
        (psid, "MESSAGE_TAG", "HUMAN_AGENT"),
    ]


async def test_tip_reply_reaches_a_zalo_reporter_from_the_oa(
    client, container, district, zalo, clock
):
    user = zalo.new_user_id()
    body = zalo.webhook_body(user, REPORT, at=clock.now(), oa_id=OA_B)
    signature = zalo.webhook_signature(body, OA_SECRET[OA_B])
    assert (await post_zalo(client, body, signature)).status_code == 200
    await container.inbound.run_once()
    (tip,) = await all_tips(container)
    officer = await officer_of(container, district.b)
    clock.advance(days=1)

    result = await tip_reply(client, container, officer, tip, ANSWER)

    assert result["userErrors"] == []
    assert [(m["user_id"], m["message"]["text"]) for m in zalo.cs_messages][-1] == (user, ANSWER)
