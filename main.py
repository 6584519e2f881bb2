"""The ASGI application, `main:app`: wires settings, database, auth and HTTP together."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

from auth.client_address import ClientAddresses
from auth.context import Services
from auth.live_sessions import LiveSessions
from auth.passwords import PasswordHasher
from auth.rate_limit import RateLimits
from auth.tokens import TokenCodec
from db import migrate
from db.engine import (
    autocommit_engine,
    create_engine,
    create_session_factory,
    database_breaker,
)
from mail.sender import start_outbox_sender
from schema import TaskqlSchema, build_schema
from settings import ConfigurationError, Settings, load_settings
from web import health, metrics
from web.edge import TaskqlApp
from web.graphiql import graphiql_assets_router, render_graphiql
from web.graphql import graphql_router
from web.live_updates import LiveUpdates
from web.logging import configure_logging
from web.middleware import RequestLimitsMiddleware, ResponseHeadersMiddleware
from web.persisted_queries import PersistedQueries
from web.responses import EXCEPTION_HANDLERS
from web.tracing import (
    asgi_middleware_options,
    instrument_engine,
    operation_tracer,
    tracer_provider_from_environment,
    tracing_requested,
)

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

logger = logging.getLogger("taskql")


# A young generation this size is collected ~15x less often than the default 700
# allocations, and older generations rarely; requests allocate many short-lived
# objects (rows, result dicts) that die young either way.
GC_THRESHOLDS = (10_000, 50, 100)


def freeze_startup_heap() -> None:
    """Move everything built at start-up (schema, models, pools) out of the collector's sight.

    Full collections otherwise walk the whole long-lived heap over and over while
    requests run (gc.freeze, Python 3.7+).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def create_app(
    settings: Settings,
    *,
    schema: TaskqlSchema | None = None,
    tracer_provider: TracerProvider | None = None,
) -> FastAPI:
    """The app; `schema` replaces the one `build_schema(settings)` makes (e.g. with Strawberry
    extensions); `tracer_provider` traces it (by default one from the OTEL_* variables, when
    they ask for traces: `web/tracing.py`; none otherwise, and then tracing costs nothing)."""
    owns_tracer_provider = tracer_provider is None and tracing_requested()
    if owns_tracer_provider:
        tracer_provider = tracer_provider_from_environment()
    configure_logging(settings, with_trace_ids=tracer_provider is not None)
    persisted_queries = PersistedQueries.from_settings(settings)
    live_updates = LiveUpdates(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.jwt_secret is None:
            logger.warning("JWT_SECRET is not set: signing tokens with a development key")
        if settings.applies_migrations_at_start:
            await asyncio.to_thread(migrate.upgrade, settings.database_url)
        engine = create_engine(settings)
        breaker = database_breaker(engine, settings)
        if tracer_provider is not None:
            instrument_engine(engine, tracer_provider)
        metrics.instrument_pool(engine, settings)
        passwords = PasswordHasher(rounds=settings.bcrypt_rounds)
        live_sessions = LiveSessions(ttl_seconds=settings.session_cache_seconds)
        session_factory = create_session_factory(engine)
        outbox_sender = start_outbox_sender(settings, create_session_factory(engine))
        app.state.services = Services(
            settings=settings,
            engine=engine,
            session_factory=session_factory,
            read_session_factory=create_session_factory(engine, autocommit=True),
            read_engine=autocommit_engine(engine),
            tokens=TokenCodec(settings),
            passwords=passwords,
            rate_limits=RateLimits(settings),
            client_addresses=ClientAddresses(settings.trusted_proxies),
            live_sessions=live_sessions,
            task_events=live_updates.start(live_sessions, session_factory),
            outbox_sender=outbox_sender,
        )
        freeze_startup_heap()
        try:
            yield
        finally:
            # uvicorn runs this after in-flight requests have finished (SIGTERM included).
            await outbox_sender.stop()
            await live_updates.stop()
            if breaker is not None:
                await breaker.close()
            passwords.close()
            await persisted_queries.close()
            await engine.dispose()
            metrics.release_pool(settings)
            if owns_tracer_provider and tracer_provider is not None:
                tracer_provider.shutdown()  # exports what is still queued

    app = TaskqlApp(
        title="taskql",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        middleware=transport_guards(settings),
        exception_handlers=EXCEPTION_HANDLERS,
        # FastAPI's OpenTelemetry has nothing to report to (taskql installs no SDK); off,
        # so that no request pays for asking, and /graphql can be served directly.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    executable = build_schema(settings) if schema is None else schema
    graphql = graphql_router(
        executable,
        settings,
        render_ide=None if settings.is_production else render_graphiql,
        resolve_document=persisted_queries.resolve,
        tracer=operation_tracer(tracer_provider),
    )
    app.include_router(graphql)
    app.serve_directly(graphql.routes[0])
    app.router.routes.append(
        live_updates.route(executable, persisted_queries.resolve, operation_tracer(tracer_provider))
    )
    if not settings.is_production:
        app.include_router(graphiql_assets_router())
    app.include_router(health.router)
    app.include_router(metrics.router)
    if tracer_provider is not None:
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware  # noqa: PLC0415

        # Outermost, around every other middleware, so the request span covers them all.
        app.add_middleware(OpenTelemetryMiddleware, **asgi_middleware_options(tracer_provider))
    return app


GZIP_MINIMUM_BYTES = 1024
GZIP_LEVEL = 6
"""zlib's default: on taskql's JSON it compresses as well as Starlette's default 9, for less CPU."""


def transport_guards(settings: Settings) -> list[Middleware]:
    """The middleware every request passes, outermost first.

    Compression is outermost, the last thing done to every answer (refusals included):
    gzip when the client accepts it and the body is 1 KiB or more, with `Vary:
    Accept-Encoding`; it leaves WebSockets, event streams and bodies that already carry a
    `Content-Encoding` (GraphiQL's precompressed assets) alone. It is done by the same
    middleware as the request ids and security headers, just outside them
    (`ResponseHeadersMiddleware`). CORS wraps the transport limits so that a browser can
    read their 413 and 431 refusals.
    """
    guards = [
        Middleware(
            ResponseHeadersMiddleware, minimum_size=GZIP_MINIMUM_BYTES, compresslevel=GZIP_LEVEL
        ),
    ]
    if "*" not in settings.trusted_hosts:
        guards.append(Middleware(TrustedHostMiddleware, allowed_hosts=settings.trusted_hosts))
    if settings.cors_origins:
        guards.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_credentials="*" not in settings.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
                expose_headers=["X-Request-ID"],
                max_age=600,
            )
        )
    guards.append(
        Middleware(
            RequestLimitsMiddleware,
            max_body_bytes=settings.max_body_bytes,
            max_authorization_bytes=settings.max_authorization_header_bytes,
        )
    )
    return guards


def _app_from_environment() -> FastAPI:
    try:
        return create_app(load_settings())
    except ConfigurationError as error:
        print(f"taskql: {error}", file=sys.stderr)  # noqa: T201 - before logging exists
        raise SystemExit(2) from None


app = _app_from_environment()
