"""The async engine and session factory, configured from settings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from settings import Settings


def create_engine(settings: Settings) -> AsyncEngine:
    """An engine that survives a restarted database: pre-ping, recycle and bounded waits.

    Parameters are user data (titles, emails, password hashes), so errors and
    echo logs never show them.
    """
    if settings.uses_sqlite:
        engine = create_async_engine(
            settings.database_url,
            hide_parameters=True,
            connect_args={"timeout": settings.db_connect_timeout_seconds},
        )
        event.listen(engine.sync_engine, "connect", _configure_sqlite_connection)
        return engine
    return create_async_engine(
        settings.database_url,
        hide_parameters=True,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        pool_recycle=settings.db_pool_recycle_seconds,
        pool_pre_ping=settings.db_pool_pre_ping,
        connect_args={
            "timeout": settings.db_connect_timeout_seconds,
            "server_settings": {
                "statement_timeout": str(settings.db_statement_timeout_ms),
                "application_name": "taskql",
            },
        },
    )


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def create_session_factory(
    engine: AsyncEngine, *, autocommit: bool = False
) -> async_sessionmaker[AsyncSession]:
    """Sessions on the engine's pool; `autocommit` ones run each statement on its own.

    Queries use autocommit sessions: under READ COMMITTED every statement already
    sees its own snapshot, so a transaction around reads only adds the BEGIN and
    ROLLBACK round trips. Mutations use transactional sessions.
    """
    bind = engine.execution_options(isolation_level="AUTOCOMMIT") if autocommit else engine
    return async_sessionmaker(bind, expire_on_commit=False, autoflush=False)
