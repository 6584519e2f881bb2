"""The GraphQL schema: the root types assembled from `resolvers/`, and the extensions.

Root types live beside the code that resolves them (`resolvers/auth.py`,
`resolvers/tasks.py`); this module only assembles them and picks the extensions.
"""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.types.execution import ExecutionContext

from resolvers.auth import AuthMutation, AuthQuery
from resolvers.tasks import TaskMutation, TaskQuery
from schema.errors import ErrorCodes
from schema.node import Node
from settings import Settings


@strawberry.type
class Query(AuthQuery, TaskQuery):
    pass


@strawberry.type
class Mutation(AuthMutation, TaskMutation):
    pass


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
