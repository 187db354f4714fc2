"""The reporter identity vault: identities sealed with AES-GCM, and keyed lookup hashes.

Sealed values carry the id of the key that sealed them, so configured keys can rotate: the first
key seals, every key still configured opens (adapters/crypto.py). The sealed bytes are bound to
the row that holds them (AES-GCM associated data), so a sealed identity copied into another row
does not open there.

Lookup hashes are HMAC-SHA256 of "platform:channel_user_id" under a key derived from each vault
key (HKDF, purpose "reporter-lookup"): a returning reporter is recognised without decrypting
anything, and nobody without the keys can test a guessed user id against the table. After a
rotation, identities stored earlier carry the hash under their own key, so matching asks for the
hashes under every key held.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

import orjson

from adapters.crypto import Sealer, SealError
from domain.reporter import ReporterIdentity, TipSource

_CONTEXT = b"gandan:reporter-identity:v1:"
_LOOKUP_PURPOSE = b"reporter-lookup"


class VaultError(Exception):
    """A sealed identity that does not open: an unknown key id, or bytes that do not verify."""


class SealedVault:
    def __init__(self, sealer: Sealer, lookup_keys: Mapping[str, bytes] | None = None) -> None:
        self._sealer = sealer
        self._lookup_keys = dict(lookup_keys or sealer.derive(_LOOKUP_PURPOSE))
        if sealer.current not in self._lookup_keys:
            raise ValueError("the lookup keys must include one for the current key id")

    def seal(self, identity: ReporterIdentity, *, bound_to: str = "") -> tuple[str, bytes]:
        payload = {
            "v": 1,
            "platform": identity.platform.value if identity.platform else None,
            "channel_user_id": identity.channel_user_id,
            "phone": identity.phone,
            "name": identity.name,
        }
        return self._sealer.seal(orjson.dumps(payload), context=_CONTEXT + bound_to.encode())

    def open(self, key_id: str, sealed: bytes, *, bound_to: str = "") -> ReporterIdentity:
        try:
            raw = self._sealer.open(key_id, sealed, context=_CONTEXT + bound_to.encode())
        except SealError as error:
            raise VaultError(str(error)) from None
        data = orjson.loads(raw)
        platform = data.get("platform")
        return ReporterIdentity(
            platform=TipSource(platform) if platform else None,
            channel_user_id=data.get("channel_user_id"),
            phone=data.get("phone"),
            name=data.get("name"),
        )

    def lookup_hash(self, platform: TipSource, channel_user_id: str) -> str:
        return self._hash(self._lookup_keys[self._sealer.current], platform, channel_user_id)

    def lookup_hashes(self, platform: TipSource, channel_user_id: str) -> list[str]:
        current = self._sealer.current
        ordered = [current, *(k for k in self._lookup_keys if k != current)]
        return [self._hash(self._lookup_keys[k], platform, channel_user_id) for k in ordered]

    @staticmethod
    def _hash(key: bytes, platform: TipSource, channel_user_id: str) -> str:
        message = f"{TipSource(platform).value}:{channel_user_id.strip()}".encode()
        return hmac.new(key, message, hashlib.sha256).hexdigest()
