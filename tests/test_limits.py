"""Document limits: just under each passes, just over is one GRAPHQL_VALIDATION_FAILED naming it.

`{ me { ... } }` without a token is UNAUTHENTICATED once its resolver runs, so an
answer holding only the limit error shows that no resolver ran.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.helpers import error_codes, post_graphql, signup


async def ask(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await post_graphql(client, query, variables or None)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_one_limit_error(body: dict[str, Any], setting: str) -> None:
    assert error_codes(body) == ["GRAPHQL_VALIDATION_FAILED"], body
    assert setting in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["limit"] == setting
    assert "data" not in body


def aliases(count: int) -> str:
    return "{ " + " ".join(f"a{n}: __typename" for n in range(count)) + " }"


async def test_fifteen_aliases_pass_and_sixteen_are_one_error(client: httpx.AsyncClient) -> None:
    assert (await ask(client, aliases(15)))["data"]["a14"] == "Query"
    assert_one_limit_error(await ask(client, aliases(16)), "MAX_ALIASES")


async def test_aliases_inside_fragments_count_at_every_spread(client: httpx.AsyncClient) -> None:
    fragment = "fragment F on Query { " + " ".join(f"f{n}: __typename" for n in range(8)) + " }"
    assert_one_limit_error(
        await ask(client, "{ ...F ... on Query { ...F } } " + fragment), "MAX_ALIASES"
    )


def typenames(count: int) -> str:
    return "{ " + " __typename" * count + " }"


def node_ids(count: int) -> str:
    """`{ nodes(ids: [...]) { id } }` has 12 tokens besides the ids."""
    return "{ nodes(ids: [" + ' "x"' * count + " ]) { id } }"


async def test_tokens_up_to_the_limit_pass_and_one_more_is_one_error(
    client: httpx.AsyncClient,
) -> None:
    assert error_codes(await ask(client, node_ids(1988))) == ["UNAUTHENTICATED"]
    assert_one_limit_error(await ask(client, node_ids(1989)), "MAX_TOKENS")


async def test_comments_count_as_tokens(client: httpx.AsyncClient) -> None:
    padded = "{ __typename }" + "\n#" * 2000
    assert_one_limit_error(await ask(client, padded), "MAX_TOKENS")


async def test_five_hundred_duplicated_fields_answer_quickly(client: httpx.AsyncClient) -> None:
    started = time.perf_counter()
    body = await ask(client, typenames(500))
    assert body == {"data": {"__typename": "Query"}}
    assert time.perf_counter() - started < 2


def directives(count: int) -> str:
    return "{ " + " __typename @include(if: true)" * count + " }"


async def test_fifty_directives_pass_and_fifty_one_are_one_error(
    client: httpx.AsyncClient,
) -> None:
    assert (await ask(client, directives(50)))["data"] == {"__typename": "Query"}
    assert_one_limit_error(await ask(client, directives(51)), "MAX_DIRECTIVES")


def nested_parents(depth: int) -> str:
    """A query whose deepest field is `depth` levels below the root field."""
    inner = "id"
    for _ in range(depth - 3):
        inner = f"parent {{ {inner} }}"
    return f"{{ tasks(first: 1) {{ edges {{ node {{ {inner} }} }} }} }}"


async def test_depth_ten_passes_and_eleven_is_one_error(client: httpx.AsyncClient) -> None:
    token = (await signup(client, "deep@example.com"))["accessToken"]
    under = await post_graphql(client, nested_parents(10), token=token)
    assert under.json() == {"data": {"tasks": {"edges": []}}}
    assert_one_limit_error(await ask(client, nested_parents(11)), "MAX_QUERY_DEPTH")


async def test_many_too_deep_branches_are_still_one_error(client: httpx.AsyncClient) -> None:
    deep = nested_parents(14).removeprefix("{").removesuffix("}")
    query = "{ " + " ".join(f"t{n}: {deep}" for n in range(5)) + " }"
    assert_one_limit_error(await ask(client, query), "MAX_QUERY_DEPTH")


async def test_a_fragment_cycle_is_one_validation_error(client: httpx.AsyncClient) -> None:
    body = await ask(
        client,
        "{ ...A } fragment A on Query { me { id } ...B } fragment B on Query { ...A }",
    )
    assert error_codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "Cannot spread fragment" in body["errors"][0]["message"]


COST = "query Cost($n: Int) { tasks(first: $n) { edges { node { id title } } } }"


async def test_first_multiplies_the_selection_in_the_cost(client: httpx.AsyncClient) -> None:
    # tasks: 1 + n * (edges 1 + node (1 + id 1 + title 1)) = 1 + 4n; 5000 allows n = 1249.
    huge = await ask(client, "{ me { tasks(first: 100000) { edges { node { id } } } } }")
    assert_one_limit_error(huge, "MAX_COMPLEXITY")
    assert error_codes(await ask(client, COST, n=1249)) == ["UNAUTHENTICATED"]
    assert_one_limit_error(await ask(client, COST, n=1250), "MAX_COMPLEXITY")


async def test_nested_connections_multiply(client: httpx.AsyncClient) -> None:
    query = (
        "{ tasks(first: 50) { edges { node { subtasks(first: 50) { edges { node { id } } } } } } }"
    )
    assert_one_limit_error(await ask(client, query), "MAX_COMPLEXITY")


async def test_a_variable_default_counts_when_the_variable_is_not_sent(
    client: httpx.AsyncClient,
) -> None:
    query = (
        "query Nested($n: Int = 100) { tasks(first: $n) { edges { node {"
        " subtasks(first: $n) { edges { node { id } } } } } } }"
    )
    assert_one_limit_error(await ask(client, query), "MAX_COMPLEXITY")
    assert error_codes(await ask(client, query, n=5)) == ["UNAUTHENTICATED"]


async def test_a_page_size_variable_costs_what_execution_coerces_it_to(
    client: httpx.AsyncClient,
) -> None:
    """graphql-core runs `first: $n` with n = 100.0 as the Int 100, so the cost counts 100."""
    assert error_codes(await ask(client, COST, n=1249.0)) == ["UNAUTHENTICATED"]
    assert_one_limit_error(await ask(client, COST, n=1250.0), "MAX_COMPLEXITY")
    token = (await signup(client, "floats@example.com"))["accessToken"]
    nested = (
        "query Nested($n: Int) { tasks(first: $n) { edges { node {"
        " subtasks(first: $n) { edges { node { id } } } } } } }"
    )
    under = await post_graphql(client, nested, {"n": 5.0}, token=token)
    assert under.json() == {"data": {"tasks": {"edges": []}}}
    over = await post_graphql(client, nested, {"n": 100.0}, token=token)
    assert_one_limit_error(over.json(), "MAX_COMPLEXITY")


@pytest.mark.parametrize("value", ["1250", 2**31, 1250.5, True, [1250], {"n": 1250}])
async def test_a_page_size_variable_that_does_not_coerce_is_graphql_cores_variable_error(
    client: httpx.AsyncClient, value: object
) -> None:
    """Never a limit error nor a crash: the operation does not run, whatever `n` would cost."""
    body = await ask(client, COST, n=value)
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    assert body["errors"][0]["message"].startswith("Variable '$n' has invalid value"), body
    assert body["errors"][0]["extensions"]["field"] == "n"


async def test_page_size_over_the_maximum_is_bad_user_input(client: httpx.AsyncClient) -> None:
    token = (await signup(client, "pages@example.com"))["accessToken"]
    response = await post_graphql(client, COST, {"n": 101}, token=token)
    assert error_codes(response.json()) == ["BAD_USER_INPUT"]
    response = await post_graphql(client, COST, {"n": 100}, token=token)
    assert response.json() == {"data": {"tasks": {"edges": []}}}


async def test_body_over_the_limit_is_413_before_parsing(client: httpx.AsyncClient) -> None:
    limit = 1024 * 1024
    filler = " " * (limit - len('{"query": "{ __typename }"}'))
    at_limit = await client.post(
        "/graphql",
        content=('{"query": "{ __typename }"' + filler + "}").encode()[:limit],
        headers={"Content-Type": "application/json"},
    )
    over = await client.post(
        "/graphql",
        content=b"{" + b" " * limit + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert at_limit.status_code != 413
    assert over.status_code == 413
    assert_one_limit_error(over.json(), "MAX_BODY_BYTES")


async def test_chunked_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> Any:
        for _ in range(20):
            yield b" " * 65536

    response = await client.post(
        "/graphql", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert_one_limit_error(response.json(), "MAX_BODY_BYTES")


async def test_authorization_header_over_8_kib_is_431_undecoded(
    client: httpx.AsyncClient,
) -> None:
    at_limit = await client.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers={"Authorization": "Bearer " + "x" * (8192 - 7)},
    )
    over = await client.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers={"Authorization": "Bearer " + "x" * (8193 - 7)},
    )
    assert at_limit.status_code == 401
    assert over.status_code == 431
    assert_one_limit_error(over.json(), "MAX_AUTHORIZATION_HEADER_BYTES")


class TestSmallerLimits:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"max_query_depth": 1, "max_complexity": 3}

    async def test_limits_follow_the_settings(self, client: httpx.AsyncClient) -> None:
        assert error_codes(await ask(client, "{ me { id } }")) == ["UNAUTHENTICATED"]
        assert_one_limit_error(
            await ask(client, "{ me { tasks(first: 0) { totalCount } } }"), "MAX_QUERY_DEPTH"
        )
        assert_one_limit_error(await ask(client, "{ me { id email name } }"), "MAX_COMPLEXITY")
