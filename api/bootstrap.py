"""The one place where ports meet adapters. Tests pass overrides instead of patching globals."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.auth.oauth_server import PartnerAuthorizationServer, PartnerTokens
from adapters.auth.tokens import DevTokens, JwksTokenVerifier
from adapters.blobs import LocalBlobStore
from adapters.bus.memory import InMemoryBus
from adapters.bus.redis import RedisBus
from adapters.channels.base import ChannelDeps, Endpoints
from adapters.channels.credentials import (
    SqlChannelState,
    SqlCredentialStore,
    load_credentials_file,
)
from adapters.channels.inbound import InboundWebhooks, inbound_webhooks
from adapters.channels.registry import load_registry
from adapters.channels.replies import ChannelReplies
from adapters.channels.zalo.members import zalo_membership_sources
from adapters.classify.keywords import KeywordClassifier
from adapters.clock import SystemClock
from adapters.crypto import Sealer
from adapters.knowledge.matcher import BM25Matcher
from adapters.partners.webhooks import StandardWebhookSender
from adapters.persistence.engine import create_engine, session_factory
from adapters.persistence.inbox import SqlInbox
from adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from adapters.vault import SealedVault
from api.config import Settings
from domain.access import Scope
from domain.channels import ChannelKind
from domain.classification import Classifier
from domain.group import Group
from domain.ids import BulletinId, GroupId
from domain.ports import (
    BlobStore,
    ChannelRegistry,
    Clock,
    EventPublisher,
    IdentityVault,
    InboxRepository,
    MembershipSource,
    ReporterReply,
    TokenVerifier,
    UnitOfWorkFactory,
)
from domain.rate_limit import AccountLimiter
from domain.services.bulletins import BulletinService
from domain.services.deliveries import DeliveryService
from domain.services.inbound import InboundProcessor
from domain.services.inquiries import InquiryService
from domain.services.membership_sync import MembershipSync
from domain.services.organisation import OrganisationService
from domain.services.partners import PartnerService
from domain.services.procedures import ProcedureService
from domain.services.tips import TipService

# Calls per second and burst per channel account. Zalo allows 4,000 requests a minute per app;
# Facebook pages a few hundred posts a day; YouTube about a hundred uploads a day.
ACCOUNT_LIMITS = {
    ChannelKind.ZALO_GROUP: (20.0, 20.0),
    ChannelKind.ZALO_OA: (2.0, 5.0),
    ChannelKind.FACEBOOK_PAGE: (1.0, 5.0),
    ChannelKind.YOUTUBE_CHANNEL: (0.1, 2.0),
    ChannelKind.PORTAL: (5.0, 10.0),
}


@dataclass
class Container:
    settings: Settings
    engine: AsyncEngine
    uow: UnitOfWorkFactory
    clock: Clock
    bus: EventPublisher
    tokens: TokenVerifier
    dev_tokens: DevTokens | None
    blobs: BlobStore
    channels: ChannelRegistry
    organisation: OrganisationService
    bulletins: BulletinService
    deliveries: DeliveryService
    membership: MembershipSync
    vault: IdentityVault
    reporter_reply: ReporterReply
    tips: TipService
    procedures: ProcedureService
    inquiries: InquiryService
    partners: PartnerService
    partner_tokens: PartnerTokens
    oauth_server: PartnerAuthorizationServer
    inbox: InboxRepository
    webhooks: InboundWebhooks
    inbound: InboundProcessor
    _closers: list[Any] = field(default_factory=list, repr=False)
    # Public tip endpoints (tipStatus, tipSubmit without a token), per client address: a tracking
    # code cannot be guessed at speed, nor the tip queue flooded, from one address.
    tip_limiter: AccountLimiter = field(
        default_factory=lambda: AccountLimiter(rate=1.0, burst=30), repr=False
    )

    async def aclose(self) -> None:
        for close in reversed(self._closers):
            await close()
        await self.engine.dispose()


class UnroutedReply:
    """The ReporterReply until a channel adapter is configured: sends nothing, so replies and
    acknowledgements are kept in the thread, where `tipStatus` shows them to the reporter."""

    async def send(self, tip: Any, reporter: Any, text: str, *, last_inbound_at: Any) -> None:
        return None


def bulletin_link(settings: Settings):
    base = settings.public_base_url.rstrip("/")

    def link_for(bulletin_id: BulletinId) -> str:
        return f"{base}/bulletins/{bulletin_id}"

    return link_for


def bootstrap(settings: Settings, **overrides: Any) -> Container:
    """Build every service with its adapters; any keyword replaces the adapter of that name.

    Recognised overrides: clock, engine, uow, bus, tokens, blobs, endpoints, channel_gateways
    (a mapping of ChannelKind to gateway), channel_credentials (a mapping of ref to secrets),
    membership_sources (a mapping of ChannelKind to MembershipSource), vault (IdentityVault),
    reporter_reply (ReporterReply), classifier (Classifier), inbox (InboxRepository).
    """
    clock: Clock = overrides.get("clock") or SystemClock()
    engine: AsyncEngine = overrides.get("engine") or create_engine(
        settings.database_url, pool_size=settings.db_pool_size
    )
    uow = overrides.get("uow") or SqlUnitOfWorkFactory(session_factory(engine), clock.now)
    closers: list[Any] = []
    bus = overrides.get("bus")
    if bus is None:
        if settings.redis_url:
            # Events cross replicas and workers; the bus is closed last of all (closers reversed).
            bus = RedisBus(settings.redis_url)
            closers.append(bus.aclose)
        else:
            bus = InMemoryBus()
    dev_tokens: DevTokens | None = None
    tokens: TokenVerifier | None = overrides.get("tokens")
    http = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0))
    closers.append(http.aclose)
    if tokens is None:
        if settings.production:
            tokens = JwksTokenVerifier(
                settings.jwks_url,
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                clock=clock,
                http=http,
            )
        else:
            dev_tokens = DevTokens(
                settings.dev_key_file,
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                clock=clock,
            )
            tokens = dev_tokens
    sealer = (
        Sealer.from_setting(settings.secret_keys)
        if settings.secret_keys
        else Sealer.development(settings.var_dir / "secret-keys")
    )
    credentials_config = overrides.get("channel_credentials")
    if credentials_config is None:
        credentials_config = load_credentials_file(settings.channel_credentials_file)
    blobs = overrides.get("blobs") or LocalBlobStore(settings.blobs_path)
    deps = ChannelDeps(
        http=http,
        credentials=SqlCredentialStore(engine, sealer, clock, credentials_config),
        blobs=blobs,
        state=SqlChannelState(engine, clock),
        clock=clock,
        endpoints=overrides.get("endpoints")
        or Endpoints(public_base_url=settings.public_base_url.rstrip("/")),
        sandbox_dir=settings.var_dir / "sandbox",
    )
    channels = load_registry(
        deps,
        enabled=[ChannelKind(c) for c in settings.enabled_channels],
        overrides=overrides.get("channel_gateways"),
    )
    membership_sources: dict[ChannelKind, MembershipSource] | None = overrides.get(
        "membership_sources"
    )
    if membership_sources is None:
        # The same deps as the gateways, for the enabled channels Zalo can list members of.
        membership_sources = dict(zalo_membership_sources(deps, set(channels.kinds())))
    link_for = bulletin_link(settings)
    partners, partner_tokens = _partners(settings, overrides, uow, clock, bus, sealer, closers)
    # Reporter identities are sealed with the same configured keys as channel tokens.
    vault: IdentityVault = overrides.get("vault") or SealedVault(sealer)
    group_of, zalo_ref_of = _group_lookups(uow)
    reporter_reply: ReporterReply = overrides.get("reporter_reply") or ChannelReplies(
        deps, group_of
    )
    tips = TipService(
        uow,
        clock,
        bus,
        vault,
        reporter_reply,
        sla=settings.tip_sla,
        office_hours=settings.tip_office_hours,
    )
    inbox: InboxRepository = overrides.get("inbox") or SqlInbox(engine, clock)
    webhooks = inbound_webhooks(
        zalo_app_id=settings.zalo_app_id,
        zalo_secret=settings.zalo_webhook_secret,
        zalo_secret_source=settings.zalo_webhook_secret_source,
        messenger_app_secret=settings.messenger_app_secret,
        messenger_verify_token=settings.messenger_verify_token,
        portal_secret=settings.portal_webhook_secret,
        max_age=timedelta(seconds=settings.webhook_max_age_seconds),
        credentials=deps.credentials,
        zalo_ref_of=zalo_ref_of,
    )
    classifier: Classifier = overrides.get("classifier") or KeywordClassifier()
    procedures = ProcedureService(uow, clock, overrides.get("matcher") or BM25Matcher())
    inquiries = InquiryService(
        uow,
        clock,
        bus,
        vault,
        reporter_reply,
        procedures,
        public_base_url=settings.public_base_url,
    )
    return Container(
        settings=settings,
        engine=engine,
        uow=uow,
        clock=clock,
        bus=bus,
        tokens=tokens,
        dev_tokens=dev_tokens,
        blobs=blobs,
        channels=channels,
        organisation=OrganisationService(uow, clock, bus),
        bulletins=BulletinService(uow, clock, bus, link_for),
        deliveries=DeliveryService(
            uow,
            clock,
            bus,
            channels,
            link_for,
            limits={k: AccountLimiter(rate, burst) for k, (rate, burst) in ACCOUNT_LIMITS.items()},
            concurrency=settings.worker_concurrency,
        ),
        membership=MembershipSync(uow, clock, bus, membership_sources),
        vault=vault,
        reporter_reply=reporter_reply,
        tips=tips,
        procedures=procedures,
        inquiries=inquiries,
        partners=partners,
        partner_tokens=partner_tokens,
        oauth_server=PartnerAuthorizationServer(partner_tokens),
        inbox=inbox,
        webhooks=webhooks,
        inbound=InboundProcessor(
            inbox, webhooks.parsers(), uow, clock, tips, classifier, inquiries=inquiries
        ),
        _closers=closers,
    )


def _group_lookups(uow: UnitOfWorkFactory) -> tuple[Any, Any]:
    """Reading groups for the channel adapters: by id (the account a reply goes out from), and
    the credentials ref of a Zalo OA or GMF group by its Zalo id (whose secret signs its
    webhooks; a GMF event that names no registered group is tried as its OA's)."""

    async def group_of(group_id: GroupId) -> Group | None:
        async with uow() as work:
            return await work.groups.get(group_id, scope=Scope.all())

    async def zalo_ref_of(kind: ChannelKind, account_id: str) -> str | None:
        async with uow() as work:
            group = await work.groups.by_external_id(kind, account_id)
            if group is None and kind is ChannelKind.ZALO_GROUP:
                group = await work.groups.by_external_id(ChannelKind.ZALO_OA, account_id)
        return group.credentials_ref if group else None

    return group_of, zalo_ref_of


def _partners(
    settings: Settings,
    overrides: dict[str, Any],
    uow: Any,
    clock: Clock,
    bus: EventPublisher,
    sealer: Sealer,
    closers: list[Any],
) -> tuple[PartnerService, PartnerTokens]:
    """Partner access tokens, the webhook sender and the partner service, whose outbox hook
    every unit of work runs before it commits (so a tip change and its webhook deliveries are
    one transaction).

    Token keys are derived from the sealing keys (GANDAN_SECRET_KEYS; in development the key
    generated under the var directory), so every replica verifies what any replica issued.
    Development and tests may send webhooks to http and to private addresses (127.0.0.1);
    production only to https URLs that resolve to public addresses."""
    from strawberry import relay

    keys = settings.secret_keys or (settings.var_dir / "secret-keys").read_text().strip()
    tokens: PartnerTokens = overrides.get("partner_tokens") or PartnerTokens.from_secret_keys(
        keys, issuer=settings.public_base_url.rstrip("/"), clock=clock
    )
    sender = overrides.get("webhook_sender")
    if sender is None:
        sender = StandardWebhookSender(allow_private=not settings.production)
        closers.append(sender.aclose)
    service = PartnerService(
        uow,
        clock,
        bus,
        box=sealer,
        sender=sender,
        tip_ref=lambda tip_id: str(relay.GlobalID("Tip", str(tip_id))),
        allow_http=not settings.production,
        allow_private=not settings.production,
        concurrency=settings.worker_concurrency,
    )
    hooks = getattr(uow, "before_commit", None)
    # One outbox writer per unit-of-work factory, even if several containers share it.
    if isinstance(hooks, list) and not any(
        isinstance(getattr(h, "__self__", None), PartnerService) for h in hooks
    ):
        hooks.append(service.enqueue)
    return service, tokens
