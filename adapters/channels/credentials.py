"""Channel account credentials: static secrets from a configuration file, rotating tokens sealed in
the database and replaced with compare-and-swap (Zalo refresh tokens work only once)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.crypto import Sealer
from adapters.persistence.tables import ChannelStateRow, ChannelTokenRow
from domain.ports import Clock, StoredToken

token_t = ChannelTokenRow.__table__
state_t = ChannelStateRow.__table__


def load_credentials_file(path: Path | None) -> dict[str, dict[str, str]]:
    """`{"<credentials ref>": {"app_id": "...", ...}}`; a missing setting means no accounts."""
    if path is None:
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ValueError(f"{path}: expected an object of credentials objects")
    return {ref: {k: str(v) for k, v in entry.items()} for ref, entry in data.items()}


class SqlCredentialStore:
    def __init__(
        self,
        engine: AsyncEngine,
        sealer: Sealer,
        clock: Clock,
        config: Mapping[str, Mapping[str, str]],
    ) -> None:
        self._engine = engine
        self._sealer = sealer
        self._clock = clock
        self._config = config

    def config(self, ref: str) -> Mapping[str, str] | None:
        return self._config.get(ref)

    async def token(self, ref: str) -> StoredToken | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(token_t).where(token_t.c.ref == ref))).first()
        if row is None:
            return self._seed(ref)
        payload = json.loads(self._sealer.open(row.key_id, row.sealed, context=ref.encode()))
        expires = payload.get("expires_at")
        return StoredToken(
            access_token=payload["access_token"],
            refresh_token=payload.get("refresh_token"),
            expires_at=datetime.fromisoformat(expires) if expires else None,
            version=row.version,
            extra=payload.get("extra", {}),
        )

    def _seed(self, ref: str) -> StoredToken | None:
        """The first token pair an operator configured, before any refresh stored its successor."""
        config = self._config.get(ref) or {}
        if "access_token" not in config and "refresh_token" not in config:
            return None
        return StoredToken(config.get("access_token", ""), config.get("refresh_token"), None, 0)

    async def replace_token(self, ref: str, new: StoredToken, *, expected_version: int) -> bool:
        payload = {
            "access_token": new.access_token,
            "refresh_token": new.refresh_token,
            "expires_at": new.expires_at.isoformat() if new.expires_at else None,
            "extra": dict(new.extra),
        }
        key_id, sealed = self._sealer.seal(json.dumps(payload).encode(), context=ref.encode())
        values = {
            "sealed": sealed,
            "key_id": key_id,
            "version": expected_version + 1,
            "updated_at": self._clock.now(),
        }
        async with self._engine.begin() as conn:
            if expected_version == 0:
                exists = await conn.scalar(sa.select(token_t.c.version).where(token_t.c.ref == ref))
                if exists is not None:
                    return False
                try:
                    async with conn.begin_nested():
                        await conn.execute(sa.insert(token_t).values(ref=ref, **values))
                except sa.exc.IntegrityError:
                    return False
                return True
            result = await conn.execute(
                sa.update(token_t)
                .where(token_t.c.ref == ref, token_t.c.version == expected_version)
                .values(**values)
            )
            return result.rowcount == 1


class SqlChannelState:
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    async def get(self, key: str) -> str | None:
        async with self._engine.connect() as conn:
            return await conn.scalar(sa.select(state_t.c.value).where(state_t.c.key == key))

    async def put(self, key: str, value: str) -> None:
        async with self._engine.begin() as conn:
            updated = await conn.execute(
                sa.update(state_t)
                .where(state_t.c.key == key)
                .values(value=value, updated_at=self._clock.now())
            )
            if updated.rowcount == 0:
                await conn.execute(
                    sa.insert(state_t).values(key=key, value=value, updated_at=self._clock.now())
                )

    async def delete(self, key: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(sa.delete(state_t).where(state_t.c.key == key))
