"""Channel gateways, every one declared under the `gandan.channels` entry point group.

Loading fails at start-up when an enabled channel is missing or is not a gateway: a channel that
silently does not load would lose bulletins. Groups whose account has no configured credentials
are published to a local sandbox instead, and their deliveries say so.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from importlib.metadata import entry_points

from adapters.channels.base import ChannelDeps
from domain.channels import ChannelKind
from domain.ports import ChannelGateway, DeliveryReceipt, GroupRef, OutboundMessage, Reach

ENTRY_POINT_GROUP = "gandan.channels"

# The portal needs no account to publish: portals pull the ward's Atom feed.
_NEEDS_NO_CREDENTIALS = {ChannelKind.PORTAL}


class ChannelLoadError(RuntimeError):
    pass


class SandboxGateway:
    """Records what would have been posted, under the sandbox directory, one JSON file a delivery."""

    def __init__(self, kind: ChannelKind, deps: ChannelDeps) -> None:
        self.kind = kind
        self._deps = deps

    async def publish(
        self, target: GroupRef, message: OutboundMessage, *, idempotency_key: str
    ) -> DeliveryReceipt:
        folder = self._deps.sandbox_dir / self.kind.value
        folder.mkdir(parents=True, exist_ok=True)
        record = {
            "group": {
                "id": str(target.group_id),
                "external_id": target.external_id,
                "name": target.name,
            },
            "bulletin_id": str(message.bulletin_id),
            "title": message.title,
            "body": message.body,
            "link": message.link,
            "media": [m.filename for m in message.media],
            "at": self._deps.clock.now().isoformat(),
        }
        path = folder / f"{idempotency_key}.json"
        path.write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
        return DeliveryReceipt(
            external_id=f"sandbox:{idempotency_key}",
            url=None,
            sandbox=True,
            detail=f"no credentials: recorded in the local sandbox ({path.name})",
        )

    async def reach(self, target: GroupRef, external_id: str) -> Reach | None:
        return None


class CredentialAwareGateway:
    """The real gateway for groups with an account, the sandbox for those without one."""

    def __init__(self, real: ChannelGateway, deps: ChannelDeps) -> None:
        self.kind = real.kind
        self._real = real
        self._sandbox = SandboxGateway(real.kind, deps)
        self._deps = deps

    def _for(self, target: GroupRef) -> ChannelGateway:
        if self.kind in _NEEDS_NO_CREDENTIALS:
            return self._real
        configured = target.credentials_ref and self._deps.credentials.config(
            target.credentials_ref
        )
        return self._real if configured else self._sandbox

    async def publish(
        self, target: GroupRef, message: OutboundMessage, *, idempotency_key: str
    ) -> DeliveryReceipt:
        return await self._for(target).publish(target, message, idempotency_key=idempotency_key)

    async def reach(self, target: GroupRef, external_id: str) -> Reach | None:
        if external_id.startswith("sandbox:"):
            return None
        return await self._for(target).reach(target, external_id)


class EntryPointRegistry:
    def __init__(self, gateways: Mapping[ChannelKind, ChannelGateway]) -> None:
        self._gateways = dict(gateways)

    def get(self, kind: ChannelKind) -> ChannelGateway:
        try:
            return self._gateways[kind]
        except KeyError:
            raise ChannelLoadError(f"channel {kind.value!r} is not enabled") from None

    def kinds(self) -> list[ChannelKind]:
        return list(self._gateways)


def load_registry(
    deps: ChannelDeps,
    enabled: Iterable[ChannelKind] | None = None,
    overrides: Mapping[ChannelKind, ChannelGateway] | None = None,
) -> EntryPointRegistry:
    """Instantiate each enabled channel's gateway from its entry point (or an override)."""
    wanted = list(enabled or ChannelKind)
    declared = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    gateways: dict[ChannelKind, ChannelGateway] = {}
    for kind in wanted:
        if overrides and kind in overrides:
            gateway = overrides[kind]
        else:
            entry = declared.get(kind.value)
            if entry is None:
                raise ChannelLoadError(f"no entry point {ENTRY_POINT_GROUP}:{kind.value}")
            try:
                gateway = entry.load()(deps)
            except Exception as error:
                raise ChannelLoadError(f"channel {kind.value!r} failed to load: {error}") from error
        _check(kind, gateway)
        gateways[kind] = CredentialAwareGateway(gateway, deps)
    return EntryPointRegistry(gateways)


def _check(kind: ChannelKind, gateway: object) -> None:
    missing = [name for name in ("publish", "reach") if not callable(getattr(gateway, name, None))]
    if missing or getattr(gateway, "kind", None) != kind:
        raise ChannelLoadError(
            f"{type(gateway).__name__} is not a {kind.value} gateway"
            + (f" (missing {', '.join(missing)})" if missing else "")
        )
