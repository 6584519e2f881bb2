"""The ASGI application, `main:app`: wires settings, database, auth and HTTP together."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

from auth.client_address import ClientAddresses
from auth.context import Services
from auth.passwords import PasswordHasher
from auth.rate_limit import RateLimits
from auth.tokens import TokenCodec
from db import migrate
from db.engine import create_engine, create_session_factory
from schema import build_schema
from settings import ConfigurationError, Settings, load_settings
from web import health, metrics
from web.graphiql import graphiql_assets_router, render_graphiql
from web.graphql import graphql_router
from web.logging import configure_logging
from web.middleware import (
    RequestIdMiddleware,
    RequestLimitsMiddleware,
    SecurityHeadersMiddleware,
)
from web.persisted_queries import PersistedQueries

logger = logging.getLogger("taskql")


# A young generation this size is collected ~15x less often than the default 700
# allocations, and older generations rarely; requests allocate many short-lived
# objects (rows, result dicts) that die young either way.
GC_THRESHOLDS = (10_000, 50, 100)


def freeze_startup_heap() -> None:
    """Move everything built at start-up (schema, models, pools) out of the collector's sight.

    Full collections otherwise walk the whole long-lived heap over and over while
    requests run (gc.freeze, Python 3.7+); measured in bench/README.md.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def create_app(settings: Settings) -> FastAPI:
    configure_logging(settings)
    persisted_queries = PersistedQueries.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.jwt_secret is None:
            logger.warning("JWT_SECRET is not set: signing tokens with a development key")
        if settings.applies_migrations_at_start:
            await asyncio.to_thread(migrate.upgrade, settings.database_url)
        engine = create_engine(settings)
        metrics.instrument_pool(engine, settings)
        passwords = PasswordHasher(rounds=settings.bcrypt_rounds)
        app.state.services = Services(
            settings=settings,
            engine=engine,
            session_factory=create_session_factory(engine),
            read_session_factory=create_session_factory(engine, autocommit=True),
            tokens=TokenCodec(settings),
            passwords=passwords,
            rate_limits=RateLimits(settings),
            client_addresses=ClientAddresses(settings.trusted_proxies),
        )
        freeze_startup_heap()
        try:
            yield
        finally:
            # uvicorn runs this after in-flight requests have finished (SIGTERM included).
            passwords.close()
            await persisted_queries.close()
            await engine.dispose()
            metrics.release_pool(settings)

    app = FastAPI(
        title="taskql", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.include_router(
        graphql_router(
            build_schema(settings),
            settings,
            render_ide=None if settings.is_production else render_graphiql,
            resolve_document=persisted_queries.resolve,
        )
    )
    if not settings.is_production:
        app.include_router(graphiql_assets_router())
    app.include_router(health.router)
    app.include_router(metrics.router)
    # The last middleware added is the outermost. CORS wraps the transport limits
    # so that a browser can read their 413 and 431 refusals.
    app.add_middleware(
        RequestLimitsMiddleware,
        max_body_bytes=settings.max_body_bytes,
        max_authorization_bytes=settings.max_authorization_header_bytes,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials="*" not in settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
            max_age=600,
        )
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.trusted_hosts)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(RequestIdMiddleware)
    return app


def _app_from_environment() -> FastAPI:
    try:
        return create_app(load_settings())
    except ConfigurationError as error:
        print(f"taskql: {error}", file=sys.stderr)  # noqa: T201 - before logging exists
        raise SystemExit(2) from None


app = _app_from_environment()
