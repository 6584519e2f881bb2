"""The GraphQL schema: the root types assembled from `resolvers/`.

Root types live beside the code that resolves them (`resolvers/auth.py`,
`resolvers/tasks.py`); this module assembles them into a `TaskqlSchema`
(`schema.runtime.operation`), which runs each operation through taskql's rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import strawberry
from strawberry.directive import StrawberryDirective

from resolvers.accounts import AccountMutation
from resolvers.admin import AdminMutation, AdminQuery
from resolvers.auth import AuthMutation, AuthQuery
from resolvers.subscriptions import TaskSubscription
from resolvers.tasks import TaskMutation, TaskQuery
from schema.node import Node
from schema.runtime.errors import ErrorCodes
from schema.runtime.limits import Limits
from schema.runtime.operation import ExtensionFactory, TaskqlSchema
from settings import Settings

__all__ = ["Mutation", "Query", "Subscription", "TaskqlSchema", "build_schema", "export_sdl"]


@strawberry.type
class Query(AuthQuery, TaskQuery, AdminQuery):
    pass


@strawberry.type
class Mutation(AuthMutation, TaskMutation, AccountMutation, AdminMutation):
    pass


@strawberry.type
class Subscription(TaskSubscription):
    pass


def build_schema(
    settings: Settings,
    *,
    extensions: Iterable[ExtensionFactory] = (),
    directives: Iterable[StrawberryDirective[Any]] = (),
) -> TaskqlSchema:
    """The executable schema, with the limits and error handling the settings ask for, and
    any Strawberry schema extensions and custom directives (each honoured: see
    `schema.runtime.operation`)."""
    return TaskqlSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Node],
        extensions=extensions,
        directives=directives,
        limits=Limits(
            max_tokens=settings.max_tokens,
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_aliases,
            max_directives=settings.max_directives,
            max_complexity=settings.max_complexity,
            default_page_size=settings.default_page_size,
        ),
        error_codes=ErrorCodes(hide_suggestions=settings.is_production),
        introspection=not settings.is_production,
    )


def export_sdl() -> str:
    """The SDL that `schema.graphql` holds: the API contract, independent of settings."""
    schema = strawberry.Schema(
        query=Query, mutation=Mutation, subscription=Subscription, types=[Node]
    )
    return schema.as_str() + "\n"
