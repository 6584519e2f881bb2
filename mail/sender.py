"""The outbox sender: one task per worker process that delivers pending mail.

It wakes when a request in its own process commits a message (`wake`) and every
`OUTBOX_POLL_SECONDS` otherwise (messages other workers wrote), claims due rows
(`db/outbox.py`), turns password-reset requests into messages with their token,
and hands the batch to the transport. A message the server cannot take now is
tried again after `OUTBOX_RETRY_SECONDS` (at most a minute by default), then after
delays growing 2.5 times each; after `OUTBOX_MAX_ATTEMPTS` attempts (about a day at
the defaults) it is marked failed and counted in `/metrics`. Nothing here runs in
a request: answers never wait for SMTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from email.message import EmailMessage

from prometheus_client import Counter
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import outbox
from db.account_tokens import TokenPurpose, issue_token, purge_old_tokens
from db.outbox import ClaimedMessage
from db.types import utcnow
from db.users import find_user_by_email
from mail.messages import MessageKind, compose, email_message
from mail.transport import Delivery, LogTransport, Outcome, SmtpServer, SmtpTransport, Transport
from settings import AppEnv, Settings

logger = logging.getLogger("taskql.mail")

BACKOFF_FACTOR = 2.5
PURGE_EVERY_SECONDS = 3600.0
LEASE_TIMEOUTS = 4
"""A claim lasts this many SMTP timeouts: a batch's delivery is cut off after three."""

MAIL_SENT = Counter("taskql_mail_sent", "Messages the SMTP server accepted.", ["kind"])
MAIL_RETRIED = Counter(
    "taskql_mail_retried", "Deliveries put off because the SMTP server was unavailable."
)
MAIL_FAILED = Counter(
    "taskql_mail_failed", "Messages given up on (refused for good, or out of attempts).", ["kind"]
)


def transport_for(settings: Settings) -> Transport | None:
    """SMTP when configured; otherwise the log in development, and nothing elsewhere
    (production, tests): messages wait in the outbox until SMTP_URL is set."""
    if settings.smtp_url is not None:
        return SmtpTransport(
            SmtpServer.from_url(settings.smtp_url), timeout_seconds=settings.smtp_timeout_seconds
        )
    if settings.app_env is AppEnv.DEVELOPMENT:
        return LogTransport()
    return None


