"""Request-level refusals: JSON bodies with an `errors` array, never plain text.

A request refused before it reaches the schema (unreadable body, wrong media
type, a transport limit) still answers the way GraphQL clients read errors,
with `extensions.code` formatted by `schema/runtime/errors.py`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from http import HTTPStatus
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from errors import NotFound, TaskqlError
from schema.runtime.errors import format_domain_error, format_unexpected_error
from schema.runtime.prebuilt import PrebuiltJSON

JSON_MEDIA_TYPE = "application/json"
GRAPHQL_RESPONSE_MEDIA_TYPE = "application/graphql-response+json"


class RequestUnreadable(TaskqlError):
    """The HTTP request does not carry a GraphQL request that can be read."""

    code = "GRAPHQL_PARSE_FAILED"


class RequestRefused(TaskqlError):
    """The request is readable but breaks a transport rule or limit."""

    code = "GRAPHQL_VALIDATION_FAILED"


class Refusal(Exception):
    """Raise to answer a request with `error` and an HTTP status, without executing it."""

    def __init__(
        self,
        error: TaskqlError,
        status_code: int = HTTPStatus.BAD_REQUEST,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(error.message)
        self.error = error
        self.status_code = status_code
        self.headers = dict(headers or {})


def encode_json(body: Any) -> bytes:
    """orjson for speed; text with lone surrogates (valid in JSON, not in UTF-8) is escaped.

    Datetimes, which GraphQL results may carry unformatted (`schema/runtime/fast_path.py`),
    are written as `isoformat()` writes them, by either encoder.
    """
    try:
        return orjson.dumps(body, default=_embedded)
    except orjson.JSONEncodeError:
        return json.dumps(body, separators=(",", ":"), default=_isoformat).encode()


def _embedded(value: object) -> orjson.Fragment:
    """A resolver's PrebuiltJSON goes into the response as the text it is."""
    if type(value) is PrebuiltJSON:
        return orjson.Fragment(value.text)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _isoformat(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, PrebuiltJSON):
        return json.loads(value.text)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def decode_json(raw: bytes | str) -> Any:
    """orjson for speed; the standard parser for what orjson refuses but JSON allows.

    Raises ValueError for anything unreadable, nesting too deep for either parser included.
    """
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        try:
            return json.loads(raw)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def json_response(
    body: Any,
    status_code: int = HTTPStatus.OK,
    *,
    media_type: str = JSON_MEDIA_TYPE,
    headers: Mapping[str, str] | None = None,
) -> Response:
    return Response(
        encode_json(body),
        status_code=status_code,
        media_type=f"{media_type}; charset=utf-8",
        headers=dict(headers or {}),
    )


def refusal_response(refusal: Refusal, *, media_type: str = JSON_MEDIA_TYPE) -> Response:
    return json_response(
        {"errors": [format_domain_error(refusal.error)]},
        refusal.status_code,
        media_type=media_type,
        headers=refusal.headers,
    )


async def http_error_response(_request: Request, error: Exception) -> Response:
    """Starlette's own refusals (an unknown path, a wrong method on /healthz) as coded
    JSON `errors`, like every other answer, rather than FastAPI's `{"detail": ...}`."""
    assert isinstance(error, HTTPException)  # registered for HTTPException only
    status = HTTPStatus(error.status_code)
    domain_error: TaskqlError = (
        NotFound() if status is HTTPStatus.NOT_FOUND else RequestRefused(f"{status.phrase}.")
    )
    return refusal_response(Refusal(domain_error, status, error.headers))


async def unexpected_error_response(request: Request, _error: Exception) -> Response:
    """The app's last resort, for an exception no layer turned into an answer: the
    contract's INTERNAL_SERVER_ERROR as JSON with the request id, not Starlette's plain
    text (ServerErrorMiddleware still re-raises it, so the server logs it)."""
    request_id = getattr(request.state, "request_id", "")
    return json_response(
        {"errors": [format_unexpected_error(request_id)]}, HTTPStatus.INTERNAL_SERVER_ERROR
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    HTTPException: http_error_response,
    Exception: unexpected_error_response,
}
