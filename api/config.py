"""Settings, read from GANDAN_* environment variables. Production refuses to start half-configured."""

from __future__ import annotations

import json
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.services.tips import DEFAULT_SLA_HOURS, OfficeHours
from domain.tip import TipCategory


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GANDAN_", extra="ignore")

    env: Environment = Environment.DEVELOPMENT
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    var_dir: Path = Path("var")
    database_url: str = ""
    db_pool_size: int = Field(10, ge=1, le=200)
    log_level: str = "INFO"
    log_json: bool = True

    # Embedded default conveniences, ignored in production.
    auto_migrate: bool = True
    demo: bool = True

    # Tokens. Development signs HS256 itself; production verifies RS256 against a JWKS.
    jwt_issuer: str = ""
    jwt_audience: str = "gandan"
    jwks_url: str = ""
    dev_token_ttl_hours: int = Field(12, ge=1, le=24 * 30)

    # Public address of this API, used in links that channels carry back to residents.
    public_base_url: str = "http://127.0.0.1:8000"

    # Secrets at rest (channel tokens): "id:base64key[,id:base64key…]", the first one seals.
    # Development generates one under the var directory; production requires it.
    secret_keys: str = ""

    # Channels: which ones run, and the accounts' static credentials (a JSON file of objects
    # keyed by credentials reference). Groups without credentials publish to a local sandbox.
    channels_enabled: str = "zalo_group,zalo_oa,facebook_page,youtube_channel,portal"
    channel_credentials_file: Path | None = None
    blob_dir: Path | None = None

    # The event bus between API replicas and workers: Redis pub/sub at this URL
    # (redis://[:password@]host:6379/0, rediss:// for TLS); empty means in-process only.
    redis_url: str = ""

    # Inbound webhooks (README "Webhooks"). Every one is optional: a channel without its secret
    # answers 503 and stores nothing. Zalo signs with the OA secret key or the app secret
    # (unconfirmed which): `oa` reads `oa_secret_key`, `app` reads `secret_key` from the OA's
    # credentials; GANDAN_ZALO_WEBHOOK_SECRET serves OAs that have neither.
    zalo_app_id: str = ""
    zalo_webhook_secret: str = Field("", repr=False)
    zalo_webhook_secret_source: Literal["oa", "app"] = "oa"
    messenger_app_secret: str = Field("", repr=False)
    messenger_verify_token: str = Field("", repr=False)
    portal_webhook_secret: str = Field("", repr=False)  # whsec_<base64>
    webhook_max_age_seconds: int = Field(300, ge=30, le=3600)
    webhook_max_body_bytes: int = Field(1024 * 1024, ge=1024, le=16 * 1024 * 1024)
    # Raw bodies of events given up on are erased after this many days (processed ones at once).
    inbox_retention_days: int = Field(30, ge=1, le=365)

    # The delivery worker: inside `serve` by default in development, `gandan worker` otherwise.
    worker_embedded: bool | None = None
    worker_concurrency: int = Field(16, ge=1, le=512)
    worker_batch: int = Field(50, ge=1, le=1000)
    worker_poll_seconds: float = Field(1.0, gt=0, le=60)
    reach_interval_seconds: float = Field(900.0, ge=10)

    # Tips. Deadlines per category in hours, as JSON ('{"ma_tuy": 4}') or 'ma_tuy=4,pccc=1';
    # categories not named keep their defaults (domain/services/tips.py DEFAULT_SLA_HOURS).
    # Office hours decide the wording of the automatic acknowledgement.
    tip_sla_hours: str = ""
    office_hours: str = "07:30-17:00"
    office_days: str = "mon-fri"
    office_timezone: str = "Asia/Ho_Chi_Minh"

    # GraphQL limits.
    graphiql: bool | None = None
    introspection: bool = True
    max_page_size: int = Field(100, ge=1, le=1000)
    max_query_depth: int = Field(10, ge=2, le=50)
    max_aliases: int = Field(30, ge=1, le=1000)
    max_tokens: int = Field(2000, ge=100, le=100_000)
    max_upload_bytes: int = Field(10 * 1024 * 1024, ge=1024)

    @model_validator(mode="after")
    def _complete(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.var_dir / 'gandan.db'}"
        if self.production:
            missing = [
                name
                for name, value in (
                    ("GANDAN_JWKS_URL", self.jwks_url),
                    ("GANDAN_JWT_ISSUER", self.jwt_issuer),
                    ("GANDAN_JWT_AUDIENCE", self.jwt_audience),
                    ("GANDAN_SECRET_KEYS", self.secret_keys),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"production requires {', '.join(missing)}")
        elif not self.jwt_issuer:
            self.jwt_issuer = "gandan-dev"
        self.tip_sla  # noqa: B018 — refuse to start on a bad deadline or office hours
        self.tip_office_hours  # noqa: B018
        return self

    @property
    def tip_sla(self) -> dict[TipCategory, timedelta]:
        """Every category's deadline: the defaults, overridden by GANDAN_TIP_SLA_HOURS."""
        hours: dict[TipCategory, float] = dict(DEFAULT_SLA_HOURS)
        raw = self.tip_sla_hours.strip()
        if raw.startswith("{"):
            try:
                items = list(json.loads(raw).items())
            except (ValueError, AttributeError):
                raise ValueError("GANDAN_TIP_SLA_HOURS is not a JSON object") from None
        else:
            items = [p.partition("=")[::2] for p in raw.split(",") if p.strip()]
        for name, value in items:
            try:
                category = TipCategory(str(name).strip())
                hours[category] = float(value)
            except ValueError:
                raise ValueError(f"GANDAN_TIP_SLA_HOURS: bad entry {name!r}={value!r}") from None
            if not 0 < hours[category] <= 24 * 90:
                raise ValueError(f"GANDAN_TIP_SLA_HOURS: {name} must be 0-2160 hours")
        return {c: timedelta(hours=h) for c, h in hours.items()}

    @property
    def tip_office_hours(self) -> OfficeHours:
        try:
            return OfficeHours.parse(self.office_hours, self.office_days, self.office_timezone)
        except (ValueError, KeyError) as error:
            raise ValueError(f"GANDAN_OFFICE_HOURS/DAYS/TIMEZONE: {error}") from None

    @property
    def production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def graphiql_enabled(self) -> bool:
        return (not self.production) if self.graphiql is None else self.graphiql

    @property
    def embedded_worker(self) -> bool:
        return (not self.production) if self.worker_embedded is None else self.worker_embedded

    @property
    def blobs_path(self) -> Path:
        return self.blob_dir or self.var_dir / "blobs"

    @property
    def enabled_channels(self) -> list[str]:
        return [c.strip() for c in self.channels_enabled.split(",") if c.strip()]

    @property
    def dev_key_file(self) -> Path:
        return self.var_dir / "jwt-dev.key"
