"""Carrying the police's messages back to whoever wrote: a tip's reporter, an inquiry's asker.

The tip service opens the sealed identity and hands over the way back (platform and channel
user id); this adapter picks the account to answer from — the group or account the tip came
through (`tip.group_id`) — and the platform's message for one person:
- Zalo: a consultation ("CS") message from the OA, POST /v3.0/oa/message/cs, with the OA's
  credentials (the group's credentials ref; a GMF group's ref is its OA's). Zalo refuses CS
  messages to someone who has not interacted with the OA for 7 days (-230): that refusal is
  final, and a reply known to be past the window is refused without asking.
- Messenger: the Send API from the page (adapters/channels/messenger/gateway.py): RESPONSE
  within 24 h of the reporter's last message, the HUMAN_AGENT tag up to 7 days, refused after.
- App and portal: nothing is pushed. The message is in the tip's thread, where the reporter reads
  it with the tracking code (`tipStatus`); None is returned.

Refusals come back as ReplyFailed, in Vietnamese and English, `retryable` when the channel may
take the message later. No message here quotes the reporter's id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from adapters.channels.base import ChannelDeps
from adapters.channels.messenger.gateway import MessengerSender
from adapters.channels.zalo.client import ZaloClient
from domain.errors import Msg
from domain.group import Group
from domain.ids import GroupId
from domain.ports import ChannelError, Conversation, ReplyFailed
from domain.reporter import ReporterIdentity, TipSource

ZALO_TEXT_LIMIT = 2000
ZALO_CS_WINDOW = timedelta(days=7)
WINDOW_CODES = frozenset({"zalo:-230", "messenger:window_closed"})
# Messenger: 10/2018278 "outside of allowed window"; 551 "person isn't available".
GRAPH_WINDOW_SUBCODE = "2018278"

GroupLookup = Callable[[GroupId], Awaitable[Group | None]]

WINDOW_CLOSED = Msg(
    "Người báo đã không nhắn tin cho đơn vị quá lâu (quá 7 ngày), kênh không cho phép nhắn trước;"
    " câu trả lời vẫn được lưu để người báo tra cứu bằng mã.",
    "The reporter has not written for too long (over 7 days) and the channel does not let us"
    " write first; the answer is kept for the reporter to read with the tracking code.",
)
NO_ACCOUNT = Msg(
    "Không xác định được tài khoản kênh của đơn vị để trả lời người báo.",
    "There is no channel account of the unit to answer the reporter from.",
)
NOT_CONFIGURED = Msg(
    "Tài khoản kênh của đơn vị chưa được cấu hình để gửi tin nhắn.",
    "The unit's channel account is not configured to send messages.",
)
REFUSED = Msg(
    "Kênh đã từ chối tin nhắn gửi tới người báo.",
    "The channel refused the message to the reporter.",
)
LATER = Msg(
    "Kênh tạm thời chưa nhận tin nhắn; hãy thử lại sau ít phút.",
    "The channel is not taking messages right now; try again in a few minutes.",
)


class ChannelReplies:
    def __init__(
        self,
        deps: ChannelDeps,
        group_of: GroupLookup,
        *,
        zalo: ZaloClient | None = None,
        messenger: MessengerSender | None = None,
    ) -> None:
        self._deps = deps
        self._group_of = group_of
        self._zalo = zalo or ZaloClient(deps)
        self._messenger = messenger or MessengerSender(deps)

    async def send(
        self,
        thread: Conversation,
        reporter: ReporterIdentity | None,
        text: str,
        *,
        last_inbound_at: datetime | None,
    ) -> str | None:
        if thread.source not in (TipSource.ZALO, TipSource.MESSENGER):
            return None  # app and portal: the thread is where the reporter reads it
        if reporter is None or not reporter.reachable or reporter.platform is not thread.source:
            return None  # nothing kept to answer to: the tracking code is the way back
        group = await self._group_of(thread.group_id) if thread.group_id else None
        if group is None:
            raise ReplyFailed(NO_ACCOUNT)
        user_id = reporter.channel_user_id or ""
        try:
            if thread.source is TipSource.ZALO:
                return await self._zalo_cs(group, user_id, text, last_inbound_at)
            return await self._messenger.send_text(
                credentials_ref=group.credentials_ref,
                page_id=group.external_id,
                psid=user_id,
                text=text,
                last_user_message_at=last_inbound_at,
            )
        except ChannelError as error:
            raise as_reply_failed(error) from None

    async def _zalo_cs(
        self, group: Group, user_id: str, text: str, last_inbound_at: datetime | None
    ) -> str:
        now = self._deps.clock.now()
        if last_inbound_at is not None and now - last_inbound_at > ZALO_CS_WINDOW:
            raise ReplyFailed(WINDOW_CLOSED)
        if not group.credentials_ref:
            raise ReplyFailed(NOT_CONFIGURED)
        data = await self._zalo.post(
            group.credentials_ref,
            "/v3.0/oa/message/cs",
            {"recipient": {"user_id": user_id}, "message": {"text": text[:ZALO_TEXT_LIMIT]}},
        )
        message_id = data.get("message_id")
        if not message_id:
            raise ChannelError(
                "Zalo accepted the message without a message_id",
                retryable=False,
                code="zalo:bad_response",
            )
        return str(message_id)


def as_reply_failed(error: ChannelError) -> ReplyFailed:
    code = error.code or ""
    if code in WINDOW_CODES or GRAPH_WINDOW_SUBCODE in str(error):
        return ReplyFailed(WINDOW_CLOSED)
    if code == "credentials":
        return ReplyFailed(NOT_CONFIGURED)
    if error.retryable:
        return ReplyFailed(LATER, retryable=True)
    return ReplyFailed(REFUSED)
