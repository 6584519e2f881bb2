"""What live updates need per process, built and stopped in one place (`main.py` wires it).

- the open sockets (`web/sockets.py`), which ended logins and a lost listener close;
- on PostgreSQL, the one LISTEN connection (`db/listener.py`) that feeds ended logins to
  LiveSessions and task changes to the TaskEventHub; on SQLite (one process), the
  mutation sessions hand their committed changes to the hub themselves;
- the WebSocket route on /graphql (`web/websocket.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.routing import WebSocketRoute
from strawberry.schema import BaseSchema

from auth.live_sessions import LiveSessions
from db.engine import driver_dsn
from db.events import TASK_EVENT_SINK, TASK_EVENTS_CHANNEL, TaskEventHub
from db.listener import NotificationListener
from db.sessions import SESSIONS_ENDED_CHANNEL
from settings import Settings
from web.graphql import PATH, DocumentResolver
from web.sockets import SocketRegistry
from web.websocket import TaskqlWebSocketView

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer


class LiveUpdates:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sockets = SocketRegistry(max_per_user=settings.ws_max_sockets_per_user)
        self.listener = (
            None
            if settings.uses_sqlite
            else NotificationListener(
                driver_dsn(settings), connect_timeout=settings.db_connect_timeout_seconds
            )
        )
        self._listening: asyncio.Task[None] | None = None

    def route(
        self, schema: BaseSchema, resolve_document: DocumentResolver, tracer: Tracer | None = None
    ) -> WebSocketRoute:
        view = TaskqlWebSocketView(
            schema,
            self.settings,
            registry=self.sockets,
            listener=self.listener,
            resolve_document=resolve_document,
            tracer=tracer,
        )
        return WebSocketRoute(PATH, view)

    def start(
        self, live_sessions: LiveSessions, session_factory: async_sessionmaker[AsyncSession]
    ) -> TaskEventHub:
        """The process's hub of task events, fed from now on."""
        live_sessions.on_session_ended(self.sockets.close_ended)
        task_events = TaskEventHub(
            max_queued=self.settings.ws_max_queued_events,
            max_concurrent_reads=self.settings.max_concurrent_queries,
        )
        if self.listener is None:  # SQLite: events go out right after each commit
            session_factory.configure(info={TASK_EVENT_SINK: task_events.publish})
            return task_events
        self.listener.on(SESSIONS_ENDED_CHANNEL, live_sessions.forget_payload)
        self.listener.on(TASK_EVENTS_CHANNEL, task_events.publish_payload)
        self.listener.on_state(live_sessions.set_listening)
        self.listener.on_state(self.sockets.listener_state)
        self._listening = asyncio.create_task(self.listener.run(), name="taskql-listener")
        return task_events

    async def stop(self) -> None:
        if self._listening is not None:
            self._listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listening
