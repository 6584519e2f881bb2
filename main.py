"""The ASGI application, `main:app`: wires settings, database, auth and HTTP together."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

from auth.context import Services
from auth.passwords import PasswordHasher
from auth.tokens import TokenCodec
from db import migrate
from db.engine import create_engine, create_session_factory
from settings import ConfigurationError, Settings, load_settings
from web import health
from web.graphql import graphql_router
from web.logging import configure_logging
from web.middleware import RequestIdMiddleware

logger = logging.getLogger("taskql")


def create_app(settings: Settings) -> FastAPI:
    configure_logging(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.jwt_secret is None:
            logger.warning("JWT_SECRET is not set: signing tokens with a development key")
        if settings.applies_migrations_at_start:
            await asyncio.to_thread(migrate.upgrade, settings.database_url)
        engine = create_engine(settings)
        passwords = PasswordHasher(rounds=settings.bcrypt_rounds)
        app.state.services = Services(
            settings=settings,
            engine=engine,
            session_factory=create_session_factory(engine),
            tokens=TokenCodec(settings),
            passwords=passwords,
        )
        try:
            yield
        finally:
            passwords.close()
            await engine.dispose()

    app = FastAPI(
        title="taskql", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.include_router(graphql_router(settings))
    app.include_router(health.router)
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
    app.add_middleware(RequestIdMiddleware)
    return app


def _app_from_environment() -> FastAPI:
    try:
        return create_app(load_settings())
    except ConfigurationError as error:
        print(f"taskql: {error}", file=sys.stderr)  # noqa: T201 - before logging exists
        raise SystemExit(2) from None


app = _app_from_environment()
