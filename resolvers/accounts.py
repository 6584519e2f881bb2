"""Account recovery and upkeep: password reset, email verification and change, profile,
account deletion.

Tokens come from `db/account_tokens.py` and travel by mail (`resolvers/outgoing_mail.py`);
an unknown, spent or superseded token is `BAD_USER_INPUT` on `token` with reason
`invalid`, an old one reason `expired`. A token is spent by one conditional UPDATE
in the transaction that acts on it, so two concurrent uses cannot both succeed.
"""

from __future__ import annotations

import strawberry
from sqlalchemy.exc import IntegrityError

from auth.context import Info, RequestContext, log_auth_failure
from auth.passwords import validate_password
from auth.rate_limit import LimitedAction
from db.account_tokens import (
    FoundToken,
    TokenPurpose,
    find_token,
    spend_token,
    void_user_tokens,
)
from db.models import User as UserModel
from db.outbox import drop_requests_for
from db.sessions import revoke_user_sessions
from db.users import (
    EMAIL_TAKEN,
    delete_user,
    email_key,
    email_taken,
    mark_email_verified,
    set_name,
    set_password_hash,
    switch_email,
)
from errors import BadUserInput, Conflict, Unauthenticated
from mail.messages import MessageKind
from resolvers.auth import (
    refuse_if_suspended,
    release_connection,
    start_login,
    validate_email,
)
from resolvers.outgoing_mail import queue_notice, queue_reset_request, queue_verification
from resolvers.text import is_storable_text
from schema.auth import AuthPayload
from schema.user import UpdateProfileInput, User

MAX_PROFILE_NAME_LENGTH = 100
INVALID_TOKEN = "This link is not valid (already used, replaced by a newer one, or unknown)."  # noqa: S105
EXPIRED_TOKEN = "This link has expired; ask for a new one."  # noqa: S105
WRONG_PASSWORD = "The current password is incorrect."  # noqa: S105 - a message


async def _usable_token(
    context: RequestContext, token: str, purposes: tuple[TokenPurpose, ...]
) -> FoundToken:
    found = await find_token(context.db, token, purposes)
    if found is None or found.used:
        raise BadUserInput(INVALID_TOKEN, field="token", reason="invalid")
    if found.expired:
        raise BadUserInput(EXPIRED_TOKEN, field="token", reason="expired")
    return found


async def _spend(context: RequestContext, found: FoundToken) -> None:
    """Spend the token in the current transaction; `invalid` if a concurrent use won."""
    if not await spend_token(context.db, found.id):
        await context.db.rollback()
        raise BadUserInput(INVALID_TOKEN, field="token", reason="invalid")


async def _account(context: RequestContext, user_id: int) -> UserModel:
    """The viewer's account with its password hash, read in the mutation's transaction."""
    user = await context.db.get(UserModel, user_id)
    if user is None:
        raise Unauthenticated(reason="invalid")
    return user


async def _check_password(context: RequestContext, user: UserModel, password: bytes) -> None:
    """UNAUTHENTICATED like a wrong current password on changePassword."""
    await release_connection(context)
    if not await context.services.passwords.verify(password, user.password_hash):
        log_auth_failure(
            "password check", reason="wrong password", client_address=context.client_address
        )
        raise Unauthenticated(WRONG_PASSWORD, reason="bad_credentials")


async def _count(context: RequestContext, action: LimitedAction, *, account: str) -> None:
    limits = context.services.rate_limits
    await limits.count_attempt(action, address=context.client_address)
    await limits.count_account_attempt(action, account=account)


async def request_password_reset(context: RequestContext, email: str) -> bool:
    limits = context.services.rate_limits
    await limits.count_attempt(LimitedAction.REQUEST_PASSWORD_RESET, address=context.client_address)
    address = validate_email(email, field="email")
    # Counted per email as typed (lower-cased), known or not, so counting tells nothing.
    await limits.count_account_attempt(
        LimitedAction.REQUEST_PASSWORD_RESET, account=limits.account_of_email(address.lower())
    )
    await queue_reset_request(context, email=address)
    await context.db.commit()
    context.mail_committed()
    return True


async def reset_password(context: RequestContext, token: str, new_password: str) -> AuthPayload:
    await context.services.rate_limits.count_attempt(
        LimitedAction.RESET_PASSWORD, address=context.client_address
    )
    password = validate_password(new_password, field="newPassword")
    found = await _usable_token(context, token, (TokenPurpose.RESET_PASSWORD,))
    await context.services.rate_limits.count_account_attempt(
        LimitedAction.RESET_PASSWORD,
        account=context.services.rate_limits.account_of_user(found.user_id),
    )
    user = await _account(context, found.user_id)
    refuse_if_suspended(user.suspended_at)
    await release_connection(context)
    password_hash = await context.services.passwords.hash(password)
    await _spend(context, found)
    await set_password_hash(context.db, user_id=user.id, password_hash=password_hash)
    await revoke_user_sessions(context.db, user_id=user.id)
    await queue_notice(
        context, user_id=user.id, recipient=user.email, kind=MessageKind.PASSWORD_CHANGED
    )
    payload = await start_login(context, user)
    context.services.live_sessions.forget_user(user.id)
    context.mail_committed()
    return payload


