"""The /graphql endpoint: Strawberry's FastAPI router over taskql's schema."""

from __future__ import annotations

from strawberry.fastapi import GraphQLRouter

from auth.context import RequestContext, get_context
from schema import build_schema
from settings import Settings


def graphql_router(settings: Settings) -> GraphQLRouter[RequestContext, None]:
    return GraphQLRouter(
        build_schema(settings),
        path="/graphql",
        context_getter=get_context,
        graphql_ide=None if settings.is_production else "graphiql",
        allow_queries_via_get=settings.allow_get_queries,
    )
