"""Automatic persisted queries on /graphql, as Apollo Client and urql use them."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import coredis
import httpx
import pytest

from errors import BadUserInput, PersistedQueryNotFound
from tests.conftest import IN_CI
from tests.helpers import error_codes, signup
from web.persisted_queries import MemoryStore, PersistedQueries, RedisStore

ME = "query Me { me { email } }"
JSON_ONLY = {"Accept": "application/json"}
REDIS_URL = "redis://127.0.0.1:6379/0"
LIMITS = {"max_document_bytes": 16 * 1024, "max_tokens": 2000}


def sha256(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def persisted(document: str, version: int = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": sha256(document)}}


async def get_hashed(client: httpx.AsyncClient, document: str, token: str) -> dict[str, Any]:
    response = await client.get(
        "/graphql",
        params={"extensions": json.dumps(persisted(document))},
        headers={**JSON_ONLY, "Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def post_with_extensions(
    client: httpx.AsyncClient, body: dict[str, Any], token: str | None = None
) -> dict[str, Any]:
    headers = dict(JSON_ONLY)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    response = await client.post("/graphql", json=body, headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_round_trip_miss_register_then_hit_by_get(client: httpx.AsyncClient) -> None:
    token = (await signup(client, "apq@example.com"))["accessToken"]

    miss = await get_hashed(client, ME, token)
    registered = await post_with_extensions(
        client, {"query": ME, "extensions": persisted(ME)}, token
    )
    hit = await get_hashed(client, ME, token)

    assert miss["errors"][0]["message"] == "PersistedQueryNotFound"
    assert error_codes(miss) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert registered == {"data": {"me": {"email": "apq@example.com"}}}
    assert hit == registered


async def test_hash_that_is_not_the_query_is_refused_and_never_stored(
    client: httpx.AsyncClient,
) -> None:
    token = (await signup(client, "poison@example.com"))["accessToken"]
    honest = "{ __typename }"

    poisoned = await post_with_extensions(
        client, {"query": ME, "extensions": persisted(honest)}, token
    )
    lookup = await get_hashed(client, honest, token)

    assert error_codes(poisoned) == ["BAD_USER_INPUT"]
    assert poisoned["errors"][0]["extensions"]["field"] == "extensions.persistedQuery.sha256Hash"
    assert "data" not in poisoned
    assert error_codes(lookup) == ["PERSISTED_QUERY_NOT_FOUND"]


@pytest.mark.parametrize(
    "document",
    [
        "{ __typename",
        "{ " + " ".join(["__typename"] * 2001) + " }",
        "{ " + "a" * 16 * 1024 + ": __typename }",
    ],
    ids=["unparseable", "over-max-tokens", "over-max-bytes"],
)
async def test_documents_that_do_not_parse_or_are_too_big_are_never_stored(
    client: httpx.AsyncClient, document: str
) -> None:
    token = (await signup(client, "junk@example.com"))["accessToken"]

    await post_with_extensions(client, {"query": document, "extensions": persisted(document)})
    lookup = await get_hashed(client, document, token)

    assert error_codes(lookup) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_unknown_protocol_version_is_bad_input(client: httpx.AsyncClient) -> None:
    body = await post_with_extensions(
        client, {"query": "{ __typename }", "extensions": persisted("{ __typename }", version=2)}
    )

    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["field"] == "extensions.persistedQuery.version"


async def test_the_in_process_store_forgets_the_least_recently_used() -> None:
    persisted_queries = PersistedQueries(MemoryStore(capacity=2, max_bytes=1024), **LIMITS)
    documents = ["{ a: __typename }", "{ b: __typename }", "{ c: __typename }"]
    await persisted_queries.resolve(documents[0], persisted(documents[0]))
    await persisted_queries.resolve(documents[1], persisted(documents[1]))
    await persisted_queries.resolve(None, persisted(documents[0]))
    await persisted_queries.resolve(documents[2], persisted(documents[2]))

    assert await persisted_queries.resolve(None, persisted(documents[0])) == documents[0]
    assert await persisted_queries.resolve(None, persisted(documents[2])) == documents[2]
    with pytest.raises(PersistedQueryNotFound):
        await persisted_queries.resolve(None, persisted(documents[1]))


async def test_the_in_process_store_forgets_the_oldest_beyond_its_bytes() -> None:
    persisted_queries = PersistedQueries(MemoryStore(capacity=10, max_bytes=100), **LIMITS)
    documents = [f"{{ {name * 30}: __typename }}" for name in "abc"]
    for document in documents:
        await persisted_queries.resolve(document, persisted(document))

    with pytest.raises(PersistedQueryNotFound):
        await persisted_queries.resolve(None, persisted(documents[0]))
    assert await persisted_queries.resolve(None, persisted(documents[1])) == documents[1]
    assert await persisted_queries.resolve(None, persisted(documents[2])) == documents[2]


async def test_malformed_hash_is_bad_input() -> None:
    persisted_queries = PersistedQueries(MemoryStore(capacity=2, max_bytes=1024), **LIMITS)
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": "ABC"}}

    with pytest.raises(BadUserInput) as refused:
        await persisted_queries.resolve(None, extensions)

    assert refused.value.field == "extensions.persistedQuery.sha256Hash"


@pytest.fixture
async def redis_url() -> str:
    try:
        await coredis.Redis.from_url(REDIS_URL).ping()
    except (coredis.exceptions.RedisError, OSError) as error:
        message = f"Redis at {REDIS_URL} is unreachable ({type(error).__name__})"
        if IN_CI:
            pytest.fail(f"{message}; CI=true requires it")
        pytest.skip(message)
    return REDIS_URL


async def test_redis_store_is_shared_between_workers(redis_url: str) -> None:
    document = f"query Shared{uuid.uuid4().hex} {{ __typename }}"
    first_worker = PersistedQueries(RedisStore(redis_url, ttl_seconds=60), **LIMITS)
    second_worker = PersistedQueries(RedisStore(redis_url, ttl_seconds=60), **LIMITS)

    with pytest.raises(PersistedQueryNotFound):
        await second_worker.resolve(None, persisted(document))
    await first_worker.resolve(document, persisted(document))

    assert await second_worker.resolve(None, persisted(document)) == document
    await first_worker.close()
    await second_worker.close()


async def test_unreachable_redis_degrades_to_sending_queries_in_full() -> None:
    document = "{ __typename }"
    persisted_queries = PersistedQueries(
        RedisStore("redis://127.0.0.1:9/0", ttl_seconds=60), **LIMITS
    )

    assert await persisted_queries.resolve(document, persisted(document)) == document
    with pytest.raises(PersistedQueryNotFound):
        await persisted_queries.resolve(None, persisted(document))
