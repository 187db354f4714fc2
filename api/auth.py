"""Who is calling: a bearer token becomes an Actor with its ward roles, or the request is refused.

A partner's access token (from /oauth/token) becomes a PartnerPrincipal instead, never an Actor:
the Actor stays anonymous, so every staff query and mutation refuses a partner as it refuses
anyone without a member token; only the partner fields (tipUpdates, the delivery log, webhooks)
read `context.partner`.
"""

from __future__ import annotations

import uuid

from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
)
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response

from adapters.auth.oauth_server import PartnerTokens, looks_like_partner_token
from domain.access import Actor
from domain.ids import MemberId, WardId
from domain.partner import PartnerPrincipal
from domain.ports import InvalidToken, TokenVerifier
from domain.services.organisation import OrganisationService
from domain.services.partners import PartnerService

OAUTH_PATHS = ("/oauth/",)


class ActorUser(BaseUser):
    def __init__(self, actor: Actor) -> None:
        self.actor = actor

    @property
    def is_authenticated(self) -> bool:
        return self.actor.authenticated

    @property
    def display_name(self) -> str:
        return str(self.actor.member_id or "")


class PartnerUser(BaseUser):
    def __init__(self, principal: PartnerPrincipal) -> None:
        self.principal = principal

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.principal.client_id


class PartnerTokenAuth:
    """A partner access token to the partner behind it; its client is checked on every call."""

    def __init__(self, tokens: PartnerTokens, partners: PartnerService) -> None:
        self._tokens = tokens
        self._partners = partners

    async def principal_for(self, token: str) -> PartnerPrincipal:
        try:
            claims = self._tokens.verify(token)
            ward_ids = [WardId(uuid.UUID(w)) for w in claims.ward_ids]
        except (InvalidToken, ValueError) as error:
            raise AuthenticationError(f"invalid token: {error}") from None
        principal = await self._partners.principal(claims.client_id, claims.scopes, ward_ids)
        if principal is None:
            raise AuthenticationError("invalid token: the partner client was revoked")
        return principal


class BearerTokenBackend(AuthenticationBackend):
    def __init__(
        self,
        tokens: TokenVerifier,
        organisation: OrganisationService,
        partners: PartnerTokenAuth | None = None,
    ) -> None:
        self._tokens = tokens
        self._organisation = organisation
        self._partners = partners

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        if conn.scope.get("path", "").startswith(OAUTH_PATHS):
            # The token endpoint authenticates OAuth2 clients itself (HTTP Basic, api/oauth.py).
            return AuthCredentials(), ActorUser(Actor.anonymous())
        header = conn.headers.get("authorization")
        if not header:
            return AuthCredentials(), ActorUser(Actor.anonymous())
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError("Authorization must be 'Bearer <token>'")
        user = await self.user_for_token(token.strip())
        if isinstance(user, PartnerUser):
            return AuthCredentials(["partner"]), user
        return AuthCredentials(["authenticated"]), user

    async def user_for_token(self, token: str) -> ActorUser | PartnerUser:
        """A member's token or a partner's; the token's own claim says which one to verify it
        as, and each verification refuses the other kind (keys, audiences, `token_use`)."""
        if self._partners is not None and looks_like_partner_token(token):
            return PartnerUser(await self._partners.principal_for(token))
        return ActorUser(await self.actor_for_token(token))

    async def actor_for_token(self, token: str) -> Actor:
        try:
            claims = await self._tokens.verify(token)
        except InvalidToken as error:
            raise AuthenticationError(f"invalid token: {error}") from None
        if claims.extra.get("token_use") == "partner":
            raise AuthenticationError("invalid token: a partner token is not a member token")
        try:
            member_id = MemberId(uuid.UUID(claims.subject))
        except ValueError:
            raise AuthenticationError("invalid token: unknown subject") from None
        actor = await self._organisation.actor_for(member_id)
        if not actor.authenticated:
            raise AuthenticationError("invalid token: the member no longer exists")
        return actor


def refuse(_conn: HTTPConnection, error: Exception) -> Response:
    return JSONResponse(
        {
            "errors": [
                {
                    "message": str(error),
                    "extensions": {
                        "code": "UNAUTHENTICATED",
                        "messageVi": "Mã xác thực không hợp lệ hoặc đã hết hạn.",
                    },
                }
            ]
        },
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )
