"""Bearer tokens: HS256 signed by a generated key in development, RS256 against a JWKS in production."""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet, OctKey

from domain.ports import Claims, Clock, InvalidToken


def _claims(raw: dict[str, Any]) -> Claims:
    audience = raw.get("aud") or ()
    exp = raw.get("exp")
    return Claims(
        subject=str(raw.get("sub", "")),
        issuer=raw.get("iss"),
        audience=(audience,) if isinstance(audience, str) else tuple(audience),
        expires_at=datetime.fromtimestamp(exp, UTC) if isinstance(exp, int | float) else None,
        extra={k: v for k, v in raw.items() if k not in {"sub", "iss", "aud", "exp"}},
    )


def _registry(issuer: str, audience: str, now: datetime) -> jwt.JWTClaimsRegistry:
    registry = jwt.JWTClaimsRegistry(
        now=int(now.timestamp()),
        leeway=30,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": audience},
        sub={"essential": True},
        exp={"essential": True},
    )
    return registry


def _decode(
    token: str, key: Any, algorithms: list[str], issuer: str, audience: str, now: datetime
) -> Claims:
    try:
        decoded = jwt.decode(token, key, algorithms=algorithms)
        _registry(issuer, audience, now).validate(decoded.claims)
    except (JoseError, ValueError, TypeError) as error:
        raise InvalidToken(str(error) or error.__class__.__name__) from error
    return _claims(decoded.claims)


class DevTokens:
    """Issues and verifies HS256 tokens with a key generated once under the var directory."""

    algorithm = "HS256"

    def __init__(self, key_file: Path, *, issuer: str, audience: str, clock: Clock) -> None:
        self._key = OctKey.import_key(self._load_or_create(key_file))
        self.issuer = issuer
        self.audience = audience
        self._clock = clock

    @staticmethod
    def _load_or_create(path: Path) -> bytes:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Exclusive create: two processes starting together keep the first key. The file is
            # created 0600, so the key is never readable by others, not even for a moment.
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                os.fchmod(fd, 0o600)  # exactly 0600, whatever the umask
                with os.fdopen(fd, "w") as handle:
                    handle.write(secrets.token_hex(32))
        return path.read_text().strip().encode()

    def issue(self, subject: str, *, ttl: timedelta = timedelta(hours=12), **extra: Any) -> str:
        now = self._clock.now()
        claims = {
            **extra,
            "sub": subject,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": int(now.timestamp()),
            "exp": int((now + ttl).timestamp()),
        }
        return jwt.encode({"alg": self.algorithm, "typ": "JWT"}, claims, self._key)

    async def verify(self, token: str) -> Claims:
        return _decode(
            token, self._key, [self.algorithm], self.issuer, self.audience, self._clock.now()
        )


class JwksTokenVerifier:
    """Verifies RS256 tokens against the identity provider's JWKS, refreshed on an unknown key id."""

    algorithms = ("RS256",)

    def __init__(
        self,
        jwks_url: str,
        *,
        issuer: str,
        audience: str,
        clock: Clock,
        http: httpx.AsyncClient,
        cache_seconds: float = 300.0,
        min_refetch_seconds: float = 30.0,
    ) -> None:
        self._url = jwks_url
        self.issuer = issuer
        self.audience = audience
        self._clock = clock
        self._http = http
        self._cache_seconds = cache_seconds
        self._keys: KeySet | None = None
        self._fetched_at = 0.0
        self._attempted_at = float("-inf")
        self._min_refetch = min_refetch_seconds
        self._lock = asyncio.Lock()

    async def _key_set(self, *, refresh: bool = False) -> KeySet:
        async with self._lock:
            now = time.monotonic()
            stale = now - self._fetched_at > self._cache_seconds
            # Made-up key ids and an IdP that is down must not turn every request into a fetch.
            throttled = self._keys is not None and now - self._attempted_at < self._min_refetch
            if self._keys is None or ((stale or refresh) and not throttled):
                self._attempted_at = now
                try:
                    response = await self._http.get(self._url, timeout=10.0)
                    response.raise_for_status()
                    self._keys = KeySet.import_key_set(response.json())
                    self._fetched_at = time.monotonic()
                except (httpx.HTTPError, ValueError, JoseError) as error:
                    if self._keys is None:
                        raise InvalidToken(f"signing keys unavailable: {error}") from error
            return self._keys

    async def verify(self, token: str) -> Claims:
        keys = await self._key_set()
        try:
            return _decode(
                token, keys, self.algorithms, self.issuer, self.audience, self._clock.now()
            )
        except InvalidToken as error:
            # A rotated key shows up as an unknown kid: refetch once before refusing. Any other
            # failure (expired, wrong audience, bad signature) must not cost a call to the IdP.
            if not isinstance(error.__cause__, InvalidKeyIdError):
                raise
            refreshed = await self._key_set(refresh=True)
            if refreshed is keys:
                raise
            return _decode(
                token, refreshed, self.algorithms, self.issuer, self.audience, self._clock.now()
            )
