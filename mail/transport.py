"""Where messages go: an SMTP server (`SMTP_URL`), or the log in development.

`smtp://user:pass@host:587` upgrades with STARTTLS whenever the server offers it;
`smtps://host:465` speaks TLS from the first byte. Certificates are verified
against the system's trust store (`SSL_CERT_FILE` names another). Every step
(connect, TLS, authentication, each message) is bounded by `SMTP_TIMEOUT_SECONDS`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage
from enum import Enum
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib

logger = logging.getLogger("taskql.mail")

SMTP_PORT = 587
SMTPS_PORT = 465
PERMANENT_REFUSAL = 500
AUTHENTICATION_REFUSALS = frozenset({530, 534, 535, 538})
"""5xx replies about taskql's own credentials: a configuration to fix, not a bad message."""


class Outcome(Enum):
    SENT = "sent"
    RETRY = "retry"
    """Refused for now (4xx), or the server could not be reached: try again later."""
    FAILED = "failed"
    """Refused for good (5xx): trying again would not help."""


@dataclass(frozen=True, slots=True)
class Delivery:
    outcome: Outcome
    error: str = ""


class Transport(Protocol):
    async def deliver(self, messages: list[EmailMessage]) -> list[Delivery]:
        """One Delivery per message, in order; never raises for a delivery problem."""
        ...


@dataclass(frozen=True, slots=True)
class SmtpServer:
    hostname: str
    port: int
    implicit_tls: bool
    username: str | None
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        implicit_tls = parts.scheme == "smtps"
        return cls(
            hostname=parts.hostname or "localhost",
            port=parts.port or (SMTPS_PORT if implicit_tls else SMTP_PORT),
            implicit_tls=implicit_tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


def _describe(error: BaseException) -> str:
    """What went wrong, without anything the server echoed back about the message."""
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return f"{type(error).__name__} {error.code}"
    return type(error).__name__


def _permanent(code: int) -> bool:
    return code >= PERMANENT_REFUSAL and code not in AUTHENTICATION_REFUSALS


def _outcome_of(error: BaseException) -> Outcome:
    if isinstance(error, aiosmtplib.SMTPResponseException) and _permanent(error.code):
        return Outcome.FAILED
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused) and all(
        _permanent(refusal.code) for refusal in error.recipients
    ):
        return Outcome.FAILED
    return Outcome.RETRY


class SmtpTransport:
    """Sends a batch over one SMTP connection."""

    def __init__(self, server: SmtpServer, *, timeout_seconds: float) -> None:
        self.server = server
        self.timeout_seconds = timeout_seconds

    async def deliver(self, messages: list[EmailMessage]) -> list[Delivery]:
        server = self.server
        client = aiosmtplib.SMTP(
            hostname=server.hostname,
            port=server.port,
            use_tls=server.implicit_tls,
            start_tls=False if server.implicit_tls else None,
            username=server.username,
            password=server.password,
            timeout=self.timeout_seconds,
        )
        try:
            await client.connect()
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            logger.warning("SMTP server unavailable (%s)", _describe(error))
            return [Delivery(Outcome.RETRY, _describe(error))] * len(messages)
        deliveries: list[Delivery] = []
        try:
            deliveries.extend([await self._send(client, message) for message in messages])
        finally:
            if client.is_connected:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError, TimeoutError):
                    client.close()
        return deliveries

    async def _send(self, client: aiosmtplib.SMTP, message: EmailMessage) -> Delivery:
        try:
            if not client.is_connected:
                await client.connect()
            await client.send_message(message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            logger.warning("SMTP delivery refused or interrupted (%s)", _describe(error))
            return Delivery(_outcome_of(error), _describe(error))
        return Delivery(Outcome.SENT)


class LogTransport:
    """Development without SMTP_URL: each message goes to the log, the one place where
    a token may be written down."""

    async def deliver(self, messages: list[EmailMessage]) -> list[Delivery]:
        for message in messages:
            text = message.get_body(preferencelist=("plain",))
            logger.info(
                "mail (not sent: SMTP_URL is not set) to %s: %s\n%s",
                message["To"],
                message["Subject"],
                text.get_content() if text is not None else "",
            )
        return [Delivery(Outcome.SENT)] * len(messages)
