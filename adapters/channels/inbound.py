"""The three inbound webhooks built together, and the parsers the inbound processor reads stored
bodies with (one per inbox channel)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from adapters.channels.messenger.webhook import MessengerWebhook
from adapters.channels.portal.webhook import PortalWebhook
from adapters.channels.zalo.webhook import RefLookup, ZaloWebhook, zalo_signing_keys
from domain.ports import CredentialStore, InboundParser


@dataclass(frozen=True, slots=True)
class InboundWebhooks:
    zalo: ZaloWebhook
    messenger: MessengerWebhook
    portal: PortalWebhook

    def parsers(self) -> dict[str, InboundParser]:
        return {hook.inbox: hook for hook in (self.zalo, self.messenger, self.portal)}


def inbound_webhooks(
    *,
    zalo_app_id: str | None,
    zalo_secret: str | None,
    zalo_secret_source: str,
    messenger_app_secret: str | None,
    messenger_verify_token: str | None,
    portal_secret: str | None,
    max_age: timedelta,
    credentials: CredentialStore,
    zalo_ref_of: RefLookup,
) -> InboundWebhooks:
    keys = zalo_signing_keys(
        app_id=zalo_app_id,
        default_secret=zalo_secret,
        source=zalo_secret_source,
        credentials=credentials,
        ref_of=zalo_ref_of,
    )
    return InboundWebhooks(
        zalo=ZaloWebhook(keys, max_age=max_age),
        messenger=MessengerWebhook(
            app_secret=messenger_app_secret, verify_token=messenger_verify_token, max_age=max_age
        ),
        portal=PortalWebhook(portal_secret, max_age=max_age),
    )
