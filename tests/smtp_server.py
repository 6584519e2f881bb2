"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, for mail tests.

It runs in its own thread (aiosmtpd's Controller), so the app under test talks to
it over a real socket, exactly as to any mail server. Optional STARTTLS or implicit
TLS with a self-signed certificate made here (`cryptography`), and optional AUTH.
"""

from __future__ import annotations

import asyncio
import datetime
import email
import email.policy
import ipaddress
import re
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.live_server import free_port

LINK = re.compile(r"https?://\S+")
TOKEN = re.compile(r"[?&]token=([A-Za-z0-9_-]+)")
SMTP_USER = "taskql"
SMTP_PASSWORD = "smtp-secret"


@dataclass
class Mailbox:
    """Everything the server accepted, parsed; safe to read from the test's thread."""

    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    refuse_with: str | None = None
    """An SMTP reply (e.g. "451 try later") the server gives to DATA instead of accepting."""

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        if self.refuse_with is not None:
            return self.refuse_with
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]

    def count(self) -> int:
        with self.lock:
            return len(self.messages)

    async def wait_for(
        self, address: str, count: int = 1, *, seconds: float = 10.0
    ) -> list[EmailMessage]:
        """The messages to `address` once there are at least `count` of them."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = self.to(address)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.02)
        raise AssertionError(f"{count} message(s) to {address} never arrived: {self.to(address)}")


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def html_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("html",))
    assert body is not None
    return str(body.get_content())


def links_of(message: EmailMessage) -> list[str]:
    return LINK.findall(text_of(message))


def token_of(message: EmailMessage) -> str:
    """The token in the message's one link."""
    (link,) = links_of(message)
    match = TOKEN.search(link)
    assert match is not None, link
    return match.group(1)


@dataclass(frozen=True)
class Certificate:
    cert_path: Path
    key_path: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, self.key_path)
        return context


def self_signed_certificate(directory: Path) -> Certificate:
    """A certificate for 127.0.0.1 and localhost, signed by its own key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "taskql test SMTP")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Certificate(cert_path, key_path)


def _authenticate(
    _server: Any, _session: Any, _envelope: Any, _mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == SMTP_USER.encode()
        and auth_data.password == SMTP_PASSWORD.encode()
    )
    return AuthResult(success=ok)


@contextmanager
def smtp_server(
    mailbox: Mailbox | None = None,
    *,
    port: int | None = None,
    starttls: Certificate | None = None,
    implicit_tls: Certificate | None = None,
    require_auth: bool = False,
) -> Iterator[tuple[int, Mailbox]]:
    """Run an SMTP server on 127.0.0.1:`port` (a free one by default) until the block ends."""
    mailbox = mailbox or Mailbox()
    port = port or free_port()
    kwargs: dict[str, Any] = {}
    if starttls is not None:
        kwargs.update(tls_context=starttls.server_context(), require_starttls=True)
    if implicit_tls is not None:
        kwargs.update(ssl_context=implicit_tls.server_context())
    if require_auth:
        kwargs.update(authenticator=_authenticate, auth_required=True)
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield port, mailbox
    finally:
        controller.stop()


def mail_settings(port: int, scheme: str = "smtp", **overrides: Any) -> dict[str, Any]:
    """App settings that send to the test's SMTP server at once, and retry quickly."""
    return {
        "smtp_url": f"{scheme}://127.0.0.1:{port}",
        "mail_from": "taskql <no-reply@taskql.test>",
        "public_app_url": "https://app.taskql.test",
        "outbox_poll_seconds": 0.1,
        "outbox_retry_seconds": 0.2,
        "smtp_timeout_seconds": 5,
        "rate_limit_per_address": "1000/minute",
        "rate_limit_per_account": "1000/minute",
        **overrides,
    }
