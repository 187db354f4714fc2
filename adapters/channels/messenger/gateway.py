"""Messages to one person through a Facebook Page: the Messenger Send API (channels.md §2.4).

POST {graph}/{page-id}/messages, JSON `{"recipient": {"id": <PSID>}, "messaging_type", "message":
{"text"}, "tag"?}`. Which kind of message depends on how long ago the person last wrote to the
page (Meta's standard messaging window):
- within 24 hours: `messaging_type: RESPONSE`;
- from 24 hours to 7 days: `messaging_type: MESSAGE_TAG` with `tag: HUMAN_AGENT` (a person
  answering a person; the app needs Meta's approval for the tag);
- later, or when we do not know: nothing is sent, and the refusal is permanent — the page may
  not write first.

Credentials are the page's, from the static config of the group's credentials ref
(`page_access_token`, optional `app_secret` for `appsecret_proof`), as for posting. The token
travels in an `Authorization: Bearer` header, the proof in the query. Failures are the Graph
error object, classified as for posting (adapters/channels/facebook/gateway.py): rate limits and
transient codes are retryable; 10 (including 10/2018278, outside the window), 200–299, 551
(person unavailable), 190 and other 4xx are not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import httpx

from adapters.channels.base import ChannelDeps, missing_credentials, transport_error
from adapters.channels.facebook.gateway import PageCredentials, graph_error, redacted
from domain.ports import ChannelError

TEXT_LIMIT = 2000  # characters, Send API limit for a text message
RESPONSE_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)


class MessagingType(StrEnum):
    RESPONSE = "RESPONSE"
    MESSAGE_TAG = "MESSAGE_TAG"


HUMAN_AGENT = "HUMAN_AGENT"


@dataclass(frozen=True, slots=True)
class SendKind:
    messaging_type: MessagingType
    tag: str | None = None


def send_kind(last_user_message_at: datetime | None, now: datetime) -> SendKind:
    """RESPONSE within 24 h of the person's last message, HUMAN_AGENT up to 7 days, else refuse."""
    if last_user_message_at is None:
        raise window_closed("we do not know when the person last wrote")
    age = now - last_user_message_at
    if age <= RESPONSE_WINDOW:
        return SendKind(MessagingType.RESPONSE)
    if age <= HUMAN_AGENT_WINDOW:
        return SendKind(MessagingType.MESSAGE_TAG, HUMAN_AGENT)
    raise window_closed("the person last wrote more than 7 days ago")


def window_closed(reason: str) -> ChannelError:
    return ChannelError(
        f"Messenger may not write first: {reason}",
        retryable=False,
        code="messenger:window_closed",
    )


class MessengerSender:
    def __init__(self, deps: ChannelDeps) -> None:
        self._deps = deps

    def credentials(self, ref: str | None) -> PageCredentials:
        config = self._deps.credentials.config(ref) if ref else None
        token = (config or {}).get("page_access_token")
        if not token:
            raise missing_credentials(ref)
        return PageCredentials(token, (config or {}).get("app_secret") or None)

    async def send_text(
        self,
        *,
        credentials_ref: str | None,
        page_id: str,
        psid: str,
        text: str,
        last_user_message_at: datetime | None,
    ) -> str:
        """Send `text` to the person; the Send API's message id."""
        kind = send_kind(last_user_message_at, self._deps.clock.now())
        credentials = self.credentials(credentials_ref)
        body: dict[str, object] = {
            "recipient": {"id": psid},
            "messaging_type": kind.messaging_type.value,
            "message": {"text": text[:TEXT_LIMIT]},
        }
        if kind.tag:
            body["tag"] = kind.tag
        url = f"{self._deps.endpoints.facebook_graph.rstrip('/')}/{page_id}/messages"
        try:
            response = await self._deps.http.post(
                url,
                json=body,
                params=credentials.proof_fields(),
                headers={"Authorization": f"Bearer {credentials.access_token}"},
            )
        except httpx.HTTPError as error:
            raise redacted(transport_error(error), credentials) from None
        if not response.is_success:
            raise graph_error(response, credentials, page_id=page_id, now=self._deps.clock.now())
        try:
            answer = response.json()
        except ValueError:
            answer = None
        message_id = answer.get("message_id") if isinstance(answer, dict) else None
        if not message_id:
            # Meta may have delivered it; sending again could say it twice.
            raise ChannelError(
                "Send API answered without a message_id", retryable=False, code="graph:bad_response"
            )
        return str(message_id)