def start_outbox_sender(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> OutboxSender:
    """The worker's sender, running when it has somewhere to send (or, in production,
    to purge old rows); production without SMTP_URL warns that mail waits."""
    if settings.is_production and settings.smtp_url is None:
        logger.warning("SMTP_URL is not set: mail stays in the outbox until it is")
    transport = transport_for(settings)
    sender = OutboxSender(settings, session_factory, transport)
    if transport is not None or settings.is_production:
        sender.start()
    return sender


def retry_delay(settings: Settings, attempts: int) -> timedelta:
    """After the `attempts`-th failed attempt: the first retry within a minute, then longer."""
    return timedelta(seconds=settings.outbox_retry_seconds * BACKOFF_FACTOR ** (attempts - 1))


class OutboxSender:
    def __init__(
        self,
        settings: Settings,
        session_factory: async_sessionmaker[AsyncSession],
        transport: Transport | None,
    ) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.transport = transport
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_purge = float("-inf")
        self._stopping = False

    def wake(self) -> None:
        """Look at the outbox now: a request in this process just committed a message."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="taskql-outbox-sender")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            self._stopping = True
            self._wake.set()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run(self) -> None:
        """Until stopped: drain what is due, then wait for a wake-up or the next poll."""
        while not self._stopping:
            try:
                await self._purge_if_due()
                if self.transport is not None:
                    while await self.drain_once() == self.settings.outbox_batch_size:
                        pass
            except (SQLAlchemyError, OSError) as error:
                logger.warning("outbox sender cannot reach the database (%s)", type(error).__name__)
            except Exception:
                # Whatever went wrong, the sender must outlive it: claimed rows come back
                # when their lease ends.
                logger.exception("outbox sender failed; trying again later")
            await self._sleep()

    async def _sleep(self) -> None:
        """Wait for `wake` or the poll interval. asyncio.wait, not a timeout: a timeout
        cancels this task to end the wait, and under Python 3.11 a cancellation request
        left counted on the task (libraries do leave them) makes a timeout swallow the
        one that stops the sender."""
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait([woken], timeout=self.settings.outbox_poll_seconds)
        finally:
            woken.cancel()
        self._wake.clear()

    async def drain_once(self) -> int:
        """Claim one batch and deliver it; how many rows were claimed."""
        assert self.transport is not None
        now = utcnow()
        lease = timedelta(seconds=self.settings.smtp_timeout_seconds * LEASE_TIMEOUTS)
        async with self.session_factory() as session:
            claimed = await outbox.claim_due(
                session, now=now, lease_until=now + lease, limit=self.settings.outbox_batch_size
            )
        if not claimed:
            return 0
        ready = [message for message in claimed if message.composed]
        for request in (message for message in claimed if not message.composed):
            composed = await self._compose_reset(request)
            if composed is not None:
                ready.append(composed)
        if ready:
            async with asyncio.timeout(self.settings.smtp_timeout_seconds * (LEASE_TIMEOUTS - 1)):
                # In a task of its own, so that a cancellation request aiosmtplib leaves
                # counted on the task running it (Task.cancelling()) stays there.
                deliveries = await asyncio.create_task(
                    self.transport.deliver([self._email(m) for m in ready])
                )
            await self._record(ready, deliveries)
        return len(claimed)

    async def _compose_reset(self, request: ClaimedMessage) -> ClaimedMessage | None:
        """A password-reset request becomes a message with a fresh token, in one transaction;
        None (and the request is dropped) when no active account has that address."""
        async with self.session_factory() as session:
            user = await find_user_by_email(session, request.recipient)
            if user is None or user.suspended_at is not None:
                await outbox.drop(session, request.id)
                await session.commit()
                return None
            token = await issue_token(
                session,
                user_id=user.id,
                purpose=TokenPurpose.RESET_PASSWORD,
                ttl_seconds=self.settings.password_reset_token_ttl_seconds,
            )
            letter = compose(MessageKind.RESET_PASSWORD, self.settings, token=token)
            message = await outbox.compose_claimed(
                session,
                request,
                user_id=user.id,
                recipient=user.email,
                subject=letter.subject,
                body_text=letter.text,
                body_html=letter.html,
            )
            await session.commit()
            return message

    def _email(self, message: ClaimedMessage) -> EmailMessage:
        return email_message(
            mail_from=self.settings.mail_from,
            recipient=message.recipient,
            subject=message.subject or "",
            text=message.body_text or "",
            html_body=message.body_html or "",
            message_id=message.message_id,
        )

    async def _record(self, messages: list[ClaimedMessage], deliveries: list[Delivery]) -> None:
        sent = [m for m, d in zip(messages, deliveries, strict=True) if d.outcome is Outcome.SENT]
        async with self.session_factory() as session:
            await outbox.mark_sent(session, sent)
            for message, delivery in zip(messages, deliveries, strict=True):
                if delivery.outcome is Outcome.SENT:
                    MAIL_SENT.labels(message.kind).inc()
                elif (
                    delivery.outcome is Outcome.FAILED
                    or message.attempts >= self.settings.outbox_max_attempts
                ):
                    if await outbox.mark_failed(session, message, error=delivery.error):
                        MAIL_FAILED.labels(message.kind).inc()
                        logger.error(
                            "gave up on message %s after %d attempts (%s)",
                            message.message_id,
                            message.attempts,
                            delivery.error,
                        )
                else:
                    MAIL_RETRIED.inc()
                    at = utcnow() + retry_delay(self.settings, message.attempts)
                    await outbox.schedule_retry(session, message, at=at, error=delivery.error)
            await session.commit()

    async def _purge_if_due(self) -> None:
        """Once an hour: sent messages and spent or expired tokens older than the retention."""
        loop = asyncio.get_running_loop()
        if loop.time() - self._last_purge < PURGE_EVERY_SECONDS:
            return
        self._last_purge = loop.time()
        await purge(
            self.session_factory,
            older_than=utcnow() - timedelta(days=self.settings.outbox_retention_days),
        )


async def purge(session_factory: async_sessionmaker[AsyncSession], *, older_than: datetime) -> None:
    async with session_factory() as session:
        messages = await outbox.purge_finished(session, older_than=older_than)
        tokens = await purge_old_tokens(session, older_than=older_than)
        await session.commit()
    if messages or tokens:
        logger.info("purged %d sent messages and %d old tokens", messages, tokens)
