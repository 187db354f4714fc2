"""A fake OpenID-style identity provider: a JWKS endpoint and RS256 tokens signed by its keys.

    idp = FakeIdentityProvider()  # issuer DEFAULT_ISSUER, audience DEFAULT_AUDIENCE
    with serve_app(idp.app) as server:
        jwks_url = server.url(idp.jwks_path)
        token = idp.mint(str(member_id))

Keys are generated with joserfc. `rotate()` adds a new signing key (with a new kid) and, unless
told otherwise, keeps publishing the old ones so tokens already issued stay valid. `fail = True`
makes the JWKS endpoint answer 500; `jwks_fetches` counts the requests it received.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

DEFAULT_ISSUER = "https://idp.gandan.test"
DEFAULT_AUDIENCE = "gandan"

_kids = itertools.count(1)


def _new_key(key_size: int) -> RSAKey:
    return RSAKey.generate_key(
        key_size, parameters={"kid": f"test-key-{next(_kids)}", "alg": "RS256", "use": "sig"}
    )


class FakeIdentityProvider:
    jwks_path = "/.well-known/jwks.json"
    discovery_path = "/.well-known/openid-configuration"

    def __init__(
        self,
        *,
        issuer: str = DEFAULT_ISSUER,
        audience: str = DEFAULT_AUDIENCE,
        now: Callable[[], datetime] | None = None,
        key_size: int = 2048,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self._now = now or (lambda: datetime.now(UTC))
        self._key_size = key_size
        self.signing_key = _new_key(key_size)
        self.published: list[RSAKey] = [self.signing_key]
        self.jwks_fetches = 0
        self.fail = False
        self.app = Starlette(
            routes=[
                Route(self.jwks_path, self._jwks),
                Route(self.discovery_path, self._discovery),
            ]
        )

    @property
    def kid(self) -> str:
        return str(self.signing_key.kid)

    def jwks(self) -> dict[str, Any]:
        """The public key set, as the endpoint serves it (never private parts)."""
        return {"keys": [key.as_dict(private=False) for key in self.published]}

    def rotate(self, *, keep_old: bool = True) -> str:
        """Sign with a fresh key from now on; returns its kid."""
        self.signing_key = _new_key(self._key_size)
        self.published = [*self.published, self.signing_key] if keep_old else [self.signing_key]
        return self.kid

    def mint(
        self,
        subject: str,
        *,
        issuer: str | None = None,
        audience: str | list[str] | None = None,
        ttl: timedelta = timedelta(minutes=10),
        now: datetime | None = None,
        key: RSAKey | None = None,
        kid: str | None = None,
        **extra: Any,
    ) -> str:
        """An RS256 token for `subject`, signed by the current key unless `key` is given."""
        issued = now or self._now()
        signer = key or self.signing_key
        claims = {
            **extra,
            "sub": subject,
            "iss": issuer or self.issuer,
            "aud": audience or self.audience,
            "iat": int(issued.timestamp()),
            "exp": int((issued + ttl).timestamp()),
        }
        header = {"alg": "RS256", "typ": "JWT", "kid": kid or str(signer.kid)}
        return jwt.encode(header, claims, signer)

    async def _jwks(self, _request: Request) -> Response:
        self.jwks_fetches += 1
        if self.fail:
            return JSONResponse({"error": "temporarily_unavailable"}, status_code=500)
        return JSONResponse(self.jwks(), headers={"Cache-Control": "max-age=300"})

    async def _discovery(self, request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "issuer": self.issuer,
                "jwks_uri": base + self.jwks_path,
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )
