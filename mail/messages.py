"""What each message says: plain text and HTML from the templates in `mail/templates/`.

A message that carries a token holds exactly one link, `PUBLIC_APP_URL` + path +
`?token=TOKEN` (the token is URL-safe base64, so it stands as it is); notices hold
none. Values are HTML-escaped for the HTML part.
"""

from __future__ import annotations

import html
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from enum import StrEnum
from functools import cache
from pathlib import Path
from string import Template

from settings import Settings

TEMPLATES = Path(__file__).resolve().parent / "templates"
MAX_SMTP_LINE = 998


class MessageKind(StrEnum):
    RESET_PASSWORD = "reset_password"  # noqa: S105 - a message kind, not a secret
    VERIFY_EMAIL = "verify_email"
    CHANGE_EMAIL = "change_email"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - a message kind
    EMAIL_CHANGED = "email_changed"


SUBJECTS = {
    MessageKind.RESET_PASSWORD: "Reset your taskql password",
    MessageKind.VERIFY_EMAIL: "Confirm your email address",
    MessageKind.CHANGE_EMAIL: "Confirm your new email address",
    MessageKind.PASSWORD_CHANGED: "Your taskql password was changed",
    MessageKind.EMAIL_CHANGED: "Your taskql email address was changed",
}
LINK_PATHS = {
    MessageKind.RESET_PASSWORD: "/reset-password",
    MessageKind.VERIFY_EMAIL: "/verify-email",
    MessageKind.CHANGE_EMAIL: "/verify-email",
}


@dataclass(frozen=True, slots=True)
class Letter:
    """A composed message, as the outbox stores it."""

    kind: MessageKind
    subject: str
    text: str
    html: str


@cache
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def compose(kind: MessageKind, settings: Settings, *, token: str | None = None) -> Letter:
    """The message of `kind`; `token` is required exactly for the kinds that carry a link."""
    path = LINK_PATHS.get(kind)
    if (path is None) != (token is None):
        raise ValueError(f"{kind} messages {'carry' if path else 'carry no'} token")
    values = {
        "link": f"{settings.public_app_url}{path}?token={token}" if path else "",
        "ttl_minutes": str(settings.password_reset_token_ttl_seconds // 60),
        "ttl_hours": str(settings.email_verification_token_ttl_seconds // 3600),
    }
    escaped = {key: html.escape(value, quote=True) for key, value in values.items()}
    return Letter(
        kind=kind,
        subject=SUBJECTS[kind],
        text=_template(f"{kind}.txt").substitute(values),
        html=_template(f"{kind}.html").substitute(escaped),
    )


def new_message_id(mail_from: str) -> str:
    """A unique `Message-ID`, fixed when the message is stored, so that a repeated
    delivery carries the same one and receivers can drop the copy."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "taskql.invalid"
    return f"<{uuid.uuid4().hex}@{domain}>"


def email_message(
    *, mail_from: str, recipient: str, subject: str, text: str, html_body: str, message_id: str
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = recipient
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message["Date"] = formatdate(usegmt=True)
    message.set_content(text, cte=_transfer_encoding(text))
    page = f"<!doctype html>\n<html><body>\n{html_body}</body></html>\n"
    message.add_alternative(page, subtype="html", cte=_transfer_encoding(page))
    return message


def _transfer_encoding(body: str) -> str | None:
    """7bit for ASCII bodies whose lines SMTP carries as they are (at most 998 octets), so
    the link stands in the raw message exactly as the contract writes it; otherwise the
    library's choice (quoted-printable turns `token=` into `token=3D` and folds lines)."""
    if body.isascii() and all(len(line) <= MAX_SMTP_LINE for line in body.splitlines()):
        return "7bit"
    return None
