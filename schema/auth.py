"""Inputs and payloads of the account mutations."""

from __future__ import annotations

import strawberry

from schema.user import User


@strawberry.input
class SignupInput:
    email: str
    password: str
    name: str | None = None


@strawberry.input
class LoginInput:
    email: str
    password: str


@strawberry.type(description="Tokens for a session, and the user they belong to.")
class AuthPayload:
    access_token: str
    refresh_token: str
    token_type: str = strawberry.field(description='Always "Bearer".')
    expires_in: int = strawberry.field(description="Seconds until the access token expires.")
    user: User
