"""A shorter path through graphql-core's executor for plain leaf fields.

Most of a task page is leaf fields read straight off an object (`title`,
`completed`, `createdAt`...). graphql-core builds a resolve-info object, runs
Strawberry's resolver wrapper and walks its completion machinery for each one;
on a 20-task page that is most of the request's CPU time. For a field that
Strawberry itself marks basic (no resolver, no permission, no field extension)
whose type is a scalar or enum, and with no resolver middleware in play, the
value is read and coerced here directly. Anything unusual (a null where the
schema forbids it, a value the scalar refuses) takes graphql-core's own path,
so errors stay exactly as graphql-core reports them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from graphql import (
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    Undefined,
    is_leaf_type,
)
from graphql.execution.collect_fields import GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter


@dataclass(frozen=True, slots=True)
class PlainLeaf:
    attribute: str
    coerce: Callable[[Any], Any]
    nullable: bool


_MISSING = object()
LeafIndex = dict[tuple[str, str], PlainLeaf]
_indexes: WeakKeyDictionary[GraphQLSchema, LeafIndex] = WeakKeyDictionary()


def _plain_leaves(schema: GraphQLSchema) -> LeafIndex:
    """(type name, field name) -> how to read it, for every basic nullable-or-not leaf field."""
    index = _indexes.get(schema)
    if index is not None:
        return index
    index = {}
    for type_name, graphql_type in schema.type_map.items():
        if not isinstance(graphql_type, GraphQLObjectType):
            continue
        for field_name, field in graphql_type.fields.items():
            definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            resolver_is_default = getattr(field.resolve, "_is_default", False)
            nullable = not isinstance(field.type, GraphQLNonNull)
            field_type = field.type if nullable else field.type.of_type
            if definition is None or not resolver_is_default or not is_leaf_type(field_type):
                continue
            leaf_type: GraphQLLeafType = field_type
            index[type_name, field_name] = PlainLeaf(
                attribute=definition.python_name,
                coerce=leaf_type.coerce_output_value,
                nullable=nullable,
            )
    _indexes[schema] = index
    return index


def _read(leaf: PlainLeaf, source: Any) -> Any:
    """The leaf's output value, or _MISSING when graphql-core must handle it."""
    value = getattr(source, leaf.attribute, _MISSING)
    if value is None:
        return None if leaf.nullable else _MISSING
    if value is _MISSING:
        return _MISSING
    try:
        coerced = leaf.coerce(value)
    except Exception:
        return _MISSING
    return _MISSING if coerced is None or coerced is Undefined else coerced


class PlainLeafExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        middleware = self.middleware_manager
        self._leaves: LeafIndex = (
            {} if middleware is not None and middleware.middlewares else _plain_leaves(self.schema)
        )

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        """graphql-core's `execute_fields`, with plain leaves read in line."""
        results: dict[str, Any] = {}
        awaitable_fields: list[str] = []
        leaves = self._leaves
        type_name = parent_type.name
        try:
            for response_name, field_details_list in grouped_field_set.items():
                node = field_details_list[0].node
                leaf = None if node.arguments else leaves.get((type_name, node.name.value))
                if leaf is not None:
                    value = _read(leaf, source_value)
                    if value is not _MISSING:
                        results[response_name] = value
                        continue
                result = self.execute_field(
                    parent_type,
                    source_value,
                    field_details_list,
                    Path(path, response_name, type_name),
                    position_context,
                )
                if result is not Undefined:
                    results[response_name] = result
                    if self.is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return self._await_fields(results, awaitable_fields)

    async def _await_fields(
        self, results: dict[str, Any], awaitable_fields: list[str]
    ) -> dict[str, Any]:
        if len(awaitable_fields) == 1:
            field = awaitable_fields[0]
            results[field] = await results[field]
            return results
        awaited = await gather_with_cancel(*(results[field] for field in awaitable_fields))
        results.update(zip(awaitable_fields, awaited, strict=True))
        return results
