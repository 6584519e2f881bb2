"""Compressed answers: gzip for clients that take it, 1 KiB and over; GraphiQL's assets
gzipped once and revalidated by ETag."""

from __future__ import annotations

import gzip
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

import web.graphiql
from tests.helpers import signup
from tests.test_tasks import create_task

GZIP = {"Accept-Encoding": "gzip"}
IDENTITY = {"Accept-Encoding": "identity"}
PAGE = "{ tasks(first: 30) { edges { node { id title createdAt } } } }"


@pytest.fixture
async def token(client: httpx.AsyncClient) -> str:
    access_token: str = (await signup(client, "ada@example.com"))["accessToken"]
    for number in range(15):
        await create_task(
            client, access_token, title=f"a task with a title of some length {number}"
        )
    return access_token


async def raw_post(
    client: httpx.AsyncClient, token: str, query: str, headers: dict[str, str]
) -> tuple[httpx.Response, bytes]:
    """The answer, and its body exactly as it came over the wire."""
    request = client.build_request(
        "POST",
        "/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {token}", **headers},
    )
    response = await client.send(request, stream=True)
    raw = b"".join([chunk async for chunk in response.aiter_raw()])
    await response.aclose()
    return response, raw


async def test_a_large_answer_is_gzipped_for_a_client_that_takes_gzip(
    client: httpx.AsyncClient, token: str
) -> None:
    response, raw = await raw_post(client, token, PAGE, GZIP)

    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in response.headers["vary"].lower()
    body = gzip.decompress(raw)
    assert len(body) >= 1024 > len(raw)
    assert len(body) > 3 * len(raw)
    assert body.startswith(b'{"data":{"tasks":{"edges":[')
    assert int(response.headers["content-length"]) == len(raw)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-request-id"]


async def test_small_answers_and_other_clients_get_the_body_as_it_is(
    client: httpx.AsyncClient, token: str
) -> None:
    small, small_raw = await raw_post(client, token, "{ __typename }", GZIP)
    identity, identity_raw = await raw_post(client, token, PAGE, IDENTITY)

    assert "content-encoding" not in small.headers
    assert small_raw == b'{"data":{"__typename":"Query"}}'
    assert "content-encoding" not in identity.headers
    assert len(identity_raw) >= 1024
    assert identity_raw.startswith(b'{"data":{"tasks":')


async def test_other_routes_are_compressed_too(client: httpx.AsyncClient, token: str) -> None:
    """/metrics goes the whole way round FastAPI, not the direct path /graphql takes."""
    response = await client.get("/metrics", headers=GZIP)

    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert "taskql_graphql_operations" in response.text


ASSET = b"export const graphiql = " + b'"' + b"graphiql " * 4000 + b'";\n'


@pytest.fixture
def dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in bundle, so these tests need no Node.js build."""
    bundle = tmp_path / "dist"
    bundle.mkdir()
    (bundle / "graphiql.js").write_bytes(ASSET)
    monkeypatch.setattr(web.graphiql, "GRAPHIQL_DIST", bundle)
    return bundle


@pytest.fixture
async def assets_client(dist: Path, app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def test_graphiql_assets_are_gzipped_and_revalidated(
    dist: Path, assets_client: httpx.AsyncClient
) -> None:
    url = "/graphiql/assets/graphiql.js"
    zipped = await assets_client.get(url, headers=GZIP)
    plain = await assets_client.get(url, headers=IDENTITY)
    unchanged = await assets_client.get(
        url, headers={**GZIP, "If-None-Match": zipped.headers["etag"]}
    )

    assert zipped.status_code == 200
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["content-type"] == "text/javascript; charset=utf-8"
    assert zipped.headers["cache-control"] == "no-cache"
    assert int(zipped.headers["content-length"]) < len(ASSET) // 10
    assert zipped.content == ASSET
    assert plain.content == ASSET
    assert "content-encoding" not in plain.headers
    assert plain.headers["etag"] != zipped.headers["etag"]
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["etag"] == zipped.headers["etag"]

    (dist / "graphiql.js").write_bytes(ASSET + b"// rebuilt\n")
    os.utime(dist / "graphiql.js", ns=(1, 1))
    rebuilt = await assets_client.get(
        url, headers={**GZIP, "If-None-Match": zipped.headers["etag"]}
    )

    assert rebuilt.status_code == 200
    assert rebuilt.content.endswith(b"// rebuilt\n")
    assert rebuilt.headers["etag"] != zipped.headers["etag"]


async def test_graphiql_assets_outside_the_bundle_are_404(
    dist: Path, assets_client: httpx.AsyncClient
) -> None:
    (dist.parent / "secret.txt").write_text("no")

    for name in ("..%2Fsecret.txt", ".hidden", "missing.js", "..%5Csecret.txt"):
        response = await assets_client.get(f"/graphiql/assets/{name}")
        assert response.status_code == 404, name