async def request_email_verification(context: RequestContext) -> bool:
    user_id = context.require_user_id()
    limits = context.services.rate_limits
    await _count(
        context, LimitedAction.REQUEST_EMAIL_VERIFICATION, account=limits.account_of_user(user_id)
    )
    user = await _account(context, user_id)
    await queue_verification(context, user_id=user_id, recipient=user.email)
    await context.db.commit()
    context.mail_committed()
    return True


async def verify_email(context: RequestContext, token: str) -> User:
    await context.services.rate_limits.count_attempt(
        LimitedAction.VERIFY_EMAIL, address=context.client_address
    )
    found = await _usable_token(
        context, token, (TokenPurpose.VERIFY_EMAIL, TokenPurpose.CHANGE_EMAIL)
    )
    user = await _account(context, found.user_id)
    refuse_if_suspended(user.suspended_at)
    old_email = user.email
    await _spend(context, found)
    if found.new_email is None:
        await mark_email_verified(context.db, user_id=user.id)
        await context.db.commit()
    else:
        await _switch_email(context, found, user_id=user.id, old_email=old_email)
    await context.db.refresh(user)
    return User.from_row(user)


async def _switch_email(
    context: RequestContext, found: FoundToken, *, user_id: int, old_email: str
) -> None:
    """Apply a confirmed email change and tell the old address. An address someone took
    meanwhile is CONFLICT, and the token stays spent."""
    new_email = found.new_email
    assert new_email is not None
    taken = email_key(new_email) != email_key(old_email) and await email_taken(
        context.db, new_email
    )
    if not taken:
        try:
            await switch_email(context.db, user_id=user_id, new_email=new_email)
            await void_user_tokens(context.db, user_id=user_id)
            await queue_notice(
                context, user_id=user_id, recipient=old_email, kind=MessageKind.EMAIL_CHANGED
            )
            await context.db.commit()
        except IntegrityError:  # taken between the check and the update
            taken = True
    if taken:
        await context.db.rollback()
        await _spend(context, found)
        await context.db.commit()
        raise Conflict(EMAIL_TAKEN)
    context.mail_committed()


async def change_email(context: RequestContext, new_email: str, password: str) -> bool:
    user_id = context.require_user_id()
    limits = context.services.rate_limits
    await _count(context, LimitedAction.CHANGE_EMAIL, account=limits.account_of_user(user_id))
    address = validate_email(new_email, field="newEmail")
    secret = validate_password(password, field="password")
    user = await _account(context, user_id)
    await _check_password(context, user, secret)
    if await email_taken(context.db, address):
        raise Conflict(EMAIL_TAKEN)
    await queue_verification(context, user_id=user_id, recipient=address, new_email=address)
    await context.db.commit()
    context.mail_committed()
    return True


async def update_profile(context: RequestContext, data: UpdateProfileInput) -> User:
    user_id = context.require_user_id()
    if data.name is not strawberry.UNSET:
        name = None if data.name is None else data.name.strip()
        if name is not None and (len(name) > MAX_PROFILE_NAME_LENGTH or not is_storable_text(name)):
            raise BadUserInput(
                f"Names are at most {MAX_PROFILE_NAME_LENGTH} characters, without control "
                "characters.",
                field="name",
            )
        await set_name(context.db, user_id=user_id, name=name or None)
        await context.db.commit()
    user = await _account(context, user_id)
    return User.from_row(user)


async def delete_account(context: RequestContext, password: str) -> bool:
    user_id = context.require_user_id()
    limits = context.services.rate_limits
    await _count(context, LimitedAction.DELETE_ACCOUNT, account=limits.account_of_user(user_id))
    secret = validate_password(password, field="password")
    user = await _account(context, user_id)
    await _check_password(context, user, secret)
    # Revoking first tells every worker (and open sockets) that the sessions ended;
    # the cascade then removes them with the tasks, tags, tokens and pending mail.
    await revoke_user_sessions(context.db, user_id=user_id)
    await drop_requests_for(context.db, email=user.email)
    await delete_user(context.db, user_id=user_id)
    await context.db.commit()
    context.services.live_sessions.forget_user(user_id)
    return True


@strawberry.type
class AccountMutation:
    @strawberry.mutation(
        description="Mail a password-reset link if an account has this address. Always true."
    )
    async def request_password_reset(self, info: Info, email: str) -> bool:
        return await request_password_reset(info.context, email)

    @strawberry.mutation(
        description="Set a new password with a reset link's token; ends every session, "
        "then logs in."
    )
    async def reset_password(self, info: Info, token: str, new_password: str) -> AuthPayload:
        return await reset_password(info.context, token, new_password)

    @strawberry.mutation(description="Mail a verification link to the viewer's address.")
    async def request_email_verification(self, info: Info) -> bool:
        return await request_email_verification(info.context)

    @strawberry.mutation(
        description="Confirm an address with a link's token (verification or email change)."
    )
    async def verify_email(self, info: Info, token: str) -> User:
        return await verify_email(info.context, token)

    @strawberry.mutation(
        description="Mail a link to the new address; the change takes effect when it is used."
    )
    async def change_email(self, info: Info, new_email: str, password: str) -> bool:
        return await change_email(info.context, new_email, password)

    @strawberry.mutation(description="Change the viewer's profile; omitted fields stay.")
    async def update_profile(self, info: Info, input: UpdateProfileInput) -> User:  # noqa: A002
        return await update_profile(info.context, input)

    @strawberry.mutation(
        description="Delete the viewer's account, tasks and sessions, at once. Needs the password."
    )
    async def delete_account(self, info: Info, password: str) -> bool:
        return await delete_account(info.context, password)
