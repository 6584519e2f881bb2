"""The GraphQL schema: the root types assembled from `resolvers/`, and the extensions.

Root types live beside the code that resolves them (`resolvers/auth.py`,
`resolvers/tasks.py`); this module only assembles them and picks the extensions.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionContext

from resolvers.auth import AuthMutation, AuthQuery
from resolvers.tasks import TaskMutation, TaskQuery
from schema.authentication import BadTokenRefusal
from schema.errors import ErrorCodes
from schema.execution import PlainFieldExecutionContext
from schema.limits import DisableIntrospection, DocumentLimits, Limits
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
    """The executable schema, with the extensions the settings ask for.

    ErrorCodes comes first so that it sees, and codes, every error the others report.
    """
    limits = Limits(
        max_tokens=settings.max_tokens,
        max_depth=settings.max_query_depth,
        max_aliases=settings.max_aliases,
        max_directives=settings.max_directives,
        max_complexity=settings.max_complexity,
        default_page_size=settings.default_page_size,
    )
    extensions: list[Callable[[], SchemaExtension]] = [
        partial(ErrorCodes, hide_suggestions=settings.is_production),
        partial(DocumentLimits, limits=limits),
        BadTokenRefusal,
    ]
    if settings.is_production:
        extensions.append(DisableIntrospection)
    return TaskqlSchema(
        query=Query,
        mutation=Mutation,
        types=[Node],
        extensions=extensions,
        execution_context_class=PlainFieldExecutionContext,
    )


def export_sdl() -> str:
    """The SDL that `schema.graphql` holds: the API contract, independent of settings."""
    return strawberry.Schema(query=Query, mutation=Mutation, types=[Node]).as_str() + "\n"
