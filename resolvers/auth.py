"""Accounts and sessions: signup, login and the viewer."""

from __future__ import annotations

import strawberry

from auth.context import Info, RequestContext
from auth.passwords import validate_password
from auth.tokens import hash_jti
from db.models import User as UserRow
from db.sessions import new_session_id, start_session
from db.users import create_user, find_user_by_email, set_password_hash
from errors import BadUserInput, Unauthenticated
from schema.auth import AuthPayload, LoginInput, SignupInput
from schema.user import User

MAX_EMAIL_LENGTH = 320
MAX_NAME_LENGTH = 200
BAD_CREDENTIALS = "Invalid email or password."


def _validate_email(email: str, *, field: str) -> str:
    email = email.strip()
    local, at, domain = email.rpartition("@")
    if not at or not local or "." not in domain or len(email) > MAX_EMAIL_LENGTH or " " in email:
        raise BadUserInput("Enter a valid email address.", field=field)
    return email


async def _start_session(context: RequestContext, user: UserRow) -> AuthPayload:
    session_id = new_session_id()
    pair = context.services.tokens.issue_pair(user_id=user.id, session_id=session_id)
    await start_session(
        context.db,
        session_id=session_id,
        user_id=user.id,
        refresh_jti_hash=hash_jti(pair.refresh_jti),
        expires_at=pair.refresh_expires_at,
    )
    await context.db.commit()
    return AuthPayload(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        token_type="Bearer",  # noqa: S106 - the OAuth token type, not a secret
        expires_in=pair.expires_in,
        user=User.from_row(user),
    )


async def _signup(context: RequestContext, data: SignupInput) -> AuthPayload:
    email = _validate_email(data.email, field="email")
    password = validate_password(data.password, field="password")
    name = data.name.strip() if data.name is not None else None
    if name is not None and len(name) > MAX_NAME_LENGTH:
        raise BadUserInput(f"Names are at most {MAX_NAME_LENGTH} characters.", field="name")
    password_hash = await context.services.passwords.hash(password)
    user = await create_user(
        context.db, email=email, password_hash=password_hash, name=name or None
    )
    return await _start_session(context, user)


async def _login(context: RequestContext, data: LoginInput) -> AuthPayload:
    password = validate_password(data.password, field="password")
    passwords = context.services.passwords
    user = await find_user_by_email(context.db, data.email)
    if user is None:
        await passwords.burn_equal_time(password)
        raise Unauthenticated(BAD_CREDENTIALS, reason="bad_credentials")
    if not await passwords.verify(password, user.password_hash):
        raise Unauthenticated(BAD_CREDENTIALS, reason="bad_credentials")
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = await passwords.hash(password)
        await set_password_hash(context.db, user_id=user.id, password_hash=user.password_hash)
    return await _start_session(context, user)


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
