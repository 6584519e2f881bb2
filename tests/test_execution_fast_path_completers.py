"""When the fast path is taken, and how its completers are shared between runs of a
document, kept from growing with aliases, and released with the document."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable
from typing import Any

import pytest
import strawberry
from graphql import (
    DocumentNode,
    GraphQLObjectType,
    OperationDefinitionNode,
    execute,
    parse,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path
from strawberry.schema.config import StrawberryConfig

from schema.runtime.completers import CompileBudget
from schema.runtime.fast_path import PlainFieldExecutionContext
from tests.fast_path_world import FAST, STOCK, ErrorPath, Query, item, item_schema, world


@pytest.mark.parametrize(
    ("query", "root", "slow_paths"),
    [
        pytest.param(
            "{ connection { edges { cursor node { title owner { name } } } "
            "pageInfo { endCursor } } }",
            world,
            [],
            id="plain connection",
        ),
        pytest.param(
            "{ item { title slowShout } }",
            world,
            [["item"], ["item", "slowShout"]],
            id="a resolver",
        ),
        pytest.param(
            "{ item { rank } requiredItem { rank } }",
            lambda: world(item=item(rank=2**31)),
            [["item"], ["item", "rank"]],
            id="a refused value",
        ),
    ],
)
def test_fast_path_is_taken_for_plain_selections(
    query: str, root: Callable[[], Query], slow_paths: list[ErrorPath]
) -> None:
    """Guards the suite above: it would pass trivially if nothing took the fast path."""
    seen: list[ErrorPath] = []

    class Recording(PlainFieldExecutionContext):
        def execute_field(
            self,
            parent_type: GraphQLObjectType,
            source: Any,
            field_details_list: FieldDetailsList,
            path: Path,
            position_context: Any,
        ) -> Any:
            seen.append(path.as_list())
            return super().execute_field(
                parent_type, source, field_details_list, path, position_context
            )

    result = item_schema(Recording).execute_sync(query, root_value=root())
    assert result.data is not None
    assert seen == slow_paths


class KeyedRecord(dict[str, str]):
    title = "attribute"


@strawberry.type
class KeyedThing:
    title: str


@strawberry.type
class KeyedRoot:
    @strawberry.field
    def thing(self) -> KeyedThing:
        return KeyedRecord(title="item")  # type: ignore[return-value]


def test_a_schema_with_its_own_default_resolver_keeps_it() -> None:
    """Basic fields are read with the schema's default resolver; the fast path then stays out."""

    def build(context_class: Any) -> strawberry.Schema:
        return strawberry.Schema(
            query=KeyedRoot,
            config=StrawberryConfig(default_resolver=lambda source, name: source[name]),
            execution_context_class=context_class,
        )

    query = "{ thing { title } }"
    fast = build(PlainFieldExecutionContext).execute_sync(query)
    stock = build(None).execute_sync(query)
    assert stock.data == {"thing": {"title": "item"}}
    assert (fast.data, fast.errors) == (stock.data, stock.errors)


def test_one_parsed_document_run_again_answers_each_root_like_graphql_core() -> None:
    """A document without variables keeps its completers between runs (the parse cache
    hands every request the same nodes); each run still reads its own root, gives up
    where its own values are unusual, and fragments still apply by type."""
    document = parse(
        "{ item { title rank ...on Item { done } } items { title note } required: requiredItem"
        " { title } }"
    )
    roots = [
        world(),
        world(item=item(title="Cake", rank=7), items=[item(note="n")]),
        world(item=item(title=None)),  # a null where the schema forbids one: error, null item
        world(items=[item(rank=2**40)], required_item=item(title="Pie")),
        world(),
    ]
    for root in roots:
        fast, stock = (
            execute(schema._schema, document, root_value=root, **kwargs)
            for schema, kwargs in (
                (FAST, {"executor_class": PlainFieldExecutionContext}),
                (STOCK, {}),
            )
        )
        assert isinstance(fast, GraphQLExecutionResult)
        assert isinstance(stock, GraphQLExecutionResult)
        assert (fast.data, fast.errors) == (stock.data, stock.errors)


def test_runs_with_variables_share_completers_unless_a_directive_could_use_them() -> None:
    """Variables change which fields a selection collects only through directives: a
    document without any shares its completers between runs, as one without variables
    does; one with `@include(if: $show)` builds them again, and answers each run right."""
    compiled: list[object] = []

    class Counting(PlainFieldExecutionContext):
        def _compile(self, field_type: Any, field_details_list: FieldDetailsList) -> Any:
            compiled.append(field_type)
            return super()._compile(field_type, field_details_list)

    counting = item_schema(Counting)

    def compilations(document: DocumentNode, *runs: dict[str, Any]) -> int:
        compiled.clear()
        for variables in runs:
            fast, stock = (
                execute(schema._schema, document, world(), variable_values=variables, **kwargs)
                for schema, kwargs in ((counting, {"executor_class": Counting}), (STOCK, {}))
            )
            assert isinstance(fast, GraphQLExecutionResult)
            assert isinstance(stock, GraphQLExecutionResult)
            assert stock.errors is None
            assert (fast.data, fast.errors) == (stock.data, stock.errors)
        return len(compiled)

    plain = parse("query($n: Int) { item { title owner { name } } items { note } }")
    assert compilations(plain, {"n": 1}) > 0
    assert compilations(plain, {"n": 2}, {"n": None}) == 0
    directed = parse(
        "query($show: Boolean!) { item { title ... @include(if: $show) { rank } owner { name } } }"
    )
    once = compilations(directed, {"show": True})
    assert once > 0
    assert compilations(directed, {"show": False}, {"show": True}) == 2 * once
    in_a_fragment = parse(
        "query($show: Boolean!) { item { ...Parts owner { name } } }"
        " fragment Parts on Item { title rank @include(if: $show) }"
    )
    once = compilations(in_a_fragment, {"show": False})
    assert once > 0
    assert compilations(in_a_fragment, {"show": True}, {"show": False}) == 2 * once


def test_aliases_do_not_make_new_code() -> None:
    """A client's aliases are values of a completer, not its source: a selection of the
    same shape under other names compiles nothing new (nor can a name reach the code)."""
    first = FAST.execute_sync("{ item { a: title b: rank __typename } }", root_value=world())
    assert first.data == {"item": {"a": "Tea", "b": 1, "__typename": "Item"}}
    compiled = CompileBudget.compiled
    second = FAST.execute_sync("{ item { c: title d: rank kind: __typename } }", root_value=world())
    assert second.data == {"item": {"c": "Tea", "d": 1, "kind": "Item"}}
    assert CompileBudget.compiled == compiled


def test_a_document_once_run_is_not_kept_alive_by_its_completers() -> None:
    """Completers built for a document go with it: a document too long for the parse
    cache, sent once per request, must not pile up in memory."""
    document = parse("{ item { title rank } items { title } }")
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    field = weakref.ref(operation.selection_set.selections[0])
    result = execute(
        FAST._schema, document, root_value=world(), executor_class=PlainFieldExecutionContext
    )
    assert isinstance(result, GraphQLExecutionResult)
    assert result.errors is None
    del document, operation, result
    gc.collect()
    assert field() is None
