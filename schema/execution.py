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
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path
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


class PlainLeafExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        node = field_details_list[0].node
        leaf = None
        if not node.arguments and not (
            self.middleware_manager and self.middleware_manager.middlewares
        ):
            leaf = _plain_leaves(self.schema).get((parent_type.name, node.name.value))
        if leaf is not None:
            value = getattr(source, leaf.attribute, _MISSING)
            if value is None and leaf.nullable:
                return None
            if value is not None and value is not _MISSING:
                try:
                    coerced = leaf.coerce(value)
                except Exception:
                    coerced = None
                if coerced is not None and coerced is not Undefined:
                    return coerced
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )
