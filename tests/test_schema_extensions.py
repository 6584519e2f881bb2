"""Strawberry's extension points work on TaskqlSchema as on a stock `strawberry.Schema`.

Each comparison runs the same request on taskql's schema and on a stock
`strawberry.Schema` built from the same types with the same extensions: the data,
the error messages and paths, and the hooks each extension saw must agree. Through
HTTP on both databases where a client would reach them (the app serves either
schema: `create_app(settings, schema=...)`), directly for types of the test's own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
import pytest
import strawberry
from fastapi import FastAPI
from graphql import DirectiveLocation
from strawberry.directive import DirectiveValue
from strawberry.extensions import FieldExtension, MaskErrors, SchemaExtension
from strawberry.permission import BasePermission

from main import create_app
from schema import Mutation, Query, TaskqlSchema, build_schema
from schema.node import Node
from schema.runtime.errors import ErrorCodes
from schema.runtime.limits import Limits
from tests.conftest import make_settings
from tests.helpers import graphql
from tests.test_tasks import create_task, user_token


class Recorder(SchemaExtension):
    """Records every hook it is given, in order, in `Recorder.calls`."""

    calls: ClassVar[list[str]] = []

    def on_operation(self) -> Iterator[None]:
        self.calls.append("operation:start")
        yield
        result = self.execution_context.result
        self.calls.append(f"operation:end errors={len((result and result.errors) or [])}")

    def on_parse(self) -> Iterator[None]:
        self.calls.append("parse:start")
        yield
        self.calls.append(
            f"parse:end document={self.execution_context.graphql_document is not None}"
        )

    def on_validate(self) -> Iterator[None]:
        self.calls.append("validate:start")
        yield
        self.calls.append(
            f"validate:end errors={len(self.execution_context.pre_execution_errors or [])}"
        )

    def on_execute(self) -> Iterator[None]:
        self.calls.append("execute:start")
        yield
        self.calls.append(f"execute:end result={self.execution_context.result is not None}")

    def get_results(self) -> dict[str, Any]:
        self.calls.append("results")
        return {"recorded": len(self.calls)}


class FieldRecorder(SchemaExtension):
    """A `resolve` hook: records the path of every field resolved."""

    paths: ClassVar[list[str]] = []

    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        self.paths.append(".".join(str(key) for key in info.path.as_list()))
        return _next(root, info, *args, **kwargs)


@strawberry.directive(locations=[DirectiveLocation.FIELD], description="Upper-cases a string.")
def upper(value: DirectiveValue[str]) -> str:
    return value.upper()


EXTENSION_SETS = {
    "hooks": [Recorder],  # the fast path runs inside the hooks
    "hooks+resolve": [Recorder, FieldRecorder],  # every field through the middleware
}


@pytest.fixture(params=EXTENSION_SETS)
async def apps(
    database_url: str, request: pytest.FixtureRequest
) -> AsyncIterator[dict[str, FastAPI]]:
    """taskql's schema and a stock one, with the same extensions, on the same database."""
    settings = make_settings(database_url)
    extensions = EXTENSION_SETS[request.param]
    stock = strawberry.Schema(
        query=Query, mutation=Mutation, types=[Node], extensions=extensions, directives=[upper]
    )
    made = {
        "taskql": create_app(
            settings, schema=build_schema(settings, extensions=extensions, directives=[upper])
        ),
        "stock": create_app(settings, schema=stock),
    }
    async with (
        made["taskql"].router.lifespan_context(made["taskql"]),
        made["stock"].router.lifespan_context(made["stock"]),
    ):
        yield made


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


NESTED = """
query Nested($first: Int!, $withTags: Boolean!) {
  tasks(first: $first) { edges { node {
    title owner { email } parent { title } tags @include(if: $withTags)
    subtasks(first: 5) { edges { node { title } } }
  } } }
}
"""
REQUESTS = [
    pytest.param(NESTED, {"first": 3, "withTags": True}, id="nested"),
    pytest.param(NESTED, {"first": 3, "withTags": False}, id="nested-skip-tags"),
    pytest.param(
        "{ tasks(first: 2) { edges { node { title @upper createdAt } } } }", {}, id="directive"
    ),
    pytest.param("{ tasks(first: -1) { edges { node { title } } } }", {}, id="field-error"),
    pytest.param("{ tasks(first: 2) { edges { node { nope } } } }", {}, id="invalid"),
    pytest.param("{ tasks(first: 2) { edges ", {}, id="unparsable"),
]


@pytest.mark.parametrize(("query", "variables"), REQUESTS)
async def test_extensions_see_what_they_see_on_a_stock_schema(
    client: httpx.AsyncClient, apps: dict[str, FastAPI], query: str, variables: dict[str, Any]
) -> None:
    token = await user_token(client, "hooks@example.com")
    parent = await create_task(client, token, title="parent", tags=["b", "a"])
    await create_task(client, token, title="child", tags=["c"], parentId=parent["id"])
    answers = {}
    for name, app in apps.items():
        Recorder.calls.clear()
        FieldRecorder.paths.clear()
        async with _client(app) as http:
            response = await http.post(
                "/graphql",
                json={"query": query, "variables": variables},
                headers={"Authorization": f"Bearer {token}"},
            )
        body = response.json()
        errors = [(error["message"], error.get("path")) for error in body.get("errors", [])]
        answers[name] = (
            body.get("data"),
            errors,
            list(Recorder.calls),
            sorted(FieldRecorder.paths),
        )
        assert Recorder.calls, name
    assert answers["taskql"] == answers["stock"]


async def test_a_custom_directive_takes_effect(
    client: httpx.AsyncClient, apps: dict[str, FastAPI]
) -> None:
    token = await user_token(client, "directive@example.com")
    await create_task(client, token, title="quiet")
    async with _client(apps["taskql"]) as http:
        body = await graphql(
            http, "{ tasks(first: 1) { edges { node { a: title @upper b: title } } } }", token=token
        )
    assert body["data"]["tasks"]["edges"] == [{"node": {"a": "QUIET", "b": "quiet"}}]


async def test_extension_results_reach_the_response(
    client: httpx.AsyncClient, apps: dict[str, FastAPI]
) -> None:
    token = await user_token(client, "results@example.com")
    async with _client(apps["taskql"]) as http:
        body = await graphql(http, "{ me { email } }", token=token)
    assert body["data"] == {"me": {"email": "results@example.com"}}
    assert body["extensions"]["recorded"] > 0  # get_results, shown outside production


# Types of the test's own: field extensions and permissions inside nested lists.


class Shout(FieldExtension):
    def resolve(self, next_: Any, source: Any, info: Any, **kwargs: Any) -> Any:
        return str(next_(source, info, **kwargs)).upper()


class OnlyPublic(BasePermission):
    message = "This shelf is private."

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return bool(source.public)


@strawberry.type
class Book:
    title: str
    loud_title: str = strawberry.field(extensions=[Shout()])


@strawberry.type
class Shelf:
    name: str
    public: strawberry.Private[bool]
    books: list[Book] = strawberry.field(permission_classes=[OnlyPublic])


@strawberry.type
class Library:
    @strawberry.field
    def shelves(self) -> list[Shelf]:
        return [
            Shelf(name="open", public=True, books=[Book(title="a", loud_title="a")]),
            Shelf(name="closed", public=False, books=[Book(title="b", loud_title="b")]),
        ]


def _library(kind: str) -> strawberry.Schema:
    if kind == "stock":
        return strawberry.Schema(query=Library)
    limits = Limits(
        max_tokens=1000,
        max_depth=10,
        max_aliases=10,
        max_directives=10,
        max_complexity=1000,
        default_page_size=20,
    )
    return TaskqlSchema(query=Library, limits=limits, error_codes=ErrorCodes(), introspection=True)


@pytest.mark.parametrize(
    "query",
    [
        "{ shelves { name books { title loudTitle } } }",
        "{ shelves { name } }",
        "{ shelves { books { loudTitle } } }",
    ],
)
async def test_field_extensions_and_permissions_apply_as_on_a_stock_schema(query: str) -> None:
    answers = {}
    for kind in ("stock", "taskql"):
        result = await _library(kind).execute(query)
        errors = [(error.message, error.path) for error in result.errors or []]
        answers[kind] = (result.data, errors)
        codes = [(error.extensions or {}).get("code") for error in result.errors or []]
    assert answers["taskql"] == answers["stock"]
    if "books" in query:
        assert answers["taskql"][1] == [("This shelf is private.", ["shelves", 1, "books"])]
        assert codes == ["FORBIDDEN"]  # taskql's code for a permission's refusal
    if "loudTitle" in query:
        assert answers["taskql"][0] is None  # books is non-null: the error nulls its parent


async def test_masked_errors_stay_masked() -> None:
    schema = TaskqlSchema(
        query=Library,
        limits=Limits(1000, 10, 10, 10, 1000, 20),
        error_codes=ErrorCodes(),
        introspection=True,
        extensions=[MaskErrors],
    )
    result = await schema.execute("{ shelves { books { title } } }")
    assert result.errors is not None
    assert [error.message for error in result.errors] == ["Unexpected error."]


@strawberry.type
class Moment:
    at: datetime


@strawberry.type
class Clock:
    @strawberry.field
    def moments(self) -> list[Moment]:
        return [Moment(at=datetime(2030, 1, 31, 9, 0, 0, 123456, tzinfo=UTC))]


async def test_execute_answers_json_native_data_whatever_path_completed_it() -> None:
    """The fast path leaves UTC datetimes to the HTTP layer's encoder; `execute` does not."""
    schema = TaskqlSchema(
        query=Clock,
        limits=Limits(1000, 10, 10, 10, 1000, 20),
        error_codes=ErrorCodes(),
        introspection=True,
    )
    for_encoder = await schema.execute_for_encoder("{ moments { at } }")
    assert for_encoder.data is not None
    assert isinstance(for_encoder.data["moments"][0]["at"], datetime)
    stock = await strawberry.Schema(query=Clock).execute("{ moments { at } }")
    result = await schema.execute("{ moments { at } }")
    assert result.data == stock.data == {"moments": [{"at": "2030-01-31T09:00:00.123456+00:00"}]}
