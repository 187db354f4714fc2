"""Per-request context: who is asking, the container, and the request's DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from strawberry.types import Info as StrawberryInfo

from api.bootstrap import Container
from api.graphql.loaders import Loaders
from domain.access import Actor
from domain.partner import PartnerPrincipal


@dataclass
class Context:
    request: Request | Any
    response: Any
    actor: Actor
    container: Container
    loaders: Loaders = field(init=False)
    # graphql-transport-ws: the payload of connection_init, where the token travels.
    connection_params: dict[str, Any] | None = None
    # An integration partner (OAuth2 access token); the actor then stays anonymous.
    partner: PartnerPrincipal | None = None

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.container.uow, self.actor)

    def act_as(self, actor: Actor) -> None:
        """Switch to the caller a WebSocket's connection_init identified."""
        self.actor = actor
        self.loaders = Loaders(self.container.uow, actor)


Info = StrawberryInfo[Context, None]
