"""Reading a GraphQL request off HTTP (graphql.github.io/graphql-over-http).

The request is read and checked before any context, session or token is touched:
only `application/json` POST bodies (415 otherwise), GET with URL parameters (405 with
`Allow` for other methods, or when GET queries are turned off), request-level errors
as a `Refusal` (answered as JSON with `errors`). A batch (a JSON array, when
BATCHING_ENABLED) keeps each item that cannot be read as that item's own refusal, so
the other operations still run (`web/outcomes.py` says how the batch is answered).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from http import HTTPStatus
from typing import Any

from graphql import DocumentNode
from starlette.requests import Request
from strawberry.types.graphql import OperationType

from errors import BadUserInput
from schema.runtime.limits import chosen_operation, parse_document
from settings import Settings
from web.responses import (
    GRAPHQL_RESPONSE_MEDIA_TYPE,
    JSON_MEDIA_TYPE,
    Refusal,
    RequestRefused,
    RequestUnreadable,
    decode_json,
)


@dataclass(frozen=True, slots=True)
class Operation:
    """One GraphQL request as the client sent it: `query` may still be missing (APQ)."""

    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    """What an HTTP request carries: one operation, or a batch of them."""

    batch: bool
    items: list[Operation | Refusal]

    def single(self) -> Operation:
        """The one operation of a request that is not a batch."""
        item = self.items[0]
        if isinstance(item, Refusal):
            raise item
        return item


@lru_cache(maxsize=256)  # a client sends the same Accept header with every request
def preferred_media_type(accept: str | None) -> str:
    """graphql-response+json when the client accepts it at least as much as JSON."""
    weights: dict[str, float] = {}
    for part in (accept or "").split(","):
        media_type, *parameters = (piece.strip() for piece in part.split(";"))
        weight = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[media_type.lower()] = weight
    graphql_weight = weights.get(GRAPHQL_RESPONSE_MEDIA_TYPE, 0.0)
    json_weight = max(weights.get(JSON_MEDIA_TYPE, 0.0), weights.get("*/*", 0.0))
    if graphql_weight > 0 and graphql_weight >= json_weight:
        return GRAPHQL_RESPONSE_MEDIA_TYPE
    return JSON_MEDIA_TYPE


def _json_parameter(params: Mapping[str, str], name: str) -> object:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return decode_json(raw)
    except ValueError:
        raise Refusal(BadUserInput(f"`{name}` is not valid JSON.", field=name)) from None


def read_operation(data: object) -> Operation:
    if not isinstance(data, dict):
        raise Refusal(RequestUnreadable("A GraphQL request must be a JSON object."))
    query = data.get("query")
    if query is not None and not isinstance(query, str):
        raise Refusal(RequestUnreadable("`query` must be a string."))
    operation_name = data.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise Refusal(BadUserInput("`operationName` must be a string.", field="operationName"))
    for name in ("variables", "extensions"):
        value = data.get(name)
        if value is not None and not isinstance(value, dict):
            raise Refusal(BadUserInput(f"`{name}` must be an object.", field=name))
    return Operation(query, data.get("variables"), operation_name, data.get("extensions"))


async def read_request(request: Request, settings: Settings) -> GraphQLRequest:
    """The operations `request` carries; Refusal for what concerns the whole request."""
    if request.method == "GET":
        if not settings.allow_get_queries:
            raise Refusal(
                RequestRefused("Queries over GET are turned off; use POST."),
                HTTPStatus.METHOD_NOT_ALLOWED,
                {"Allow": "POST"},
            )
        params = request.query_params
        return GraphQLRequest(
            False,
            [
                read_operation(
                    {
                        "query": params.get("query"),
                        "operationName": params.get("operationName"),
                        "variables": _json_parameter(params, "variables"),
                        "extensions": _json_parameter(params, "extensions"),
                    }
                )
            ],
        )
    if request.method != "POST":
        raise Refusal(
            RequestRefused("GraphQL requests use GET or POST."),
            HTTPStatus.METHOD_NOT_ALLOWED,
            {"Allow": "GET, POST"},
        )
    content_type = request.headers.get("content-type", "")
    media_type, *parameters = (part.strip().lower() for part in content_type.split(";"))
    charset = next((p.partition("=")[2] for p in parameters if p.startswith("charset=")), "")
    if media_type != JSON_MEDIA_TYPE or charset.strip('"') not in {"", "utf-8"}:
        raise Refusal(
            RequestUnreadable("POST bodies must be application/json."),
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
        )
    try:
        data = decode_json(await request.body())
    except ValueError:
        raise Refusal(RequestUnreadable("The request body is not valid JSON.")) from None
    if not isinstance(data, list):
        return GraphQLRequest(False, [read_operation(data)])
    if not settings.batching_enabled:
        raise Refusal(RequestRefused("Batched requests are turned off (BATCHING_ENABLED)."))
    limit = settings.max_batch_operations
    if not data or len(data) > limit:
        raise Refusal(
            RequestRefused(
                f"A batch holds 1 to {limit} operations (MAX_BATCH_OPERATIONS).",
                limit="MAX_BATCH_OPERATIONS",
            )
        )
    return GraphQLRequest(True, [_read_batch_item(item) for item in data])


def _read_batch_item(data: object) -> Operation | Refusal:
    try:
        return read_operation(data)
    except Refusal as refusal:
        return refusal


def describe_operation(operation: Operation, max_tokens: int) -> tuple[str, str | None]:
    """The operation's type and name, from the (cached) parse the schema will reuse.

    The name is one the document defines, never the client's `operationName` alone: it
    becomes a metric label and a log field, which must not take arbitrary text.
    """
    assert operation.query is not None
    document = parse_document(operation.query, max_tokens)
    if isinstance(document, DocumentNode):
        definition = chosen_operation(document, operation.operation_name)
        if definition is not None:
            name = definition.name.value if definition.name else None
            return definition.operation.value, name
    return OperationType.QUERY.value, None


__all__ = [
    "GraphQLRequest",
    "Operation",
    "describe_operation",
    "preferred_media_type",
    "read_operation",
    "read_request",
]
