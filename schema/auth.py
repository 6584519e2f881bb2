"""Inputs and payloads of the account mutations."""

from __future__ import annotations

import strawberry

from auth.tokens import TokenPair
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

    @classmethod
    def issued(cls, pair: TokenPair, *, user: User) -> AuthPayload:
        return cls(
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            token_type="Bearer",  # noqa: S106 - the OAuth token type, not a secret
            expires_in=pair.expires_in,
            user=user,
        )
