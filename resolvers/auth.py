"""Accounts and sessions: signup, login, refresh, logout, password change and the viewer."""

from __future__ import annotations

import logging

import strawberry

from auth.context import Info, RequestContext, log_auth_failure
from auth.passwords import validate_password
from auth.rate_limit import LimitedAction
from auth.tokens import InvalidToken, TokenClaims, TokenType, hash_jti
from db.models import User as UserModel
from db.sessions import (
    new_session_id,
    purge_dead_sessions,
    revoke_session,
    revoke_user_sessions,
    rotate_refresh_token,
    start_session,
)
from db.users import create_user, find_user_by_email, set_password_hash
from errors import BadUserInput, Forbidden, Unauthenticated
from mail.messages import MessageKind
from resolvers.outgoing_mail import queue_notice, queue_verification
from resolvers.text import is_storable_text
from schema.auth import AuthPayload, LoginInput, SignupInput
from schema.user import User

logger = logging.getLogger("taskql.auth")

MAX_EMAIL_LENGTH = 320
MAX_NAME_LENGTH = 200
BAD_CREDENTIALS = "Invalid email or password."
BAD_REFRESH_TOKEN = "Not a valid refresh token."  # noqa: S105 - a message
SUSPENDED = "This account is suspended."


def refuse_if_suspended(suspended_at: object) -> None:
    """FORBIDDEN with reason `suspended` for an account an admin suspended."""
    if suspended_at is not None:
        raise Forbidden(SUSPENDED, reason="suspended")


def validate_email(email: str, *, field: str) -> str:
    email = email.strip()
    local, at, domain = email.rpartition("@")
    if (
        not at
        or not local
        or "." not in domain
        or len(email) > MAX_EMAIL_LENGTH
        or " " in email
        or not is_storable_text(email)
    ):
        raise BadUserInput("Enter a valid email address.", field=field)
    return email


def _validate_name(name: str | None, *, field: str) -> str | None:
    if name is None:
        return None
    name = name.strip()
    if len(name) > MAX_NAME_LENGTH or not is_storable_text(name):
        raise BadUserInput(
            f"Names are at most {MAX_NAME_LENGTH} characters, without control characters.",
            field=field,
        )
    return name or None


async def release_connection(context: RequestContext) -> None:
    """End the request's (read-only) transaction before bcrypt runs.

    A hash takes about a quarter of a second at cost 12 and waits its turn in
    the bcrypt pool; holding a pooled connection all that time would let a burst
    of logins starve every other request of connections.
    """
    await context.db.commit()


async def start_login(context: RequestContext, user: UserModel) -> AuthPayload:
    """Begin a new session for `user`, commit, and hand out its first token pair."""
    session_id = new_session_id()
    pair = context.services.tokens.issue_pair(user_id=user.id, session_id=session_id)
    await purge_dead_sessions(context.db, user_id=user.id)
    await start_session(
        context.db,
        session_id=session_id,
        user_id=user.id,
        refresh_jti_hash=hash_jti(pair.refresh_jti),
        expires_at=pair.refresh_expires_at,
    )
    await context.db.commit()
    return AuthPayload.issued(pair, user=User.from_row(user))


async def _signup(context: RequestContext, data: SignupInput) -> AuthPayload:
    limits = context.services.rate_limits
    await limits.count_attempt(LimitedAction.SIGNUP, address=context.client_address)
    email = validate_email(data.email, field="email")
    await limits.count_account_attempt(LimitedAction.SIGNUP, account=limits.account_of_email(email))
    password = validate_password(data.password, field="password")
    name = _validate_name(data.name, field="name")
    await release_connection(context)
    password_hash = await context.services.passwords.hash(password)
    user = await create_user(context.db, email=email, password_hash=password_hash, name=name)
    await queue_verification(context, user_id=user.id, recipient=user.email)
    payload = await start_login(context, user)
    context.mail_committed()
    return payload


async def _login(context: RequestContext, data: LoginInput) -> AuthPayload:
    limits = context.services.rate_limits
    await limits.count_attempt(LimitedAction.LOGIN, address=context.client_address)
    email = validate_email(data.email, field="email")
    account = limits.account_of_email(email)
    await limits.count_account_attempt(LimitedAction.LOGIN, account=account)
    password = validate_password(data.password, field="password")
    passwords = context.services.passwords
    user = await find_user_by_email(context.db, email)
    await release_connection(context)
    if user is None:
        await passwords.burn_equal_time(password)
        log_auth_failure("login", reason="unknown account", client_address=context.client_address)
        raise Unauthenticated(BAD_CREDENTIALS, reason="bad_credentials")
    if not await passwords.verify(password, user.password_hash):
        log_auth_failure("login", reason="wrong password", client_address=context.client_address)
        raise Unauthenticated(BAD_CREDENTIALS, reason="bad_credentials")
    refuse_if_suspended(user.suspended_at)
    if passwords.needs_rehash(user.password_hash):
        upgraded = await passwords.hash(password)
        await set_password_hash(context.db, user_id=user.id, password_hash=upgraded)
    return await start_login(context, user)


def _refresh_claims(context: RequestContext, refresh_token: str) -> TokenClaims:
    try:
        return context.services.tokens.decode(refresh_token, expected=TokenType.REFRESH)
    except InvalidToken as error:
        log_auth_failure(
            "refresh token", reason=error.reason, client_address=context.client_address
        )
        raise Unauthenticated(reason=error.reason) from None


