"""CORS headers reach every answer a browser may read, transport refusals included."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

ORIGIN = "https://app.example.com"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"cors_origins": ORIGIN, "max_body_bytes": 1024}


async def test_an_oversized_body_is_413_that_the_browser_may_read(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/graphql",
        content=b'{"query": "' + b" " * 2048 + b'{ __typename }"}',
        headers={"Content-Type": "application/json", "Origin": ORIGIN},
    )

    assert response.status_code == 413
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-expose-headers"] == "X-Request-ID"
    assert response.json()["errors"][0]["extensions"]["limit"] == "MAX_BODY_BYTES"


async def test_an_oversized_authorization_header_is_431_that_the_browser_may_read(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers={"Origin": ORIGIN, "Authorization": "Bearer " + "x" * 9000},
    )

    assert response.status_code == 431
    assert response.headers["access-control-allow-origin"] == ORIGIN


async def test_other_origins_get_no_cors_headers_on_a_refusal(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql",
        content=b" " * 2048,
        headers={"Content-Type": "application/json", "Origin": "https://evil.example.com"},
    )

    assert response.status_code == 413
    assert "access-control-allow-origin" not in response.headers


async def test_a_preflight_carries_the_security_headers_and_request_id(
    client: httpx.AsyncClient,
) -> None:
    response = await client.options(
        "/graphql",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "X-Request-ID": "preflight-1",
        },
    )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["x-request-id"] == "preflight-1"
    assert response.headers["x-content-type-options"] == "nosniff"
