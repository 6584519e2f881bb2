"""Query admission: at most MAX_CONCURRENT_QUERIES queries run at once, the rest in turn."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from errors import ServiceUnavailable
from tests.helpers import DEFAULT_PASSWORD, error_codes, graphql, post_graphql, signup
from web.admission import Admission
from web.edge import TaskqlApp
from web.graphql import PATH, GraphQLEndpoint

ME = "{ me { email } }"
LOGIN = "mutation($input: LoginInput!) { login(input: $input) { accessToken } }"


def graphql_endpoint(app: FastAPI) -> GraphQLEndpoint:
    assert isinstance(app, TaskqlApp)
    route = app.direct_route
    assert route is not None
    assert route.path == PATH
    endpoint: GraphQLEndpoint = route.endpoint.__self__  # type: ignore[attr-defined]
    return endpoint


@pytest.mark.parametrize(
    "settings_overrides", [{"max_concurrent_queries": 1, "db_pool_timeout_seconds": 0.3}]
)
async def test_a_query_that_waits_too_long_for_its_turn_is_503_and_mutations_still_run(
    app: FastAPI, client: httpx.AsyncClient, settings_overrides: dict[str, Any]
) -> None:
    payload = await signup(client, "ada@example.com")
    token = payload["accessToken"]
    admission = graphql_endpoint(app).query_admission
    async with admission:  # the one slot, held as a long-running query would hold it
        waited = await post_graphql(client, ME, token=token)
        assert waited.status_code == 503
        assert waited.headers["retry-after"] == "5"
        assert error_codes(waited.json()) == ["SERVICE_UNAVAILABLE"]
        # Mutations are not queued behind queries.
        login = await graphql(
            client, LOGIN, {"input": {"email": "ada@example.com", "password": DEFAULT_PASSWORD}}
        )
        assert "errors" not in login, login
    answered = await graphql(client, ME, token=token)
    assert answered == {"data": {"me": {"email": "ada@example.com"}}}


@pytest.mark.parametrize("settings_overrides", [{"max_concurrent_queries": 2}])
async def test_queries_past_the_limit_all_answer(
    client: httpx.AsyncClient, settings_overrides: dict[str, Any]
) -> None:
    token = (await signup(client, "ada@example.com"))["accessToken"]
    bodies = await asyncio.gather(*(graphql(client, ME, token=token) for _ in range(12)))
    assert bodies == [{"data": {"me": {"email": "ada@example.com"}}}] * 12


async def test_waiting_queries_start_in_arrival_order_and_newcomers_queue_behind() -> None:
    admission = Admission(1, timeout_seconds=5)
    started: list[str] = []

    async def query(name: str) -> None:
        async with admission:
            started.append(name)
            await asyncio.sleep(0)

    async with admission:
        waiting = [asyncio.create_task(query(f"waiter {n}")) for n in range(3)]
        await asyncio.sleep(0.01)  # all three are queued now
    # The slot is free, but three are queued: a newcomer must not take it first.
    newcomer = asyncio.create_task(query("newcomer"))
    await asyncio.gather(*waiting, newcomer)
    assert started == ["waiter 0", "waiter 1", "waiter 2", "newcomer"]


async def test_a_wait_past_the_timeout_raises_service_unavailable_and_frees_nothing() -> None:
    admission = Admission(1, timeout_seconds=0.05)
    async with admission:
        with pytest.raises(ServiceUnavailable):
            async with admission:
                pytest.fail("admitted while the only slot was held")
    async with asyncio.timeout(1):  # the timed-out waiter left no slot taken or lost
        async with admission:
            pass
        async with admission:
            pass


CREATE = 'mutation { createTask(input: {title: "kept"}) { title } }'


@pytest.mark.parametrize(
    "settings_overrides",
    [{"max_concurrent_queries": 1, "db_pool_timeout_seconds": 0.3, "batching_enabled": True}],
)
async def test_a_batch_whose_mutation_ran_is_not_503_when_its_query_waited_too_long(
    app: FastAPI, client: httpx.AsyncClient, settings_overrides: dict[str, Any]
) -> None:
    """A 503 invites a retry of the whole batch, which would create the task twice."""
    token = (await signup(client, "ada@example.com"))["accessToken"]
    headers = {"Authorization": f"Bearer {token}"}
    async with graphql_endpoint(app).query_admission:
        mixed = await client.post(
            "/graphql", json=[{"query": CREATE}, {"query": ME}], headers=headers
        )
        only_queries = await client.post(
            "/graphql", json=[{"query": ME}, {"query": ME}], headers=headers
        )
    assert mixed.status_code == 200
    assert "retry-after" not in mixed.headers
    created, waited = mixed.json()
    assert created == {"data": {"createTask": {"title": "kept"}}}
    assert error_codes(waited) == ["SERVICE_UNAVAILABLE"]
    assert waited["errors"][0]["extensions"]["retryAfter"] == 5
    assert only_queries.status_code == 503
    assert only_queries.headers["retry-after"] == "5"
