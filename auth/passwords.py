"""bcrypt hashing, always off the event loop.

Hashing runs in a small dedicated thread pool (one thread fewer than the CPUs,
at least one), so a burst of logins saturates at most that many cores and the
event loop keeps serving other requests.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from concurrent.futures import ThreadPoolExecutor

import bcrypt

from errors import BadUserInput

MIN_PASSWORD_BYTES = 8
MAX_PASSWORD_BYTES = 72  # bcrypt reads no further; longer input is refused, never truncated


def validate_password(password: str, *, field: str) -> bytes:
    """The password's UTF-8 bytes, or BAD_USER_INPUT naming `field`.

    JSON can carry lone surrogates, which are not UTF-8 at all; they are refused
    like any other password of the wrong size rather than reaching bcrypt.
    """
    problem = f"Passwords are {MIN_PASSWORD_BYTES} to {MAX_PASSWORD_BYTES} bytes of UTF-8."
    try:
        encoded = password.encode("utf-8", errors="strict")
    except UnicodeEncodeError:
        raise BadUserInput(problem, field=field) from None
    if not MIN_PASSWORD_BYTES <= len(encoded) <= MAX_PASSWORD_BYTES:
        raise BadUserInput(problem, field=field)
    return encoded


def hash_cost(password_hash: str) -> int:
    """The cost factor of a `$2b$NN$...` hash."""
    return int(password_hash.split("$")[2])


class PasswordHasher:
    def __init__(self, *, rounds: int, workers: int | None = None) -> None:
        self.rounds = rounds
        self._executor = ThreadPoolExecutor(
            max_workers=workers or max(1, (os.cpu_count() or 2) - 1),
            thread_name_prefix="bcrypt",
        )
        self._dummy_hash: str | None = None

    async def hash(self, password: bytes) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._hash_sync, password)

    async def verify(self, password: bytes, password_hash: str) -> bool:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, bcrypt.checkpw, password, password_hash.encode()
        )

    async def burn_equal_time(self, password: bytes) -> None:
        """Do the work of a verification for an account that does not exist."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(secrets.token_bytes(16))
        await self.verify(password, self._dummy_hash)

    def needs_rehash(self, password_hash: str) -> bool:
        return hash_cost(password_hash) != self.rounds

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _hash_sync(self, password: bytes) -> str:
        return bcrypt.hashpw(password, bcrypt.gensalt(rounds=self.rounds)).decode()