async def _refresh(context: RequestContext, refresh_token: str) -> AuthPayload:
    limits = context.services.rate_limits
    await limits.count_attempt(LimitedAction.REFRESH, address=context.client_address)
    claims = _refresh_claims(context, refresh_token)
    await limits.count_account_attempt(
        LimitedAction.REFRESH, account=limits.account_of_user(claims.user_id)
    )
    account = await context.loaders.user_by_id.load(claims.user_id)
    if account is not None:
        refuse_if_suspended(account.suspended_at)
    pair = context.services.tokens.issue_pair(user_id=claims.user_id, session_id=claims.session_id)
    rotated = await rotate_refresh_token(
        context.db,
        session_id=claims.session_id,
        user_id=claims.user_id,
        spent_jti_hash=hash_jti(claims.jti),
        next_jti_hash=hash_jti(pair.refresh_jti),
        expires_at=pair.refresh_expires_at,
    )
    if not rotated:
        # Not the session's current token: spent before (a replay, or the loser
        # of a race), so whoever holds the family's tokens is no longer trusted.
        family_revoked = await revoke_session(
            context.db, session_id=claims.session_id, user_id=claims.user_id
        )
        await context.db.commit()
        context.services.live_sessions.forget_session(claims.session_id)
        log_auth_failure(
            "refresh token",
            reason="reused; session revoked" if family_revoked else "session ended",
            client_address=context.client_address,
        )
        raise Unauthenticated(reason="invalid")
    await context.db.commit()
    user = await context.loaders.user_by_id.load(claims.user_id)
    if user is None:
        raise Unauthenticated(reason="invalid")
    return AuthPayload.issued(pair, user=User.from_row(user))


async def _change_password(
    context: RequestContext, current_password: str, new_password: str
) -> AuthPayload:
    user_id = context.require_user_id()
    limits = context.services.rate_limits
    await limits.count_attempt(LimitedAction.CHANGE_PASSWORD, address=context.client_address)
    await limits.count_account_attempt(
        LimitedAction.CHANGE_PASSWORD, account=limits.account_of_user(user_id)
    )
    current = validate_password(current_password, field="currentPassword")
    new = validate_password(new_password, field="newPassword")
    user = await context.db.get(UserModel, user_id)  # with its password hash: not a loader's row
    if user is None:
        raise Unauthenticated(reason="invalid")
    await release_connection(context)
    passwords = context.services.passwords
    if not await passwords.verify(current, user.password_hash):
        log_auth_failure(
            "password change", reason="wrong password", client_address=context.client_address
        )
        raise Unauthenticated("The current password is incorrect.", reason="bad_credentials")
    new_hash = await passwords.hash(new)
    await set_password_hash(context.db, user_id=user_id, password_hash=new_hash)
    await revoke_user_sessions(context.db, user_id=user_id)
    await queue_notice(
        context, user_id=user_id, recipient=user.email, kind=MessageKind.PASSWORD_CHANGED
    )
    payload = await start_login(context, user)
    context.services.live_sessions.forget_user(user_id)
    context.mail_committed()
    return payload


async def _logout(context: RequestContext, refresh_token: str) -> bool:
    user_id = context.require_user_id()
    try:
        claims = context.services.tokens.decode(refresh_token, expected=TokenType.REFRESH)
    except InvalidToken:
        raise BadUserInput(BAD_REFRESH_TOKEN, field="refreshToken") from None
    if claims.user_id != user_id:
        raise BadUserInput(BAD_REFRESH_TOKEN, field="refreshToken")
    ended = await revoke_session(context.db, session_id=claims.session_id, user_id=user_id)
    await context.db.commit()
    context.services.live_sessions.forget_session(claims.session_id)
    return ended


async def _logout_all(context: RequestContext) -> bool:
    user_id = context.require_user_id()
    await revoke_user_sessions(context.db, user_id=user_id)
    await context.db.commit()
    context.services.live_sessions.forget_user(user_id)
    return True


@strawberry.type
class AuthQuery:
    @strawberry.field(description="The authenticated user.")
    async def me(self, info: Info) -> User:
        user_id = info.context.require_user_id()
        row = await info.context.loaders.user_by_id.load(user_id)
        if row is None:
            raise Unauthenticated(reason="invalid")
        return User.from_row(row)


@strawberry.type
class AuthMutation:
    @strawberry.mutation(description="Create an account and start a session.")
    async def signup(self, info: Info, input: SignupInput) -> AuthPayload:  # noqa: A002
        return await _signup(info.context, input)

    @strawberry.mutation(description="Start a session with email and password.")
    async def login(self, info: Info, input: LoginInput) -> AuthPayload:  # noqa: A002
        return await _login(info.context, input)

    @strawberry.mutation(
        description=(
            "Spend a refresh token for a new token pair. Presenting a spent refresh "
            "token again ends its whole session."
        )
    )
    async def refresh_token(self, info: Info, refresh_token: str) -> AuthPayload:
        return await _refresh(info.context, refresh_token)

    @strawberry.mutation(
        description=(
            "End the session this refresh token belongs to. True if it was still "
            "active, false if it had already ended."
        )
    )
    async def logout(self, info: Info, refresh_token: str) -> bool:
        return await _logout(info.context, refresh_token)

    @strawberry.mutation(description="End every session of the authenticated user.")
    async def logout_all(self, info: Info) -> bool:
        return await _logout_all(info.context)

    @strawberry.mutation(
        description=(
            "Change the password; ends every session and returns the one new session that remains."
        )
    )
    async def change_password(
        self, info: Info, current_password: str, new_password: str
    ) -> AuthPayload:
        return await _change_password(info.context, current_password, new_password)
