"""The context getter: one per request, the only place a bearer token is read.

It decodes the token once, checks that its user and login still exist, and builds
fresh dataloaders on the request's database access (`db/request.py`). Resolvers ask it for
the user id; there is no other way to learn who is asking.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from strawberry.fastapi import BaseContext
from strawberry.types import Info as StrawberryInfo

from auth.client_address import ClientAddresses
from auth.live_sessions import LiveSessions
from auth.passwords import PasswordHasher
from auth.rate_limit import RateLimits
from auth.tokens import InvalidToken, TokenClaims, TokenCodec, TokenType
from db.events import TaskEventHub, TaskSubscriber
from db.loaders import Loaders
from db.request import Reads, RequestDatabase
from db.sessions import live_session_expiry
from errors import Unauthenticated
from mail.sender import OutboxSender
from settings import Settings

logger = logging.getLogger("taskql.auth")

BEARER_PREFIX = "bearer "


@dataclass(frozen=True, slots=True)
class Services:
    """Process-wide collaborators, built once at start-up by `main.py`."""

    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    read_session_factory: async_sessionmaker[AsyncSession]
    read_engine: AsyncEngine
    """`engine` in autocommit mode: where queries read (db/request.py)."""
    tokens: TokenCodec
    passwords: PasswordHasher
    rate_limits: RateLimits
    client_addresses: ClientAddresses
    live_sessions: LiveSessions = field(default_factory=lambda: LiveSessions(ttl_seconds=0))
    task_events: TaskEventHub = field(default_factory=lambda: TaskEventHub(max_queued=100))
    outbox_sender: OutboxSender | None = None
    """Woken after a request commits mail, so its process delivers it at once."""

    def mail_committed(self) -> None:
        if self.outbox_sender is not None:
            self.outbox_sender.wake()


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is asking: a user id, or why the presented token was refused."""

    user_id: int | None = None
    session_id: str | None = None
    rejection: str | None = None


@dataclass(eq=False)
class RequestContext(BaseContext):
    services: Services
    database: RequestDatabase
    loaders: Loaders
    viewer: Viewer
    client_address: str
    request_id: str
    subscribe_task_events: Callable[[int, int | None], TaskSubscriber] | None = None
    """Set for operations over a WebSocket (`web/websocket.py`): registers a subscriber
    of `(user id, parent id)` whose falling behind closes the socket."""

    def __post_init__(self) -> None:
        super().__init__()

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def db(self) -> AsyncSession:
        """The request's ORM session, opened on first use (mutations write through it)."""
        return self.database.session

    def mail_committed(self) -> None:
        """Wake this process's outbox sender for mail this request committed: over HTTP
        once the answer has been sent, so that composing and sending never delays the
        answer (it takes as long whether or not a message was written); over a WebSocket,
        which has no such moment, at once."""
        if self.background_tasks is None:
            self.services.mail_committed()
            return

        async def wake_sender() -> None:
            self.services.mail_committed()

        self.background_tasks.add_task(wake_sender)

    def require_user_id(self) -> int:
        """The authenticated user's id, or UNAUTHENTICATED."""
        if self.viewer.user_id is None:
            raise Unauthenticated(reason=self.viewer.rejection or "missing")
        return self.viewer.user_id


Info = StrawberryInfo[RequestContext, None]
"""What every resolver receives: `info.context` is the request's RequestContext."""


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; InvalidToken if malformed.

    Oversized headers never get here: RequestLimitsMiddleware answers them with 431.
    """
    if authorization is None:
        return None
    if authorization[: len(BEARER_PREFIX)].lower() != BEARER_PREFIX:
        raise InvalidToken("invalid")
    token = authorization[len(BEARER_PREFIX) :].strip()
    if not token or " " in token:
        raise InvalidToken("invalid")
    return token


def log_auth_failure(what: str, *, reason: str, client_address: str) -> None:
    """One line per refused credential: why and from where, never the credential itself."""
    logger.info(
        "%s refused (%s) from %s",
        what,
        reason,
        client_address,
        extra={"reason": reason, "client_address": client_address},
    )


async def session_is_live(reads: Reads, services: Services, claims: TokenClaims) -> bool:
    """Whether the login behind an access token is still live (remembered, or asked)."""
    live_sessions = services.live_sessions
    if live_sessions.vouches_for(claims.session_id, claims.user_id):
        return True
    epoch = live_sessions.epoch
    expires_at = await live_session_expiry(
        reads, user_id=claims.user_id, session_id=claims.session_id
    )
    if expires_at is None:
        return False
    live_sessions.remember(claims.session_id, claims.user_id, expires_at=expires_at, epoch=epoch)
    return True


async def identify_viewer(
    request: Request, reads: Reads, services: Services, *, client_address: str
) -> Viewer:
    try:
        token = bearer_token(request.headers.get("authorization"))
        if token is None:
            return Viewer()
        claims = services.tokens.decode(token, expected=TokenType.ACCESS)
    except InvalidToken as error:
        log_auth_failure("access token", reason=error.reason, client_address=client_address)
        return Viewer(rejection=error.reason)
    if not await session_is_live(reads, services, claims):
        log_auth_failure("access token", reason="session ended", client_address=client_address)
        return Viewer(rejection="invalid")
    return Viewer(user_id=claims.user_id, session_id=claims.session_id)


async def get_context(request: Request, database: RequestDatabase) -> RequestContext:
    services = services_of(request)
    address = services.client_addresses.of(request)
    return RequestContext(
        services=services,
        database=database,
        loaders=Loaders(database),
        viewer=await identify_viewer(request, database, services, client_address=address),
        client_address=address,
        request_id=getattr(request.state, "request_id", ""),
    )
