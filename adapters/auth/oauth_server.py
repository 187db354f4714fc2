"""The OAuth2 authorization server for integration partners: the client-credentials grant only.

Authlib's server machinery does the protocol (RFC 6749 §4.4 and §5): client authentication by
HTTP Basic (`client_secret_basic`) or by form fields (`client_secret_post`), the grant, scope
checks, and error answers as RFC 6749 JSON with `Cache-Control: no-store`. Authlib is synchronous;
the API loads the client first (async) and runs this in a thread, since checking a secret hash
costs CPU (api/oauth.py).

Access tokens are JWTs (HS256) that we both issue and verify, so no token table is needed:
- claims: `sub` = client id, `scope`, `wards` (unit ids), `token_use` = "partner", `aud` =
  "gandan-partners", `iss`, `iat`, `exp` (an hour), `jti`;
- keys: derived with HKDF-SHA256 from each GANDAN_SECRET_KEYS key (in development, from the key
  generated under the var directory), named by that key's id in the `kid` header. The first key
  signs; all verify, so keys rotate as the sealing keys do. Every replica derives the same keys.
- A member token never verifies as a partner token (another key, another audience, no
  `token_use`), and a partner token never verifies as a member token (another key and audience;
  api/auth.py refuses `token_use` = "partner" as well). Revocation is checked on every request and
  on every WebSocket connection, against the client's row.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, InvalidScopeError, OAuth2Request
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6749.util import extract_basic_authorization, scope_to_list
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OctKey

from domain.partner import DUMMY_SECRET_HASH, PartnerClient, PartnerScope, verify_secret
from domain.ports import Clock, InvalidToken

PARTNER_AUDIENCE = "gandan-partners"
TOKEN_USE = "partner"
ACCESS_TOKEN_TTL = timedelta(hours=1)
GRANT_TYPE = "client_credentials"
AUTH_METHODS = ("client_secret_basic", "client_secret_post")
_HKDF_INFO = b"gandan/partner-access-token/v1"


@dataclass(frozen=True, slots=True)
class PartnerClaims:
    client_id: str
    scopes: tuple[str, ...]
    ward_ids: tuple[str, ...]
    expires_at: datetime


def parse_secret_keys(setting: str) -> list[tuple[str, bytes]]:
    """'id1:base64,id0:base64' (GANDAN_SECRET_KEYS' format), first key first."""
    keys: list[tuple[str, bytes]] = []
    for part in filter(None, (p.strip() for p in setting.split(","))):
        key_id, _, encoded = part.partition(":")
        keys.append((key_id.strip(), base64.b64decode(encoded.strip(), validate=True)))
    if not keys:
        raise ValueError("no secret keys configured")
    return keys


class PartnerTokens:
    """Issues and verifies partner access tokens (see the module docstring)."""

    algorithm = "HS256"

    def __init__(self, keys: Iterable[tuple[str, bytes]], *, issuer: str, clock: Clock) -> None:
        derived = [
            OctKey.import_key(_derive(material), {"kid": key_id, "alg": self.algorithm})
            for key_id, material in keys
        ]
        if not derived:
            raise ValueError("partner tokens need at least one key")
        self._signing = derived[0]
        self._keys = KeySet(derived)
        self.issuer = issuer
        self._clock = clock

    @classmethod
    def from_secret_keys(cls, setting: str, *, issuer: str, clock: Clock) -> PartnerTokens:
        return cls(parse_secret_keys(setting), issuer=issuer, clock=clock)

    def issue(
        self,
        client_id: str,
        *,
        scopes: Iterable[str],
        ward_ids: Iterable[Any],
        ttl: timedelta = ACCESS_TOKEN_TTL,
    ) -> str:
        now = self._clock.now()
        claims = {
            "iss": self.issuer,
            "aud": PARTNER_AUDIENCE,
            "sub": client_id,
            "token_use": TOKEN_USE,
            "scope": " ".join(sorted(scopes)),
            "wards": sorted(str(w) for w in ward_ids),
            "iat": int(now.timestamp()),
            "exp": int((now + ttl).timestamp()),
            "jti": secrets.token_urlsafe(12),
        }
        header = {"alg": self.algorithm, "typ": "at+jwt", "kid": self._signing.kid}
        return jwt.encode(header, claims, self._signing)

    def verify(self, token: str) -> PartnerClaims:
        """Raise InvalidToken for anything not a current partner token of ours."""
        now = self._clock.now()
        try:
            decoded = jwt.decode(token, self._keys, algorithms=[self.algorithm])
            jwt.JWTClaimsRegistry(
                now=int(now.timestamp()),
                leeway=30,
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": PARTNER_AUDIENCE},
                sub={"essential": True},
                exp={"essential": True},
                token_use={"essential": True, "value": TOKEN_USE},
            ).validate(decoded.claims)
        except (JoseError, ValueError, TypeError) as error:
            raise InvalidToken(str(error) or type(error).__name__) from error
        claims = decoded.claims
        scope, wards = claims.get("scope", ""), claims.get("wards", [])
        if not isinstance(scope, str) or not isinstance(wards, list):
            raise InvalidToken("malformed partner claims")
        return PartnerClaims(
            client_id=str(claims["sub"]),
            scopes=tuple(scope.split()),
            ward_ids=tuple(str(w) for w in wards),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )


def _derive(material: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(material)


class TokenRequest(OAuth2Request):
    """A token request read by the API from Starlette, with the client it names already loaded
    (authlib's lookups are synchronous; ours are not)."""

    def __init__(
        self,
        *,
        uri: str,
        headers: Mapping[str, str],
        form: dict[str, str],
        partner: PartnerClient | None,
    ) -> None:
        # Kept as given: Starlette's headers look up names in any case, as authlib expects.
        super().__init__("POST", uri, headers=headers)
        self.payload = BasicOAuth2Payload(form)
        self._form = form
        self.partner = partner

    @property
    def form(self) -> dict[str, str]:
        return self._form

    @property
    def args(self) -> dict[str, str]:
        return {}


class _Client(ClientMixin):
    """Authlib's view of a partner client: confidential, client credentials only, no redirects."""

    def __init__(self, partner: PartnerClient) -> None:
        self.partner = partner

    def get_client_id(self) -> str:
        return self.partner.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        granted = self.partner.granted_scopes(_requested(scope))
        return " ".join(sorted(granted or ()))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return self.partner.active and self.partner.check_secret(client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == GRANT_TYPE


def _requested(scope: str | None) -> list[str] | None:
    """None when no scope was asked for (an empty parameter counts as none)."""
    if scope is None or not scope.strip():
        return None
    return scope_to_list(scope)


def _authenticate(request: TokenRequest, client_id: str | None, secret: str | None) -> Any:
    if not client_id or not secret:
        return None
    partner = request.partner
    if partner is None or partner.client_id != client_id:
        # The same work as a real check, so that unknown ids cannot be told from wrong secrets.
        verify_secret(secret, DUMMY_SECRET_HASH)
        return None
    client = _Client(partner)
    return client if client.check_client_secret(secret) else None


def _basic(_query_client: Any, request: TokenRequest) -> Any:
    return _authenticate(request, *extract_basic_authorization(request.headers))


def _post(_query_client: Any, request: TokenRequest) -> Any:
    return _authenticate(request, request.form.get("client_id"), request.form.get("client_secret"))


class _ClientCredentials(ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)

    def validate_requested_scope(self) -> None:
        """The scope asked for must be a subset of the client's (RFC 6749 §3.3)."""
        partner = self.request.client.partner
        if partner.granted_scopes(_requested(self.request.payload.scope)) is None:
            raise InvalidScopeError(
                description="The requested scope is not granted to this client."
            )


class PartnerAuthorizationServer(AuthorizationServer):
    """`token_response(request)` answers (status, body, headers) for one TokenRequest."""

    def __init__(self, tokens: PartnerTokens, *, ttl: timedelta = ACCESS_TOKEN_TTL) -> None:
        super().__init__(scopes_supported=[s.value for s in PartnerScope])
        self._tokens = tokens
        self._ttl = ttl
        self.register_grant(_ClientCredentials)
        self.register_token_generator("default", self._generate)
        self.register_client_auth_method("client_secret_basic", _basic)
        self.register_client_auth_method("client_secret_post", _post)

    def token_response(self, request: TokenRequest) -> tuple[int, Any, list[tuple[str, str]]]:
        return self.create_token_response(request)

    def query_client(self, client_id: str) -> None:
        # Clients are loaded before authlib runs (TokenRequest.partner); see _authenticate.
        return None

    def save_token(self, token: dict, request: OAuth2Request) -> None:
        """Nothing to store: tokens are signed, short-lived, and checked against the client."""

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> tuple:
        return status, body, list(headers)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    def _generate(
        self,
        grant_type: str,
        client: _Client,
        user: Any = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = False,
    ) -> dict[str, Any]:
        partner = client.partner
        granted = partner.granted_scopes(_requested(scope)) or frozenset()
        token = self._tokens.issue(
            partner.client_id, scopes=granted, ward_ids=partner.ward_ids, ttl=self._ttl
        )
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": int(self._ttl.total_seconds()),
            "scope": " ".join(sorted(granted)),
        }


def looks_like_partner_token(token: str) -> bool:
    """Whether a bearer token claims to be a partner token (unverified: it only chooses which
    verification to run, and both refuse the other kind)."""
    parts = token.split(".")
    if len(parts) != 3 or len(parts[1]) > 8192:
        return False
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, TypeError):
        return False
    return isinstance(claims, dict) and claims.get("token_use") == TOKEN_USE
