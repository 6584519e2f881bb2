"""The async engine and session factory, configured from settings."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from db.breaker import DatabaseBreaker, GuardedQueuePool, asyncpg_probe, guard_engine
from db.commits import RecordedSession, record_commits
from settings import Settings

_IDLE_SINCE = "taskql_idle_since"


def create_engine(settings: Settings) -> AsyncEngine:
    """An engine that survives a restarted database: pre-ping, recycle and bounded waits.

    On PostgreSQL every connection attempt and statement has a client-side deadline,
    and the pool sits behind a circuit breaker (`db/breaker.py`, `guard_engine`).

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
        record_commits(engine, connection_failure=lost_connection)
        return engine
    engine = create_async_engine(
        settings.database_url,
        hide_parameters=True,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        pool_recycle=settings.db_pool_recycle_seconds,
        poolclass=GuardedQueuePool,  # db/breaker.py: fails fast while the database is away
        connect_args={
            "timeout": settings.db_connect_timeout_seconds,
            # A deadline on every statement, PostgreSQL's reply or not (a partition).
            "command_timeout": settings.db_command_timeout_seconds,
            "server_settings": {
                "statement_timeout": str(settings.db_statement_timeout_ms),
                "application_name": "taskql",
            },
        },
    )
    if settings.db_pool_pre_ping:
        ping_idle_connections(engine, idle_seconds=settings.db_pool_pre_ping_idle_seconds)
    record_commits(engine, connection_failure=lost_connection)
    return engine


def ping_idle_connections(engine: AsyncEngine, *, idle_seconds: float) -> None:
    """Test a pooled connection before use when it has sat idle for `idle_seconds` or more.

    SQLAlchemy's `pool_pre_ping` tests every checkout, and its asyncpg ping is three
    round trips (BEGIN, `;`, ROLLBACK); under load a connection comes back to work
    within milliseconds of its last use, when a test tells nothing new. A connection
    that has been idle (a restarted PostgreSQL, a proxy's idle timeout) is tested,
    and a dead one is replaced before the request sees it (DisconnectionError makes
    the pool open a fresh connection). A connection that dies while in use fails its
    statement, and SQLAlchemy then retires every connection opened before that moment.
    """
    dialect = engine.dialect

    def stamp(_dbapi_connection: Any, record: Any, *_: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is not None and time.monotonic() - idle_since < idle_seconds:
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if not dialect.is_disconnect(error, dbapi_connection, None):
                raise
            alive = False
        if not alive:
            raise DisconnectionError("a pooled connection had gone away")

    event.listen(engine.sync_engine, "connect", stamp)
    event.listen(engine.sync_engine, "checkin", stamp)
    event.listen(engine.sync_engine, "checkout", ping_if_idle)


# PostgreSQL's SQLSTATEs for a lost connection (asyncpg's ConnectionDoesNotExistError is
# 08003, CannotConnectNowError 57P03): class 08, and an administrator or crash shutting down.
_CONNECTION_SQLSTATE_CLASS = "08"
_SHUTDOWN_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})


def lost_connection(error: BaseException) -> bool:
    """Whether `error` itself (not its causes) says the connection to the database failed."""
    if isinstance(error, OSError):
        return True
    sqlstate = getattr(error, "sqlstate", None)
    return isinstance(sqlstate, str) and (
        sqlstate.startswith(_CONNECTION_SQLSTATE_CLASS) or sqlstate in _SHUTDOWN_SQLSTATES
    )


def database_breaker(engine: AsyncEngine, settings: Settings) -> DatabaseBreaker | None:
    """PostgreSQL's circuit breaker, in front of `engine`'s pool; None for SQLite (local)."""
    if settings.uses_sqlite:
        return None
    timeout = settings.db_connect_timeout_seconds
    breaker = DatabaseBreaker(
        asyncpg_probe(driver_dsn(settings), timeout_seconds=timeout),
        interval_seconds=settings.db_probe_interval_seconds,
        timeout_seconds=timeout,
    )
    guard_engine(engine, breaker, connection_failure=lost_connection)
    return breaker


def driver_dsn(settings: Settings) -> str:
    """The PostgreSQL URL as asyncpg itself takes it, for connections outside the pool."""
    url = make_url(settings.database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _unicode_lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # SQLite's own lower() folds ASCII only; `ilike` (search) compiles to lower() LIKE
    # lower(), so Python's Unicode lower() keeps search case-insensitive as on PostgreSQL.
    dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)
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
    ROLLBACK round trips. Mutations use transactional sessions, which report each
    confirmed commit (`db/commits.py`).
    """
    if autocommit:
        return async_sessionmaker(
            autocommit_engine(engine), expire_on_commit=False, autoflush=False
        )
    return async_sessionmaker(
        engine, expire_on_commit=False, autoflush=False, sync_session_class=RecordedSession
    )


def autocommit_engine(engine: AsyncEngine) -> AsyncEngine:
    """`engine`'s pool, with each statement committed on its own: where queries read."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")
