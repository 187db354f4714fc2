"""In-memory stand-ins for the channel adapters' own ports (credentials, state, blobs)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

import httpx

from adapters.channels.base import ChannelDeps, Endpoints
from domain.ports import StoredToken


class MemoryCredentials:
    def __init__(self, config: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self.configs = dict(config or {})
        self.tokens: dict[str, StoredToken] = {}
        self.replacements = 0

    def config(self, ref: str) -> Mapping[str, str] | None:
        return self.configs.get(ref)

    async def token(self, ref: str) -> StoredToken | None:
        return self.tokens.get(ref)

    async def replace_token(self, ref: str, new: StoredToken, *, expected_version: int) -> bool:
        current = self.tokens.get(ref)
        if (current.version if current else 0) != expected_version:
            return False
        self.tokens[ref] = StoredToken(
            new.access_token, new.refresh_token, new.expires_at, expected_version + 1, new.extra
        )
        self.replacements += 1
        return True


class MemoryState:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    async def get(self, key: str) -> str | None:
        return self.values.get(key)

    async def put(self, key: str, value: str) -> None:
        self.values[key] = value

    async def delete(self, key: str) -> None:
        self.values.pop(key, None)


class MemoryBlobs:
    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    async def put(self, data: bytes, *, content_type: str, filename: str) -> str:
        key = hashlib.sha256(data).hexdigest()
        self.blobs[key] = data
        return key

    async def get(self, key: str) -> bytes:
        return self.blobs[key]

    async def size(self, key: str) -> int | None:
        return len(self.blobs[key]) if key in self.blobs else None


def channel_deps(
    http: httpx.AsyncClient,
    clock,
    *,
    endpoints: Endpoints,
    credentials: MemoryCredentials | None = None,
    tmp_path: Path | None = None,
    upload_chunk_bytes: int = 256 * 1024,
) -> ChannelDeps:
    return ChannelDeps(
        http=http,
        credentials=credentials or MemoryCredentials(),
        blobs=MemoryBlobs(),
        state=MemoryState(),
        clock=clock,
        endpoints=endpoints,
        sandbox_dir=(tmp_path or Path("var")) / "sandbox",
        upload_chunk_bytes=upload_chunk_bytes,
    )
