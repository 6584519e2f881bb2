"""taskql's configuration: read once from the environment and an optional `.env`.

Every tunable the contract names lives here, so operators have one table to read
(README "Configuration") and code gets values passed in, never from globals.
"""

from __future__ import annotations

import ipaddress
import logging
from enum import StrEnum
from typing import Annotated, Self

from limits import parse as parse_rate_limit
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

logger = logging.getLogger("taskql.settings")

DEVELOPMENT_SECRET = "taskql-development-secret-not-for-production-use"  # noqa: S105
SUPPORTED_DATABASE_SCHEMES = ("sqlite+aiosqlite", "postgresql+asyncpg")
RATE_LIMIT_STORAGE_SCHEMES = ("memory", "redis", "rediss")
SMTP_SCHEMES = ("smtp", "smtps")
PositiveInt = Annotated[int, Field(gt=0)]
PositiveFloat = Annotated[float, Field(gt=0)]


class AppEnv(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"
    TEST = "test"


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    app_env: AppEnv = AppEnv.DEVELOPMENT
    database_url: str = "sqlite+aiosqlite:///./taskql.db"
    db_pool_size: PositiveInt = 10
    db_max_overflow: Annotated[int, Field(ge=0)] = 10
    db_pool_timeout_seconds: PositiveFloat = 5.0
    db_pool_recycle_seconds: PositiveInt = 1800
    db_pool_pre_ping: bool = True
    db_pool_pre_ping_idle_seconds: Annotated[float, Field(ge=0)] = 1.0
    max_concurrent_queries: PositiveInt = 10
    session_cache_seconds: Annotated[float, Field(ge=0)] = 5.0
    db_connect_timeout_seconds: PositiveFloat = 2.0
    db_command_timeout_seconds: PositiveFloat = 5.0
    db_probe_interval_seconds: PositiveFloat = 0.5
    db_statement_timeout_ms: PositiveInt = 10_000
    auto_migrate: bool | None = None

    jwt_secret: str | None = None
    jwt_issuer: str = "taskql"
    jwt_audience: str = "taskql"
    jwt_leeway_seconds: Annotated[int, Field(ge=0)] = 0
    access_token_ttl_seconds: PositiveInt = 15 * 60
    refresh_token_ttl_seconds: PositiveInt = 7 * 24 * 3600
    bcrypt_rounds: Annotated[int, Field(ge=4, le=31)] = 12

    cors_origins: Annotated[list[str], NoDecode] = []
    trusted_hosts: Annotated[list[str], NoDecode] = ["*"]
    trusted_proxies: Annotated[list[str], NoDecode] = []
    log_level: str = "INFO"
    log_format: LogFormat | None = None

    rate_limit_storage_url: str = "memory://"
    rate_limit_key_prefix: str = "taskql"
    rate_limit_per_address: str = "10/minute"
    rate_limit_per_account: str = "5/minute"

    max_query_depth: PositiveInt = 10
    max_aliases: PositiveInt = 15
    max_tokens: PositiveInt = 2000
    max_directives: PositiveInt = 50
    max_complexity: PositiveInt = 5000
    default_page_size: PositiveInt = 20
    max_page_size: PositiveInt = 100
    max_body_bytes: PositiveInt = 1024 * 1024
    max_authorization_header_bytes: PositiveInt = 8 * 1024
    batching_enabled: bool = False
    max_batch_operations: PositiveInt = 10
    allow_get_queries: bool = True
    request_timeout_seconds: PositiveFloat = 30.0
    prometheus_multiproc_dir: str | None = None

    persisted_queries_storage_url: str = "memory://"
    persisted_queries_cache_size: PositiveInt = 1000
    persisted_query_max_bytes: PositiveInt = 16 * 1024
    persisted_queries_ttl_seconds: PositiveInt = 24 * 3600
    trusted_documents_path: str | None = None
    ws_max_subscriptions_per_socket: PositiveInt = 10
    ws_max_sockets_per_user: PositiveInt = 20
    ws_connection_init_timeout_seconds: PositiveFloat = 10.0
    ws_max_queued_events: PositiveInt = 100
    ws_keepalive_seconds: PositiveFloat = 15.0

    smtp_url: str | None = None
    mail_from: str = "taskql <no-reply@localhost>"
    public_app_url: str = "http://localhost:3000"
    password_reset_token_ttl_seconds: PositiveInt = 30 * 60
    email_verification_token_ttl_seconds: PositiveInt = 48 * 3600
    smtp_timeout_seconds: PositiveFloat = 30.0
    outbox_poll_seconds: PositiveFloat = 5.0
    outbox_retry_seconds: PositiveFloat = 30.0
    outbox_max_attempts: Annotated[int, Field(ge=1, le=50)] = 10
    outbox_batch_size: PositiveInt = 20
    outbox_retention_days: PositiveInt = 30

    @field_validator("cors_origins", "trusted_hosts", "trusted_proxies", mode="before")
    @classmethod
    def _split_comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: list[str]) -> list[str]:
        for proxy in value:
            ipaddress.ip_network(proxy, strict=False)
        return value

    @field_validator("rate_limit_storage_url", "persisted_queries_storage_url")
    @classmethod
    def _known_rate_limit_storage(cls, value: str) -> str:
        scheme = value.split("://", 1)[0]
        if scheme not in RATE_LIMIT_STORAGE_SCHEMES:
            raise ValueError(f"unknown scheme {scheme!r}; use memory://, redis:// or rediss://")
        return value

    @field_validator("rate_limit_per_address", "rate_limit_per_account")
    @classmethod
    def _rate_limit_notation(cls, value: str) -> str:
        parse_rate_limit(value)
        return value

    @field_validator("smtp_url")
    @classmethod
    def _known_smtp_scheme(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme = value.split("://", 1)[0]
        if scheme not in SMTP_SCHEMES or "://" not in value:
            raise ValueError(f"unknown scheme {scheme!r}; use smtp:// or smtps://")
        return value

    @field_validator("public_app_url")
    @classmethod
    def _app_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _known_database_scheme(cls, value: str) -> str:
        scheme = value.split("://", 1)[0]
        if scheme not in SUPPORTED_DATABASE_SCHEMES:
            raise ValueError(
                f"unknown scheme {scheme!r}; use one of {', '.join(SUPPORTED_DATABASE_SCHEMES)}"
            )
        return value

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in logging.getLevelNamesMapping():
            raise ValueError(f"unknown log level {value!r}")
        return level

    @model_validator(mode="after")
    def _secret_fits_environment(self) -> Self:
        if self.jwt_secret is not None and len(self.jwt_secret.encode()) < 32:
            raise ValueError("JWT_SECRET must be at least 32 bytes")
        if self.jwt_secret is None and self.app_env is AppEnv.PRODUCTION:
            raise ValueError("JWT_SECRET is required when APP_ENV=production")
        deadlines = self.db_connect_timeout_seconds + self.db_command_timeout_seconds
        if deadlines >= self.request_timeout_seconds and not self.uses_sqlite:
            # Allowed (a test may want the request's own limit to strike first), but then
            # the request times out before the database's deadlines can tell why.
            logger.warning(
                "DB_CONNECT_TIMEOUT_SECONDS + DB_COMMAND_TIMEOUT_SECONDS (%.1fs) is not under "
                "REQUEST_TIMEOUT_SECONDS (%.1fs)",
                deadlines,
                self.request_timeout_seconds,
            )
        return self

    @property
    def is_production(self) -> bool:
        return self.app_env is AppEnv.PRODUCTION

    @property
    def signing_key(self) -> str:
        return self.jwt_secret or DEVELOPMENT_SECRET

    @property
    def uses_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def applies_migrations_at_start(self) -> bool:
        if self.auto_migrate is not None:
            return self.auto_migrate
        return self.app_env is AppEnv.DEVELOPMENT

    @property
    def effective_log_format(self) -> LogFormat:
        if self.log_format is not None:
            return self.log_format
        return LogFormat.JSON if self.is_production else LogFormat.TEXT


class ConfigurationError(Exception):
    """Configuration that taskql refuses to start with; the message is one line."""


def describe_validation_error(error: ValidationError) -> str:
    """One line per bad setting, named as the operator spells it (upper-case env name)."""
    parts = []
    for item in error.errors():
        name = "_".join(str(part) for part in item["loc"]).upper()
        message = str(item["msg"]).removeprefix("Value error, ")
        parts.append(f"{name}: {message}" if name else message)
    return "; ".join(parts)


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment; raise ConfigurationError with one clear line."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise ConfigurationError(
            f"invalid configuration: {describe_validation_error(error)}"
        ) from None
    return settings
