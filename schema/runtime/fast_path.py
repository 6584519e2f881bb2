"""A shorter path through graphql-core's executor for plain fields.

Most of a task page is fields read straight off an object: `edges`, `node`,
`title`, `completed`, `createdAt`... graphql-core builds a path, a resolve-info
object and Strawberry's resolver wrapper for each of them, and walks its
completion machinery once per object and once per value; on a 20-task page that
is most of the request's CPU time.

A plain field (`plain`) without directives, with literal arguments if any, whose
whole selection is plain too (leaves, objects of a concrete type, lists of them)
is completed here by a completer built once per selection (`completers`):
attribute reads, exact-type checks for the built-in scalars, and the scalar's own
coercion otherwise.

Anything unusual in such a subtree (a null where the schema forbids one, a value
a scalar refuses, an object of the wrong type, a pure method that raises) makes
the reader give up, and the field takes graphql-core's own path from the start.
Plain reads have no side effects, so doing them twice is harmless, and errors and
null propagation stay exactly as graphql-core reports them.
"""

from __future__ import annotations

from collections.abc import Iterable
from keyword import iskeyword
from typing import Any
from weakref import WeakKeyDictionary, ref

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLSchema,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
    ValueNode,
    VariableNode,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.execution.values import get_argument_values
from graphql.pyutils import AwaitableOrValue, Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from schema.runtime.completers import (
    CompileBudget,
    _leaf_completer,
    _nullable,
    _object_closure,
    _object_completer,
    _pass_through,
)
from schema.runtime.plain import MISSING, Completer, FieldIndex, PlainField, _reader
from schema.runtime.prebuilt import PrebuiltJSON

_indexes: WeakKeyDictionary[GraphQLSchema, FieldIndex] = WeakKeyDictionary()


SharedCompleters = dict[tuple[int, ...], tuple[tuple[FieldNode, ...], Completer | None]]
"""One operation's completers: (id of the PlainField, ids of the selecting field nodes) ->
(those nodes, kept alive so that their ids are not reused; the completer)."""


OperationCompleters = dict[int, tuple["ref[OperationDefinitionNode]", SharedCompleters | None]]


# Per schema, id(operation node) -> (a weak reference to the node, its completers). An
# entry goes with its operation node, when the parse cache lets go of the document (or at
# the end of the request, for a document too long to be cached): nothing is kept that is
# not kept anyway.
_shared: WeakKeyDictionary[GraphQLSchema, OperationCompleters] = WeakKeyDictionary()


def _shared_completers(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Iterable[FragmentDefinitionNode],
) -> SharedCompleters | None:
    """The completers every run of `operation` can share; None when its variables may
    change which fields a selection collects (they do only through directives)."""
    by_operation = _shared.setdefault(schema, {})
    key = id(operation)
    entry = by_operation.get(key)
    if entry is not None and entry[0]() is operation:
        return entry[1]

    def forget(reference: ref[OperationDefinitionNode]) -> None:
        current = by_operation.get(key)
        if current is not None and current[0] is reference:
            del by_operation[key]

    completers: SharedCompleters | None = {}
    if operation.variable_definitions and _has_directives(operation, *fragments):
        completers = None
    by_operation[key] = (ref(operation, forget), completers)
    return completers


def _has_directives(*nodes: OperationDefinitionNode | FragmentDefinitionNode) -> bool:
    """Whether any selection below these nodes carries a directive (@skip, @include...)."""
    selection_sets: list[SelectionSetNode | None] = [node.selection_set for node in nodes]
    while selection_sets:
        selection_set = selection_sets.pop()
        if selection_set is None:
            continue
        for selection in selection_set.selections:
            if selection.directives:
                return True
            selection_sets.append(getattr(selection, "selection_set", None))
    return False


def _has_variables(value: ValueNode) -> bool:
    if isinstance(value, VariableNode):
        return True
    if isinstance(value, ListValueNode):
        return any(_has_variables(item) for item in value.values)
    if isinstance(value, ObjectValueNode):
        return any(_has_variables(field.value) for field in value.fields)
    return False


def plain_fields(schema: GraphQLSchema) -> FieldIndex:
    """(type name, field name) -> how to read it, for every plain field of every object type."""
    index = _indexes.get(schema)
    if index is not None:
        return index
    index = {}
    strawberry_schema = getattr(schema, "_strawberry_schema", None)
    if strawberry_schema is None or strawberry_schema.config.default_resolver is not getattr:
        _indexes[schema] = index  # basic fields are read some other way: leave them be
        return index
    for type_name, graphql_type in schema.type_map.items():
        if not isinstance(graphql_type, GraphQLObjectType) or type_name.startswith("__"):
            continue
        for field_name, field in graphql_type.fields.items():
            definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if not isinstance(definition, StrawberryField):
                continue
            reader = _reader(definition, field)
            if reader is None:
                continue
            read, call = reader
            names = strawberry_schema.config.name_converter
            python_names = tuple(
                (names.from_argument(argument), argument.python_name)
                for argument in definition.arguments
            )
            named = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
            leaf = passes = None
            if is_leaf_type(named):
                leaf = _nullable(_leaf_completer(named), field.type)
                passes = _pass_through(named)
            attribute = definition.python_name if definition.base_resolver is None else None
            # Only plain ASCII names are written into generated source: Python would read
            # `ﬁeld` as `field` (NFKC), so any other name is read by its reader instead.
            if attribute is not None and not (
                attribute.isascii() and attribute.isidentifier() and not iskeyword(attribute)
            ):
                attribute = None
            index[type_name, field_name] = PlainField(
                read=read,
                type=field.type,
                leaf=leaf,
                attribute=attribute,
                passes=passes,
                call=call,
                python_names=python_names,
            )
    _indexes[schema] = index
    return index


class PlainFieldExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        middleware = self.middleware_manager
        self._fields: FieldIndex = (
            {} if middleware is not None and middleware.middlewares else plain_fields(self.schema)
        )
        # id(field details list) -> (the list, kept alive so its id is not reused; completer)
        self._completers: dict[int, tuple[FieldDetailsList, Completer | None]] = {}
        # Without variables, which fields a selection collects depends only on its nodes,
        # and the parse cache hands every request for a document the same nodes: such
        # completers are built once per document, not once per request.
        self._shared: SharedCompleters | None = None
        self._budget = CompileBudget()
        if self._fields:
            self._shared = _shared_completers(
                self.schema, self.operation, self.fragment_definitions.values()
            )

    def _completer_for(
        self, plain: PlainField, field_details_list: FieldDetailsList
    ) -> Completer | None:
        if plain.leaf is not None:
            return plain.leaf
        cached = self._completers.get(id(field_details_list))
        if cached is not None:
            return cached[1]
        shared = self._shared
        key: tuple[int, ...] = ()
        if shared is not None:
            key = (id(plain), *(id(details.node) for details in field_details_list))
            found = shared.get(key)
            if found is not None:
                self._completers[id(field_details_list)] = (field_details_list, found[1])
                return found[1]
        completer = self._compile(plain.type, field_details_list)
        self._completers[id(field_details_list)] = (field_details_list, completer)
        if shared is not None:
            shared[key] = (tuple(details.node for details in field_details_list), completer)
        return completer

    def _compile(
        self, field_type: GraphQLOutputType, field_details_list: FieldDetailsList
    ) -> Completer | None:
        """A completer for a value of `field_type` selected by these fields, if all plain."""
        named = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
        inner: Completer | None
        if is_leaf_type(named):
            inner = _leaf_completer(named)
        elif isinstance(named, GraphQLList):
            inner = self._compile_list(named, field_details_list)
        elif isinstance(named, GraphQLObjectType):
            inner = self._compile_object(named, field_details_list)
        else:
            inner = None  # interfaces and unions resolve their type: graphql-core's job
        return None if inner is None else _nullable(inner, field_type)

    def _compile_list(
        self, list_type: GraphQLList[Any], field_details_list: FieldDetailsList
    ) -> Completer | None:
        item = self._compile(list_type.of_type, field_details_list)
        if item is None:
            return None

        def complete_list(value: Any) -> Any:
            if not isinstance(value, list | tuple):
                return MISSING
            completed = []
            for element in value:
                result = item(element)
                if result is MISSING:
                    return MISSING
                completed.append(result)
            return completed

        return complete_list

    def _compile_object(
        self, object_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> Completer | None:
        definition = (object_type.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if getattr(definition, "is_type_of", None) is not None:
            return None  # a type's own is_type_of may need the resolve info
        grouped_field_set, defer_usages, _ = self.collect_subfields(object_type, field_details_list)
        if defer_usages:
            return None
        fields: list[tuple[str, PlainField | None, Completer | None]] = []
        for response_name, sub_fields in grouped_field_set.items():
            node = sub_fields[0].node
            if any(details.node.directives for details in sub_fields):
                return None
            if node.name.value == "__typename":
                fields.append((response_name, None, None))
                continue
            key = (object_type.name, node.name.value)
            plain = self._fields.get(key)
            if plain is not None and node.arguments:
                plain = self._with_literal_arguments(plain, object_type, node)
            if plain is None:
                return None
            complete = plain.leaf or self._compile(plain.type, sub_fields)
            if complete is None:
                return None
            fields.append((response_name, plain, complete))
        return _object_completer(object_type, fields, self.is_awaitable, self._budget) or (
            _object_closure(object_type, fields, self.is_awaitable)
        )

    def _with_literal_arguments(
        self, plain: PlainField, object_type: GraphQLObjectType, node: FieldNode
    ) -> PlainField | None:
        """`plain` read with the node's arguments, when it is a PURE method and every
        argument is a literal (a completer built with them is the same for every run)."""
        if plain.call is None or any(
            _has_variables(argument.value) for argument in node.arguments or ()
        ):
            return None
        try:
            arguments = get_argument_values(object_type.fields[node.name.value], node)
        except Exception:  # an invalid literal: graphql-core's path reports it
            return None
        return plain.with_arguments(arguments)

    def complete_object_value(  # noqa: PLR0917 - graphql-core's signature
        self,
        return_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> AwaitableOrValue[Any]:
        """A resolver's PrebuiltJSON is already complete (schema.runtime.prebuilt)."""
        if type(result) is PrebuiltJSON:
            return result
        return super().complete_object_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        """graphql-core's `execute_fields`, with plain fields completed in line."""
        results: dict[str, Any] = {}
        awaitable_fields: list[str] = []
        fields = self._fields
        type_name = parent_type.name
        try:
            for response_name, field_details_list in grouped_field_set.items():
                node = field_details_list[0].node
                plain = (
                    None
                    if node.arguments or node.directives
                    else fields.get((type_name, node.name.value))
                )
                if plain is not None:
                    value = self._complete_plain(plain, field_details_list, source_value)
                    if value is not MISSING:
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

    def _complete_plain(
        self, plain: PlainField, field_details_list: FieldDetailsList, source_value: Any
    ) -> Any:
        if len(field_details_list) > 1 and any(
            details.node.directives for details in field_details_list
        ):
            return MISSING
        complete = self._completer_for(plain, field_details_list)
        if complete is None:
            return MISSING
        raw = plain.read(source_value)
        return MISSING if raw is MISSING else complete(raw)

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
