"""Which logins are still live, remembered for a few seconds and forgotten the moment they end.

Every authenticated request must know that the login behind its access token has
not been ended (logout, logoutAll, changePassword, a replayed refresh token). Asking
PostgreSQL costs a round trip per request, as much as the request's own query, so
a worker remembers a login it found live for SESSION_CACHE_SECONDS (never past the
login's own expiry), and forgets it as soon as it ends:

- in the worker that ended it, right after the transaction commits (`forget_*`);
- in every other worker through PostgreSQL's LISTEN/NOTIFY: `db/sessions.py` sends
  a notification inside the revoking transaction, so it is delivered on commit,
  and each worker's listener (`db/listener.py`) hands it to `forget_payload`.

Observers (`on_session_ended`) hear of every ended login the same two ways.

Nothing is remembered while the listener is not connected (before it starts,
while PostgreSQL is unreachable, on SQLite), so a revocation can never be missed:
the worker then asks the database on every request. A check that was in flight
while anything was forgotten does not store its answer (the epoch moved on).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

MAX_REMEMBERED = 10_000

SessionEnded = Callable[[str | None, int | None], None]
"""Told `(session_id, None)` when one login ends, `(None, user_id)` when all of a user's do."""


@dataclass(frozen=True, slots=True)
class _Remembered:
    user_id: int
    until: float
    """time.monotonic() after which the database is asked again."""


class LiveSessions:
    def __init__(self, *, ttl_seconds: float, max_remembered: int = MAX_REMEMBERED) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_remembered = max_remembered
        self._remembered: OrderedDict[str, _Remembered] = OrderedDict()
        self._epoch = 0
        self._listening = False
        self._observers: list[SessionEnded] = []

    def on_session_ended(self, observer: SessionEnded) -> None:
        """Also tell `observer` of every ended login (open WebSockets close on it)."""
        self._observers.append(observer)

    @property
    def listening(self) -> bool:
        """Whether revocations reach this worker, and so whether it remembers anything."""
        return self._listening

    @property
    def epoch(self) -> int:
        """Read before asking the database; hand back to `remember`."""
        return self._epoch

    def vouches_for(self, session_id: str, user_id: int) -> bool:
        if not self._listening:
            return False
        entry = self._remembered.get(session_id)
        if entry is None or entry.user_id != user_id:
            return False
        if time.monotonic() >= entry.until:
            del self._remembered[session_id]
            return False
        return True

    def remember(self, session_id: str, user_id: int, *, expires_at: datetime, epoch: int) -> None:
        """Remember a login the database just called live, unless anything ended meanwhile."""
        if not self._listening or epoch != self._epoch or self.ttl_seconds <= 0:
            return
        now = time.monotonic()
        left_in_session = expires_at.timestamp() - time.time()
        until = now + min(self.ttl_seconds, left_in_session)
        self._remembered[session_id] = _Remembered(user_id, until)
        self._remembered.move_to_end(session_id)
        while len(self._remembered) > self.max_remembered:
            self._remembered.popitem(last=False)

    def forget_session(self, session_id: str) -> None:
        self._epoch += 1
        self._remembered.pop(session_id, None)
        for observer in self._observers:
            observer(session_id, None)

    def forget_user(self, user_id: int) -> None:
        self._epoch += 1
        for session_id in [
            sid for sid, entry in self._remembered.items() if entry.user_id == user_id
        ]:
            del self._remembered[session_id]
        for observer in self._observers:
            observer(None, user_id)

    def forget_payload(self, payload: str) -> None:
        """Forget what a notification from `db/sessions.py` names."""
        kind, _, value = payload.partition(":")
        if kind == "s":
            self.forget_session(value)
        elif kind == "u" and value.isdigit():
            self.forget_user(int(value))
        else:  # unknown: forget everything rather than guess
            self._forget_all()

    def _forget_all(self) -> None:
        self._epoch += 1
        self._remembered.clear()

    def set_listening(self, listening: bool) -> None:
        """Told by the process's listener (db/listener.py) whether revocations reach it."""
        self._forget_all()
        self._listening = listening
