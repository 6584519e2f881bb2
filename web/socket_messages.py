"""The messages of `graphql-transport-ws` as taskql checks and writes them.

`malformed` checks a client message as the graphql-ws library does (a malformed
one closes the socket with 4400); `access_token` reads the bearer token of a
`connection_init` payload, its `Authorization` key matched in any case.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from strawberry.subscriptions.protocols.graphql_transport_ws.types import ErrorMessage

from auth.context import bearer_token
from auth.tokens import InvalidToken


def _authorization(params: Mapping[str, object]) -> str | None:
    for key, value in params.items():
        if key.lower() == "authorization":
            if not isinstance(value, str):
                raise InvalidToken("invalid")
            return value
    return None


def error_message(operation_id: str, formatted: dict[str, Any]) -> ErrorMessage:
    return {"id": operation_id, "type": "error", "payload": [cast("Any", formatted)]}


def access_token(params: Mapping[str, object]) -> str:
    token = bearer_token(_authorization(params))
    if token is None:
        raise InvalidToken("missing")
    return token


def _optional(message: Mapping[str, object], key: str, kind: type) -> bool:
    value = message.get(key)
    return value is None or isinstance(value, kind)


def _valid_subscribe_payload(payload: object) -> bool:
    return (
        isinstance(payload, dict)
        and isinstance(payload.get("query"), str)
        and _optional(payload, "variables", dict)
        and _optional(payload, "operationName", str)
        and _optional(payload, "extensions", dict)
    )


def malformed(message: object) -> str | None:
    """Why a message breaks graphql-transport-ws (as graphql-ws checks it), or None."""
    if not isinstance(message, dict):
        return "A message is a JSON object"
    kind = message.get("type")
    if kind in {"connection_init", "ping", "pong"}:
        return None if _optional(message, "payload", dict) else f"Invalid {kind} payload"
    problem = None
    if kind not in {"subscribe", "complete"}:
        problem = f"Unknown message type: {kind!r}"
    elif not isinstance(message.get("id"), str) or not message["id"]:
        problem = f"A {kind} message needs an id"
    elif kind == "subscribe" and not _valid_subscribe_payload(message.get("payload")):
        problem = "Invalid subscribe payload"
    return problem
