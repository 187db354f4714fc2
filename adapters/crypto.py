"""Sealing secrets at rest with AES-GCM. Each sealed value names its key, so keys can rotate."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE = 12


class SealError(Exception):
    pass


class Sealer:
    def __init__(self, keys: dict[str, bytes], current: str) -> None:
        if current not in keys:
            raise ValueError("the current key id must be one of the keys")
        for key_id, key in keys.items():
            if len(key) != 32:
                raise ValueError(f"key {key_id!r} must be 32 bytes (AES-256)")
        self._keys = {k: AESGCM(v) for k, v in keys.items()}
        self._material = dict(keys)
        self.current = current

    @classmethod
    def from_setting(cls, value: str) -> Sealer:
        """'id1:base64key,id0:base64key' — the first key seals, all of them open."""
        keys: dict[str, bytes] = {}
        order: list[str] = []
        for part in filter(None, (p.strip() for p in value.split(","))):
            key_id, _, encoded = part.partition(":")
            try:
                keys[key_id.strip()] = base64.b64decode(encoded.strip(), validate=True)
            except ValueError:
                raise ValueError(f"secret key {key_id!r} is not valid base64") from None
            order.append(key_id.strip())
        if not order:
            raise ValueError("no secret keys configured")
        return cls(keys, order[0])

    @classmethod
    def development(cls, path: Path) -> Sealer:
        """A key generated once under the var directory, for the embedded default only."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w") as handle:
                    handle.write("dev:" + base64.b64encode(secrets.token_bytes(32)).decode())
        return cls.from_setting(path.read_text().strip())

    def derive(self, purpose: bytes, length: int = 32) -> dict[str, bytes]:
        """A key for `purpose` from each configured key (HKDF-SHA256), by key id.

        Another use of the same secret (a keyed hash) never sees the sealing key itself, and one
        purpose's keys say nothing about another's."""
        return {
            key_id: HKDF(
                algorithm=hashes.SHA256(), length=length, salt=None, info=b"gandan:" + purpose
            ).derive(material)
            for key_id, material in self._material.items()
        }

    def seal(self, plaintext: bytes, *, context: bytes = b"") -> tuple[str, bytes]:
        nonce = os.urandom(_NONCE)
        return self.current, nonce + self._keys[self.current].encrypt(nonce, plaintext, context)

    def open(self, key_id: str, sealed: bytes, *, context: bytes = b"") -> bytes:
        aead = self._keys.get(key_id)
        if aead is None:
            raise SealError(f"unknown key id {key_id!r}")
        try:
            return aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], context)
        except InvalidTag:
            raise SealError("sealed value does not verify") from None
