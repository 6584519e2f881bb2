"""ASGI middleware that wraps every request: request ids, transport limits, security headers."""

from __future__ import annotations

import re
import uuid
from http import HTTPStatus

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.responses import Refusal, RequestRefused, refusal_response

REQUEST_ID_HEADER = "x-request-id"
_ACCEPTABLE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

API_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
PAGE_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'"
)
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}


class RequestIdMiddleware:
    """Takes a well-formed `X-Request-ID` from the client or makes one, and returns it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = dict(scope["headers"]).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        request_id = offered if _ACCEPTABLE_REQUEST_ID.match(offered) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        await self.app(scope, receive, send_with_id)


class SecurityHeadersMiddleware:
    """Sets the browser-hardening headers; a page that brings its own CSP keeps it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                is_page = headers.get("content-type", "").startswith("text/html")
                headers.setdefault(
                    "content-security-policy",
                    PAGE_CONTENT_SECURITY_POLICY if is_page else API_CONTENT_SECURITY_POLICY,
                )
            await send(message)

        await self.app(scope, receive, send_with_headers)


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
        headers = dict(scope["headers"])
        if len(headers.get(b"authorization", b"")) > self.max_authorization_bytes:
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
        declared = headers.get(b"content-length", b"")
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
        await refusal_response(refusal)(scope, receive, send)


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
