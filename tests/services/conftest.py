"""Fixtures for the bulletin and delivery use cases: a small unit tree with a group on every
channel, an officer and a commander, the services on the real unit of work, and gateways that
record what they were asked to publish."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from domain.access import Actor, Role, Scope
from domain.bulletin import Attachment, Bulletin, BulletinKind, MediaType
from domain.channels import ChannelKind
from domain.delivery import Delivery
from domain.group import Group
from domain.ids import BulletinId
from domain.ports import (
    ChannelError,
    ChannelGateway,
    DeliveryReceipt,
    GroupRef,
    OutboundMessage,
    Reach,
)
from domain.services.bulletins import BulletinDraft, BulletinService
from domain.services.deliveries import DeliveryService
from domain.services.organisation import OrganisationService
from domain.ward import Ward
from tests.builders import make_group, make_member, make_ward

LINK_BASE = "https://gandan.example.vn/bulletins"

VIDEO = Attachment(
    blob_key="a" * 64,
    media_type=MediaType.VIDEO,
    filename="canh-bao.mp4",
    size_bytes=600_000,
    content_type="video/mp4",
)


def link_for(bulletin_id: BulletinId) -> str:
    return f"{LINK_BASE}/{bulletin_id}"


@dataclass
class Unit:
    """Quận Hoàng Mai > {Phường Tân Mai (one group per channel), Phường Tương Mai (one group)}."""

    district: Ward
    tan_mai: Ward
    tuong_mai: Ward
    groups: dict[ChannelKind, Group]
    foreign_group: Group
    officer: Actor
    commander: Actor
    foreign_commander: Actor

    def group_ids(self, *kinds: ChannelKind) -> tuple:
        return tuple(self.groups[k].id for k in kinds or tuple(self.groups))


@pytest.fixture
def org(uow_factory: SqlUnitOfWorkFactory, clock: Any, publisher: Any) -> OrganisationService:
    return OrganisationService(uow_factory, clock, publisher)


@pytest.fixture
def bulletins(uow_factory: SqlUnitOfWorkFactory, clock: Any, publisher: Any) -> BulletinService:
    return BulletinService(uow_factory, clock, publisher, link_for)


@pytest.fixture
def actor_in(
    uow_factory: SqlUnitOfWorkFactory, org: OrganisationService
) -> Callable[[Ward, Role], Awaitable[Actor]]:
    async def make(ward: Ward, role: Role) -> Actor:
        member = await make_member(uow_factory, ward.id, roles=[role])
        return await org.actor_for(member.id)

    return make


@pytest.fixture
async def unit(uow_factory: SqlUnitOfWorkFactory, actor_in: Any) -> Unit:
    district = await make_ward(uow_factory, name="Quận Hoàng Mai")
    tan_mai = await make_ward(uow_factory, name="Phường Tân Mai", parent_id=district.id)
    tuong_mai = await make_ward(uow_factory, name="Phường Tương Mai", parent_id=district.id)
    groups = {
        kind: await make_group(
            uow_factory,
            tan_mai.id,
            channel=kind,
            name=f"Tân Mai {kind.value}",
            credentials_ref=f"{kind.value}:tan-mai",
        )
        for kind in ChannelKind
    }
    foreign = await make_group(uow_factory, tuong_mai.id, name="Tương Mai khu phố 2")
    return Unit(
        district=district,
        tan_mai=tan_mai,
        tuong_mai=tuong_mai,
        groups=groups,
        foreign_group=foreign,
        officer=await actor_in(tan_mai, Role.OFFICER),
        commander=await actor_in(tan_mai, Role.COMMANDER),
        foreign_commander=await actor_in(tuong_mai, Role.COMMANDER),
    )


def draft(unit: Unit, **overrides: Any) -> BulletinDraft:
    fields: dict[str, Any] = {
        "ward_id": unit.tan_mai.id,
        "kind": BulletinKind.SCAM_WARNING,
        "title": "Cảnh báo lừa đảo qua điện thoại",
        "body": "Không cung cấp mã OTP cho bất kỳ ai.\nGọi 113 khi nghi ngờ.",
        "attachments": (VIDEO,),
        "target_ward_ids": (unit.tan_mai.id,),
    }
    return BulletinDraft(**(fields | overrides))


@pytest.fixture
def approved(bulletins: BulletinService, unit: Unit) -> Callable[..., Awaitable[Bulletin]]:
    """`await approved(**draft_overrides)`: created, submitted and approved through the service."""

    async def make(**overrides: Any) -> Bulletin:
        bulletin = await bulletins.create(unit.officer, draft(unit, **overrides))
        await bulletins.submit(unit.officer, bulletin.id, None)
        return await bulletins.approve(unit.commander, bulletin.id, "Đồng ý")

    return make


async def deliveries_of(
    uow_factory: SqlUnitOfWorkFactory, bulletin_id: BulletinId
) -> list[Delivery]:
    async with uow_factory() as uow:
        (found,) = await uow.deliveries.of_bulletins([bulletin_id], scope=Scope.all())
    return found


async def load(uow_factory: SqlUnitOfWorkFactory, bulletin_id: BulletinId) -> Bulletin:
    async with uow_factory() as uow:
        bulletin = await uow.bulletins.get(bulletin_id, scope=Scope.all())
    assert bulletin is not None
    return bulletin


@dataclass
class RecordingGateway:
    """A channel that records every publish; `errors` are raised by the next calls, in order."""

    kind: ChannelKind
    published: list[tuple[str, OutboundMessage]] = field(default_factory=list)
    errors: list[Exception] = field(default_factory=list)
    reach_answer: Reach | None = None
    reach_error: ChannelError | None = None
    reach_asked: list[str] = field(default_factory=list)
    delay: float = 0.0
    sandbox: bool = False

    async def publish(
        self, target: GroupRef, message: OutboundMessage, *, idempotency_key: str
    ) -> DeliveryReceipt:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.errors:
            raise self.errors.pop(0)
        self.published.append((idempotency_key, message))
        return DeliveryReceipt(
            external_id=f"{self.kind.value}-{len(self.published)}",
            url=f"https://{self.kind.value}.example/{len(self.published)}",
            sandbox=self.sandbox,
        )

    async def reach(self, target: GroupRef, external_id: str) -> Reach | None:
        self.reach_asked.append(external_id)
        if self.reach_error is not None:
            raise self.reach_error
        return self.reach_answer


class RecordingRegistry:
    def __init__(self) -> None:
        self.gateways = {kind: RecordingGateway(kind) for kind in ChannelKind}

    def get(self, kind: ChannelKind) -> ChannelGateway:
        return self.gateways[kind]

    def kinds(self) -> list[ChannelKind]:
        return list(self.gateways)

    def keys(self) -> Counter[str]:
        """How many times each idempotency key was published, over every channel."""
        return Counter(key for g in self.gateways.values() for key, _ in g.published)


@pytest.fixture
def registry() -> RecordingRegistry:
    return RecordingRegistry()


@pytest.fixture
def worker(
    uow_factory: SqlUnitOfWorkFactory, clock: Any, publisher: Any, registry: RecordingRegistry
) -> Callable[..., DeliveryService]:
    """`worker()`: a DeliveryService over the recording channels (each call: another worker)."""

    def make(**options: Any) -> DeliveryService:
        options.setdefault("rand", lambda: 0.5)
        return DeliveryService(uow_factory, clock, publisher, registry, link_for, **options)

    return make
