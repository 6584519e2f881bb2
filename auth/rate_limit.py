"""Attempt limits on the account mutations, per client address and per account.

Counters live in the `limits` storage that RATE_LIMIT_STORAGE_URL names: process
memory by default, Redis to share them between worker processes. Every call of
a limited field counts, so aliases in one document cannot multiply the budget.
A moving window is used so that a burst at a window boundary cannot double it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time
from enum import StrEnum

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string

from db.users import email_key
from errors import RateLimited, ServiceUnavailable
from settings import Settings

logger = logging.getLogger("taskql.auth")


class LimitedAction(StrEnum):
    LOGIN = "login"
    SIGNUP = "signup"
    REFRESH = "refresh"
    CHANGE_PASSWORD = "change_password"  # noqa: S105 - an action name, not a secret
    REQUEST_PASSWORD_RESET = "request_password_reset"  # noqa: S105 - an action name
    RESET_PASSWORD = "reset_password"  # noqa: S105 - an action name
    REQUEST_EMAIL_VERIFICATION = "request_email_verification"
    VERIFY_EMAIL = "verify_email"
    CHANGE_EMAIL = "change_email"
    DELETE_ACCOUNT = "delete_account"


def _async_storage_url(url: str) -> str:
    return url if url.startswith("async+") else f"async+{url}"


class RateLimits:
    def __init__(self, settings: Settings) -> None:
        storage = storage_from_string(
            _async_storage_url(settings.rate_limit_storage_url),
            key_prefix=settings.rate_limit_key_prefix,
            wrap_exceptions=True,
        )
        assert isinstance(storage, Storage)
        self._limiter = MovingWindowRateLimiter(storage)
        self._per_address = parse(settings.rate_limit_per_address)
        self._per_account = parse(settings.rate_limit_per_account)
        self._fingerprint_key = settings.signing_key.encode()

    def account_of_email(self, email: str) -> str:
        """A stable, non-reversible name for the account an email names (for keys and logs)."""
        digest = hmac.new(self._fingerprint_key, email_key(email).encode(), hashlib.sha256)
        return f"email:{digest.hexdigest()[:32]}"

    @staticmethod
    def account_of_user(user_id: int) -> str:
        return f"user:{user_id}"

    async def count_attempt(self, action: LimitedAction, *, address: str) -> None:
        """Count one attempt from this client address; RATE_LIMITED once the budget is spent."""
        await self._hit(self._per_address, action, "address", address)

    async def count_account_attempt(self, action: LimitedAction, *, account: str) -> None:
        """Count one attempt on this account; RATE_LIMITED once the budget is spent."""
        await self._hit(self._per_account, action, "account", account)

    async def _hit(self, item: RateLimitItem, *identifiers: str) -> None:
        try:
            if await self._limiter.hit(item, *identifiers):
                return
            stats = await self._limiter.get_window_stats(item, *identifiers)
        except StorageError as error:
            logger.warning(
                "rate-limit storage unavailable (%s)", type(error.storage_error).__name__
            )
            raise ServiceUnavailable() from None
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        logger.info(
            "rate limited: %s by %s, retry after %ss",
            identifiers[0],
            identifiers[1],
            retry_after,
            extra={"action": identifiers[0], "limited_by": identifiers[1]},
        )
        raise RateLimited(retry_after=retry_after)
