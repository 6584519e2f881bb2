"""Mail that resolvers queue: stored in the request's transaction, sent after it commits.

Nothing here talks to SMTP; the outbox sender does (`mail/sender.py`). Callers
commit, then call `context.mail_committed()` so their process sends once the answer is out.
"""

from __future__ import annotations

from auth.context import RequestContext
from db import outbox
from db.account_tokens import TokenPurpose, issue_token
from mail.messages import MessageKind, compose, new_message_id


async def queue_notice(
    context: RequestContext, *, user_id: int, recipient: str, kind: MessageKind
) -> None:
    """A message without a link (password changed, email changed)."""
    letter = compose(kind, context.settings)
    await outbox.enqueue(
        context.db,
        user_id=user_id,
        kind=kind.value,
        recipient=recipient,
        message_id=new_message_id(context.settings.mail_from),
        subject=letter.subject,
        body_text=letter.text,
        body_html=letter.html,
    )


async def queue_verification(
    context: RequestContext, *, user_id: int, recipient: str, new_email: str | None = None
) -> None:
    """A fresh `/verify-email` link for `recipient`: the account's own address, or the
    address an email change (`new_email`) switches to. Older links of that kind go void."""
    settings = context.settings
    purpose = TokenPurpose.VERIFY_EMAIL if new_email is None else TokenPurpose.CHANGE_EMAIL
    token = await issue_token(
        context.db,
        user_id=user_id,
        purpose=purpose,
        ttl_seconds=settings.email_verification_token_ttl_seconds,
        new_email=new_email,
    )
    kind = MessageKind.VERIFY_EMAIL if new_email is None else MessageKind.CHANGE_EMAIL
    letter = compose(kind, settings, token=token)
    await outbox.enqueue(
        context.db,
        user_id=user_id,
        kind=kind.value,
        recipient=recipient,
        message_id=new_message_id(settings.mail_from),
        subject=letter.subject,
        body_text=letter.text,
        body_html=letter.html,
    )


async def queue_reset_request(context: RequestContext, *, email: str) -> None:
    """A password-reset request for whatever account `email` names, if any: the sender
    looks the account up and issues the token, so this costs the same for every address."""
    await outbox.enqueue(
        context.db,
        user_id=None,
        kind=MessageKind.RESET_PASSWORD.value,
        recipient=email,
        message_id=new_message_id(context.settings.mail_from),
    )
