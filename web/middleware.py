"""ASGI middleware that wraps every request: request ids, security headers, transport limits."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from http import HTTPStatus

from starlette.datastructures import MutableHeaders
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipResponder
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.graphql_request import preferred_media_type
from web.responses import Refusal, RequestRefused, refusal_response

REQUEST_ID_HEADER = b"x-request-id"
_ACCEPTABLE_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")

API_CONTENT_SECURITY_POLICY = (
    b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
PAGE_CONTENT_SECURITY_POLICY = (
    b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    b"font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    b"form-action 'none'"
)
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
_CONTENT_SECURITY_POLICY = b"content-security-policy"
_CONTENT_TYPE = b"content-type"


class ResponseHeadersMiddleware:
    """Compression, request ids and browser-hardening headers, set in one pass over each
    answer's headers.

    A well-formed `X-Request-ID` from the client is kept, otherwise one is made; it is in
    `request.state.request_id` and on the answer. The security headers are added where the
    answer lacks them; a page that brings its own CSP keeps it.

    Then, as if Starlette's GZipMiddleware wrapped this (`minimum_size`, `compresslevel`,
    its default excluded media types): a client whose `Accept-Encoding` names gzip gets
    Starlette's own GZipResponder; any other gets what that middleware's IdentityResponder
    would send (the body as it is, with `Vary: Accept-Encoding` where it would have been
    compressed), without that wrapper's cost (`_Identity`).
    """

    def __init__(self, app: ASGIApp, *, minimum_size: int, compresslevel: int) -> None:
        self.app = app
        self.minimum_size = minimum_size
        self.compresslevel = compresslevel
        self.excluded_media_types = frozenset(DEFAULT_EXCLUDED_CONTENT_TYPES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = b""
        accept_encoding: bytes | None = None
        for name, value in scope["headers"]:
            if name == REQUEST_ID_HEADER:
                offered = value  # the last, as before
            elif name == _ACCEPT_ENCODING and accept_encoding is None:
                accept_encoding = value  # the first, as Starlette's Headers.get reads it
        request_id = (
            offered if _ACCEPTABLE_REQUEST_ID.match(offered) else secrets.token_hex(16).encode()
        )
        scope.setdefault("state", {})["request_id"] = request_id.decode("latin-1")
        if accept_encoding is not None and b"gzip" in accept_encoding:
            await self._gzipped(scope, receive, send, request_id)
            return
        identity = _Identity(send, request_id, self.minimum_size, self.excluded_media_types)
        await self.app(scope, receive, identity.send)

    async def _gzipped(self, scope: Scope, receive: Receive, send: Send, request_id: bytes) -> None:
        app = self.app

        async def hardened_app(scope: Scope, receive: Receive, send: Send) -> None:
            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = _hardened(message["headers"], request_id)
                await send(message)

            await app(scope, receive, send_with_headers)

        responder = GZipResponder(hardened_app, self.minimum_size, compresslevel=self.compresslevel)
        await responder(scope, receive, send)


class _Identity:
    """Starlette's IdentityResponder (the answer of GZipMiddleware to a client that does
    not take gzip), with the request id and security headers set on the way: the start is
    held until the first body shows whether `Vary: Accept-Encoding` belongs on it."""

    __slots__ = ("excluded", "minimum_size", "passing", "request_id", "start", "started", "to")

    def __init__(
        self, send: Send, request_id: bytes, minimum_size: int, excluded: frozenset[str]
    ) -> None:
        self.to = send
        self.request_id = request_id
        self.minimum_size = minimum_size
        self.excluded = excluded
        self.start: Message = {}
        self.started = False
        self.passing = False
        """Whether the answer goes out untouched (already encoded, partial, or excluded)."""

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            headers = message["headers"] = _hardened(message["headers"], self.request_id)
            self.start = message
            self.passing = message["status"] == HTTPStatus.PARTIAL_CONTENT or _untouched(
                headers, self.excluded
            )
            if self.passing:
                await self.to(message)
        elif kind in _BODY_MESSAGES and self.passing:
            await self.to(message)
        elif kind == _BODY and not self.started:
            self.started = True
            body = message.get("body", b"")
            if len(body) >= self.minimum_size or message.get("more_body", False):
                _add_vary(self.start["headers"])
            await self.to(self.start)
            await self.to(message)
        elif kind == _BODY:
            message["body"] = message.get("body", b"")
            await self.to(message)
        elif kind in _PASSED_MESSAGES:
            await self.to(message)
        elif kind == _PATHSEND:
            await self.to(self.start)
            await self.to(message)


_BODY = "http.response.body"
_PATHSEND = "http.response.pathsend"
_BODY_MESSAGES = frozenset({_BODY, _PATHSEND})
_PASSED_MESSAGES = frozenset({"http.response.early_hint", "http.response.trailers"})
_ACCEPT_ENCODING = b"accept-encoding"
_CONTENT_ENCODING = b"content-encoding"
_VARY = b"vary"


def _untouched(headers: list[tuple[bytes, bytes]], excluded: frozenset[str]) -> bool:
    """Whether GZipMiddleware leaves an answer with these headers alone: one that carries
    a `Content-Encoding`, or whose media type it excludes (as it reads the first
    `Content-Type`)."""
    content_type: bytes | None = None
    for name, value in headers:
        if name == _CONTENT_ENCODING:
            return True
        if name == _CONTENT_TYPE and content_type is None:
            content_type = value
    media_type = (content_type or b"").decode("latin-1").partition(";")[0].strip().lower()
    media_types = {media_type, media_type.partition("/")[0] + "/*"}
    if media_type.startswith("application/grpc+"):
        media_types.add("application/grpc")
    return not excluded.isdisjoint(media_types)


def _add_vary(headers: list[tuple[bytes, bytes]]) -> None:
    if any(name == _VARY for name, _ in headers):
        MutableHeaders(raw=headers).add_vary_header("Accept-Encoding")
    else:
        headers.append((_VARY, b"Accept-Encoding"))


def _hardened(raw: Iterable[tuple[bytes, bytes]], request_id: bytes) -> list[tuple[bytes, bytes]]:
    headers = list(raw)
    present = {name for name, _ in headers}
    headers.extend(header for header in SECURITY_HEADERS if header[0] not in present)
    if _CONTENT_SECURITY_POLICY not in present:
        content_type = next((value for name, value in headers if name == _CONTENT_TYPE), b"")
        is_page = content_type.startswith(b"text/html")
        policy = PAGE_CONTENT_SECURITY_POLICY if is_page else API_CONTENT_SECURITY_POLICY
        headers.append((_CONTENT_SECURITY_POLICY, policy))
    if REQUEST_ID_HEADER in present:
        MutableHeaders(raw=headers)[REQUEST_ID_HEADER.decode()] = request_id.decode("latin-1")
    else:
        headers.append((REQUEST_ID_HEADER, request_id))
    return headers


class RequestLimitsMiddleware:
    """Refuses oversized bodies (413) and `Authorization` headers (431) before any parsing.

    The body is read here, up to the limit, also when it comes chunked without a
    Content-Length, and handed on to the application unchanged.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_authorization_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_authorization_bytes = max_authorization_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Every Authorization line counts: several lines make one field (RFC 9110), and
        # the authenticator reads the first. Of several Content-Lengths, the last.
        authorization_bytes = 0
        declared = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization_bytes += len(value)
            elif name == b"content-length":
                declared = value
        if authorization_bytes > self.max_authorization_bytes:
            await self._refuse(
                scope,
                receive,
                send,
                HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                f"The Authorization header is over {self.max_authorization_bytes} bytes "
                "(MAX_AUTHORIZATION_HEADER_BYTES).",
                "MAX_AUTHORIZATION_HEADER_BYTES",
            )
            return
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._refuse_body(scope, receive, send)
            return
        body = bytearray()
        more_body = True
        while more_body:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay(bytes(body), message, receive), send)
                return
            body += message.get("body", b"")
            more_body = message.get("more_body", False)
            if len(body) > self.max_body_bytes:
                await self._refuse_body(scope, receive, send)
                return
        await self.app(scope, _replay(bytes(body), None, receive), send)

    async def _refuse_body(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._refuse(
            scope,
            receive,
            send,
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            f"The request body is over {self.max_body_bytes} bytes (MAX_BODY_BYTES).",
            "MAX_BODY_BYTES",
        )

    @staticmethod
    async def _refuse(  # noqa: PLR0917 - the ASGI triple, then what to answer
        scope: Scope, receive: Receive, send: Send, status: int, message: str, setting: str
    ) -> None:
        refusal = Refusal(RequestRefused(message, limit=setting), status, {"Connection": "close"})
        # Refused before parsing, yet in the media type the client negotiated, as every
        # other pre-execution refusal (GraphQL over HTTP: graphql-response+json with 4xx).
        accept = dict(scope["headers"]).get(b"accept", b"").decode("latin-1") or None
        media_type = preferred_media_type(accept)
        await refusal_response(refusal, media_type=media_type)(scope, receive, send)


def _replay(body: bytes, pending: Message | None, receive: Receive) -> Receive:
    """A `receive` that hands over the body read so far, then whatever comes next."""
    messages: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    if pending is not None:
        messages.append(pending)

    async def replayed() -> Message:
        if messages:
            return messages.pop(0)
        return await receive()

    return replayed
