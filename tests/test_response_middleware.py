"""ResponseHeadersMiddleware sends what Starlette's GZipMiddleware around the former
headers middleware sent: message for message, for clients that take gzip and those
that do not, whatever the answer (small, large, streamed, encoded, partial, excluded)."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable

import pytest
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from main import GZIP_LEVEL, GZIP_MINIMUM_BYTES
from web import middleware
from web.middleware import (
    _ACCEPTABLE_REQUEST_ID,
    REQUEST_ID_HEADER,
    ResponseHeadersMiddleware,
    _hardened,
)

MADE_ID = "0123456789abcdef0123456789abcdef"


class FormerHeadersMiddleware:
    """The headers middleware as it was before compression joined it (the reference)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        offered: bytes = dict(scope["headers"]).get(REQUEST_ID_HEADER, b"")
        request_id = offered if _ACCEPTABLE_REQUEST_ID.match(offered) else MADE_ID.encode()
        scope.setdefault("state", {})["request_id"] = request_id.decode("latin-1")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _hardened(message["headers"], request_id)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def answer(*messages: Message) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for message in copy.deepcopy(messages):
            await send(message)

    return app


def start(content_type: bytes | None, *extra: tuple[bytes, bytes], status: int = 200) -> Message:
    headers = [(b"content-type", content_type)] if content_type is not None else []
    return {"type": "http.response.start", "status": status, "headers": [*headers, *extra]}


def body(size: int, *, more: bool = False) -> Message:
    return {"type": "http.response.body", "body": b"x" * size, "more_body": more}


JSON = b"application/json"
PATHSEND = {"type": "http.response.pathsend", "path": "/x"}
ANSWERS = {
    "small": answer(start(JSON), body(20)),
    "just under": answer(start(JSON), body(GZIP_MINIMUM_BYTES - 1)),
    "just enough": answer(start(JSON), body(GZIP_MINIMUM_BYTES)),
    "large, no content type": answer(start(None), body(3000)),
    "large with vary": answer(start(JSON, (b"vary", b"Origin")), body(3000)),
    "two vary lines": answer(start(JSON, (b"vary", b"Origin"), (b"vary", b"Cookie")), body(3000)),
    "already encoded": answer(start(JSON, (b"content-encoding", b"br")), body(3000)),
    "partial": answer(start(JSON, status=206), body(3000)),
    "event stream": answer(start(b"Text/Event-Stream; charset=utf-8"), body(5, more=True), body(9)),
    "grpc": answer(start(b"application/grpc+proto"), body(3000)),
    "image": answer(start(b"image/png"), body(3000)),
    "streamed": answer(start(JSON), body(5, more=True), body(3000, more=True), body(0)),
    "a page": answer(start(b"text/html; charset=utf-8"), body(3000)),
    "own policy and id": answer(
        start(JSON, (b"content-security-policy", b"none"), (b"x-request-id", b"mine")), body(9)
    ),
    "trailers": answer(
        {**start(JSON), "trailers": True},
        body(3000),
        {"type": "http.response.trailers", "headers": [], "more_trailers": False},
    ),
    "early hint": answer(
        {"type": "http.response.early_hint", "links": []}, start(JSON), body(3000)
    ),
    "path sent": answer(start(JSON), PATHSEND),
    "encoded path sent": answer(start(JSON, (b"content-encoding", b"gzip")), PATHSEND),
}
REQUEST_HEADERS: dict[str, list[tuple[bytes, bytes]]] = {
    "nothing": [],
    "gzip": [(b"accept-encoding", b"gzip, deflate")],
    "identity": [(b"accept-encoding", b"identity")],
    "gzip second": [(b"accept-encoding", b"br, gzip;q=0.5")],
    "two lines": [(b"accept-encoding", b"identity"), (b"accept-encoding", b"gzip")],
    "upper case": [(b"accept-encoding", b"GZIP")],
    "an id": [(b"x-request-id", b"abc-123"), (b"accept-encoding", b"gzip")],
    "two ids": [(b"x-request-id", b"first"), (b"x-request-id", b"second")],
    "a bad id": [(b"x-request-id", b"no spaces allowed")],
}


async def sent(app: ASGIApp, headers: Iterable[tuple[bytes, bytes]]) -> tuple[list[Message], str]:
    messages: list[Message] = []
    scope: Scope = {"type": "http", "method": "GET", "path": "/", "headers": list(headers)}

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        messages.append(copy.deepcopy(message))

    await app(scope, receive, send)
    return messages, scope["state"]["request_id"]


@pytest.mark.parametrize(
    ("answer_name", "request_name"), list(itertools.product(ANSWERS, REQUEST_HEADERS))
)
async def test_the_same_messages_as_gzip_around_the_former_middleware(
    answer_name: str, request_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(middleware.secrets, "token_hex", lambda _: MADE_ID)
    app = ANSWERS[answer_name]
    reference = GZipMiddleware(
        FormerHeadersMiddleware(app), minimum_size=GZIP_MINIMUM_BYTES, compresslevel=GZIP_LEVEL
    )
    merged = ResponseHeadersMiddleware(
        app, minimum_size=GZIP_MINIMUM_BYTES, compresslevel=GZIP_LEVEL
    )
    headers = REQUEST_HEADERS[request_name]

    assert await sent(merged, headers) == await sent(reference, headers)
