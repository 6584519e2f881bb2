"""The ASGI application, `main:app`: wires settings, database, auth and HTTP together."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.routing import WebSocketRoute

from auth.client_address import ClientAddresses
from auth.context import Services
from auth.live_sessions import LiveSessions
from auth.passwords import PasswordHasher
from auth.rate_limit import RateLimits
from auth.tokens import TokenCodec
from db import migrate
from db.engine import autocommit_engine, create_engine, create_session_factory, driver_dsn
from db.events import TASK_EVENT_SINK, TASK_EVENTS_CHANNEL, TaskEventHub
from db.listener import NotificationListener
from db.sessions import SESSIONS_ENDED_CHANNEL
from schema import build_schema
from settings import ConfigurationError, Settings, load_settings
from web import health, metrics
from web.edge import TaskqlApp
from web.graphiql import graphiql_assets_router, render_graphiql
from web.graphql import PATH, graphql_router
from web.logging import configure_logging
from web.middleware import RequestLimitsMiddleware, ResponseHeadersMiddleware
from web.persisted_queries import PersistedQueries
from web.sockets import SocketRegistry
from web.websocket import TaskqlWebSocketView

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


def create_app(settings: Settings) -> FastAPI:
    configure_logging(settings)
    persisted_queries = PersistedQueries.from_settings(settings)
    sockets = SocketRegistry(max_per_user=settings.ws_max_sockets_per_user)
    listener = (
        None
        if settings.uses_sqlite
        else NotificationListener(
            driver_dsn(settings), connect_timeout=settings.db_connect_timeout_seconds
        )
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.jwt_secret is None:
            logger.warning("JWT_SECRET is not set: signing tokens with a development key")
        if settings.applies_migrations_at_start:
            await asyncio.to_thread(migrate.upgrade, settings.database_url)
        engine = create_engine(settings)
        metrics.instrument_pool(engine, settings)
        passwords = PasswordHasher(rounds=settings.bcrypt_rounds)
        live_sessions = LiveSessions(ttl_seconds=settings.session_cache_seconds)
        live_sessions.on_session_ended(sockets.close_ended)
        task_events = TaskEventHub(
            max_queued=settings.ws_max_queued_events,
            max_concurrent_reads=settings.max_concurrent_queries,
        )
        session_factory = create_session_factory(engine)
        listening = None
        if listener is None:  # SQLite, one process: events go out right after each commit
            session_factory.configure(info={TASK_EVENT_SINK: task_events.publish})
        else:
            listener.on(SESSIONS_ENDED_CHANNEL, live_sessions.forget_payload)
            listener.on(TASK_EVENTS_CHANNEL, task_events.publish_payload)
            listener.on_state(live_sessions.set_listening)
            listener.on_state(sockets.listener_state)
            listening = asyncio.create_task(listener.run(), name="taskql-listener")
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
            task_events=task_events,
        )
        freeze_startup_heap()
        try:
            yield
        finally:
            # uvicorn runs this after in-flight requests have finished (SIGTERM included).
            if listening is not None:
                listening.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listening
            passwords.close()
            await persisted_queries.close()
            await engine.dispose()
            metrics.release_pool(settings)

    app = TaskqlApp(
        title="taskql",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        middleware=transport_guards(settings),
        # FastAPI's OpenTelemetry has nothing to report to (taskql installs no SDK); off,
        # so that no request pays for asking, and /graphql can be served directly.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    schema = build_schema(settings)
    graphql = graphql_router(
        schema,
        settings,
        render_ide=None if settings.is_production else render_graphiql,
        resolve_document=persisted_queries.resolve,
    )
    app.include_router(graphql)
    app.serve_directly(graphql.routes[0])
    app.router.routes.append(
        WebSocketRoute(
            PATH,
            TaskqlWebSocketView(
                schema,
                settings,
                registry=sockets,
                listener=listener,
                resolve_document=persisted_queries.resolve,
            ),
        )
    )
    if not settings.is_production:
        app.include_router(graphiql_assets_router())
    app.include_router(health.router)
    app.include_router(metrics.router)
    return app


def transport_guards(settings: Settings) -> list[Middleware]:
    """The middleware every request passes, outermost first.

    CORS wraps the transport limits so that a browser can read their 413 and 431 refusals.
    """
    guards = [Middleware(ResponseHeadersMiddleware)]
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
