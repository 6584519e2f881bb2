"""The GraphQL schema: root types wired to resolvers, and the schema extensions."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.types import Info
from strawberry.types.execution import ExecutionContext

from auth.context import RequestContext
from resolvers import auth as auth_resolvers
from schema.auth import AuthPayload, LoginInput, SignupInput
from schema.errors import ErrorCodes
from schema.node import Node
from schema.user import User
from settings import Settings

Context = Info[RequestContext, None]


@strawberry.type
class Query:
    @strawberry.field(description="The authenticated user.")
    async def me(self, info: Context) -> User:
        return await auth_resolvers.me(info.context)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Create an account and start a session.")
    async def signup(self, info: Context, input: SignupInput) -> AuthPayload:  # noqa: A002
        return await auth_resolvers.signup(info.context, input)

    @strawberry.mutation(description="Start a session with email and password.")
    async def login(self, info: Context, input: LoginInput) -> AuthPayload:  # noqa: A002
        return await auth_resolvers.login(info.context, input)


class TaskqlSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Logging happens in ErrorCodes, which knows which errors are unexpected."""


def build_schema(settings: Settings) -> strawberry.Schema:
    """The executable schema, with the extensions the settings ask for."""
    del settings  # the limits and production switches arrive with their extensions
    return TaskqlSchema(query=Query, mutation=Mutation, types=[Node], extensions=[ErrorCodes])


def export_sdl() -> str:
    """The SDL that `schema.graphql` holds: the API contract, independent of settings."""
    return strawberry.Schema(query=Query, mutation=Mutation, types=[Node]).as_str() + "\n"
