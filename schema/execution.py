"""A shorter path through graphql-core's executor for plain fields.

Most of a task page is fields read straight off an object: `edges`, `node`,
`title`, `completed`, `createdAt`... graphql-core builds a path, a resolve-info
object and Strawberry's resolver wrapper for each of them, and walks its
completion machinery once per object and once per value; on a 20-task page that
is most of the request's CPU time.

A *plain* field is one Strawberry marks basic (no resolver, no permission, no
field extension), or a synchronous method marked `PURE` that needs nothing but
`self`. A plain field without arguments or directives whose whole selection is
plain too (leaves, objects of a concrete type, lists of them) is completed here
by a small reader built once per selection: attribute reads, exact-type checks
for the built-in scalars, and the scalar's own coercion otherwise.

One value is left unformatted: an aware UTC `datetime` of Strawberry's DateTime
stays a datetime in the result, for the response's JSON encoder
(`web/responses.encode_json`), which writes it exactly as the scalar's
`isoformat()` would. Results of this context are meant for that encoder.

Anything unusual in such a subtree (a null where the schema forbids one, a value
a scalar refuses, an object of the wrong type, a pure method that raises) makes
the reader give up, and the field takes graphql-core's own path from the start.
Plain reads have no side effects, so doing them twice is harmless, and errors and
null propagation stay exactly as graphql-core reports them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import Enum, EnumMeta
from functools import partial
from inspect import isawaitable
from keyword import iskeyword
from math import isfinite
from types import CodeType, FunctionType, GeneratorType
from typing import Any, Final
from uuid import UUID
from weakref import WeakKeyDictionary, ref

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLEnumType,
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
    ValueNode,
    VariableNode,
    get_named_type,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.execution.values import get_argument_values
from graphql.pyutils import AwaitableOrValue, Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.schema.types.base_scalars import isoformat as strawberry_isoformat
from strawberry.types.field import StrawberryField

PURE: Final = "taskql.pure"
"""Field metadata key: `strawberry.field(metadata={PURE: True})` on a synchronous
method that only reads `self`, has no side effects and may safely run twice."""

_MISSING: Any = object()
Reader = Callable[[Any], Any]
"""source -> the raw value, or _MISSING."""
Completer = Callable[[Any], Any]
"""raw value -> the response value, or _MISSING when graphql-core must take over."""

INT_MIN, INT_MAX = -(2**31), 2**31 - 1


@dataclass(frozen=True, slots=True)
class PlainField:
    read: Reader
    type: GraphQLOutputType
    leaf: Completer | None
    """The completer of a leaf field, built once per schema; None for objects and lists."""
    attribute: str | None = None
    """The attribute `read` reads, when it reads one."""
    passes: str | None = None
    """For a leaf of a built-in scalar: when a raw value passes as it is (see _pass_through)."""
    call: Callable[..., Any] | None = None
    """A PURE method that takes arguments (built-in scalars only): called with them."""
    python_names: tuple[tuple[str, str], ...] = ()
    """Its arguments' GraphQL names and Python names."""

    def with_arguments(self, arguments: dict[str, Any]) -> PlainField:
        """This field read with literal `arguments` (GraphQL names, coerced values)."""
        assert self.call is not None
        names = dict(self.python_names)
        bound = partial(self.call, **{names[name]: value for name, value in arguments.items()})
        return replace(self, read=_pure_reader(bound), attribute=None)


FieldIndex = dict[tuple[str, str], PlainField]
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


def _attribute_reader(name: str) -> Reader:
    def read(source: Any) -> Any:
        try:
            return getattr(source, name)
        except Exception:  # a property or lazy attribute that raises: graphql-core reports it
            return _MISSING

    return read


def _pure_reader(function: Callable[[Any], Any]) -> Reader:
    def read(source: Any) -> Any:
        try:
            return function(source)
        except Exception:  # graphql-core's path runs it again and reports the error
            return _MISSING

    return read


_SCALAR_ARGUMENTS = frozenset({"Int", "Float", "String", "Boolean", "ID"})
"""Argument types whose coerced values Strawberry passes to a resolver as they are."""


def _reader(
    definition: StrawberryField, field: GraphQLField
) -> tuple[Reader, Callable[..., Any] | None] | None:
    """How a plain field is read, and for a PURE method with arguments the method itself."""
    if definition.extensions:
        return None
    resolver = definition.base_resolver
    if resolver is None:
        return _attribute_reader(definition.python_name), None
    pure = definition.metadata.get(PURE) is True
    only_self = resolver.self_parameter is not None and not (
        resolver.info_parameter or resolver.root_parameter or resolver.parent_parameter
    )
    scalar_arguments = all(
        get_named_type(argument.type).name in _SCALAR_ARGUMENTS for argument in field.args.values()
    )
    function = resolver.wrapped_func
    if pure and only_self and scalar_arguments and not resolver.is_async and callable(function):
        return _pure_reader(function), function if resolver.arguments else None
    return None


# Values of these types are never awaitable, so they skip inspect.isawaitable.
_NEVER_AWAITABLE = frozenset({str, int, float, bool, bytes, datetime, date, time, Decimal, UUID})


def _coerced(coerce: Callable[[Any], Any], value: Any) -> Any:
    if type(value) not in _NEVER_AWAITABLE and isawaitable(value):  # graphql-core awaits it
        return _MISSING
    try:
        coerced = coerce(value)
    except Exception:
        return _MISSING
    return _MISSING if coerced is None or coerced is Undefined else coerced


_NAMESPACE: Final[dict[str, Any]] = {
    "MISSING": _MISSING,
    "UTC": UTC,
    "datetime": datetime,
    "isfinite": isfinite,
    "INT_MIN": INT_MIN,
    "INT_MAX": INT_MAX,
}
"""What generated completers may name, besides the values they are built with."""


MAX_COMPILED_PER_PROCESS = 1024
"""Distinct completer sources a process ever compiles; later new shapes use closures."""
MAX_COMPILED_PER_REQUEST = 8
"""Distinct completer sources one request may compile; its further new shapes use closures."""


class CompileBudget:
    """How many new completer sources may still be compiled: per request, and (the class
    attribute `process_left`) per process. Past either, a selection's completer is a
    closure (`_object_closure`): the same answers, about 1.5x its CPU, no compilation."""

    __slots__ = ("left",)
    process_left: int = MAX_COMPILED_PER_PROCESS
    compiled: int = 0
    """Compilations in this process so far (what tests count)."""

    def __init__(self, left: int | None = None) -> None:
        self.left = MAX_COMPILED_PER_REQUEST if left is None else left

    def spend(self) -> bool:
        if self.left <= 0 or CompileBudget.process_left <= 0:
            return False
        self.left -= 1
        CompileBudget.process_left -= 1
        CompileBudget.compiled += 1
        return True


UNLIMITED = CompileBudget(left=2**62)
"""For the completers of a schema's leaf types: a handful per schema, built once."""
_codes: dict[str, CodeType] = {}


def _function_code(source: str, name: str, budget: CompileBudget) -> CodeType | None:
    """The code of the function `name` that `source` defines, compiled once per source;
    None when it is not compiled yet and `budget` allows no more."""
    code = _codes.get(source)
    if code is None:
        if not budget.spend():
            return None
        module = compile(source, f"<taskql completer {name}>", "exec")
        code = _codes[source] = next(
            constant
            for constant in module.co_consts
            if isinstance(constant, CodeType) and constant.co_name == name
        )
    return code


def _generated(
    source: str, name: str, values: dict[str, Any], budget: CompileBudget = UNLIMITED
) -> Completer | None:
    """The function `name` that `source` defines, with `values` in scope (as dataclasses and
    attrs build their methods: one function per shape, without per-value calls); None past
    the budget."""
    code = _function_code(source, name, budget)
    if code is None:
        return None
    function: Completer = FunctionType(code, _NAMESPACE | values)
    return function


_PASS_THROUGH: Final[dict[str, str]] = {
    "String": "type({v}) is str",
    "ID": "type({v}) is str",
    "Boolean": "type({v}) is bool",
    "Int": "type({v}) is int and INT_MIN <= {v} <= INT_MAX",
    "Float": "type({v}) is float and isfinite({v})",
}
"""When a raw value of a built-in scalar is already its own response value."""

# Strawberry's DateTime formats with isoformat(); the response encoder (orjson) writes an
# aware UTC datetime exactly as isoformat() does, ten times faster, so such values stay
# datetimes. Formatting them here was a fifth of a task page's CPU.
_UTC_DATETIME = "type({v}) is datetime and {v}.tzinfo is UTC"


def _pass_through(leaf_type: GraphQLLeafType) -> str | None:
    """An expression over `{v}`: true when the raw value is already the response value."""
    if leaf_type.name == "DateTime" and leaf_type.serialize is strawberry_isoformat:
        return _UTC_DATETIME
    return _PASS_THROUGH.get(leaf_type.name)


def _leaf_completer(leaf_type: GraphQLLeafType) -> Completer:
    """Exact built-in types pass through; anything else goes through the type's coercion."""
    coerce = leaf_type.coerce_output_value
    passes = _pass_through(leaf_type)
    if passes is not None:
        condition = passes.format(v="value")
        source = (
            "def complete_leaf(value):\n"
            f"    return value if {condition} else coerced(coerce, value)\n"
        )
        leaf = _generated(source, "complete_leaf", {"coerced": _coerced, "coerce": coerce})
        assert leaf is not None  # leaf completers are never out of budget
        return leaf
    wrapped = getattr(leaf_type, "wrapped_cls", None)
    if isinstance(leaf_type, GraphQLEnumType) and isinstance(wrapped, EnumMeta):
        members: list[Enum] = list(wrapped)
        names = {member: _coerced(coerce, member) for member in members}

        def complete_enum(value: Any) -> Any:
            if type(value) is wrapped:
                return names[value]
            return _coerced(coerce, value)

        return complete_enum

    def complete_scalar(value: Any) -> Any:
        return _coerced(coerce, value)

    return complete_scalar


def _nullable(complete: Completer, field_type: GraphQLOutputType) -> Completer:
    if isinstance(field_type, GraphQLNonNull):

        def complete_non_null(value: Any) -> Any:
            return _MISSING if value is None else complete(value)

        return complete_non_null

    def complete_nullable(value: Any) -> Any:
        return None if value is None else complete(value)

    return complete_nullable


def _plain_fields(schema: GraphQLSchema) -> FieldIndex:
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
            {} if middleware is not None and middleware.middlewares else _plain_fields(self.schema)
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
                return _MISSING
            completed = []
            for element in value:
                result = item(element)
                if result is _MISSING:
                    return _MISSING
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

    def _complete_plain(
        self, plain: PlainField, field_details_list: FieldDetailsList, source_value: Any
    ) -> Any:
        if len(field_details_list) > 1 and any(
            details.node.directives for details in field_details_list
        ):
            return _MISSING
        complete = self._completer_for(plain, field_details_list)
        if complete is None:
            return _MISSING
        raw = plain.read(source_value)
        return _MISSING if raw is _MISSING else complete(raw)

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


def _object_closure(
    object_type: GraphQLObjectType,
    fields: list[tuple[str, PlainField | None, Completer | None]],
    is_awaitable: Callable[[Any], bool],
) -> Completer:
    """What `_object_completer` generates, as a closure: for shapes past the compile budget."""
    is_type_of = object_type.is_type_of
    type_name = object_type.name
    settled_types: set[type] = set()
    plan = [(key, plain.read, complete) for key, plain, complete in fields if plain is not None]
    names = [key for key, _, _ in fields]
    typenames = {key for key, plain, _ in fields if plain is None}

    def complete_object(value: Any) -> Any:
        value_type = type(value)
        if value_type not in settled_types:
            if is_awaitable(value):
                return _MISSING
            if value_type is not GeneratorType:
                settled_types.add(value_type)
        # Only Strawberry's own is_type_of is left here, and it ignores its info.
        if is_type_of is not None and not is_type_of(value, None):  # type: ignore[arg-type]
            return _MISSING
        completed: dict[str, Any] = {}
        for key, read, complete in plan:
            raw = read(value)
            if raw is _MISSING:
                return _MISSING
            result = complete(raw)  # type: ignore[misc]
            if result is _MISSING:
                return _MISSING
            completed[key] = result
        return {key: type_name if key in typenames else completed[key] for key in names}

    return complete_object


def _object_completer(
    object_type: GraphQLObjectType,
    fields: list[tuple[str, PlainField | None, Completer | None]],
    is_awaitable: Callable[[Any], bool],
    budget: CompileBudget,
) -> Completer | None:
    """One generated function for one selection on `object_type`; `fields` are the response
    names in order, with how each is read and completed (None, None: `__typename`).

    For `{ id title dueAt }` on Task it reads, with the checks graphql-core would make:

        def complete_object(value):
            <the value is not awaitable, and is a Task>
            try:
                v0 = value.id
                v1 = value.title
                v2 = value.due_at
            except Exception:          # graphql-core's path reports what raised
                return MISSING
            if not (type(v0) is str):  # else the scalar's own coercion, or MISSING
                v0 = complete0(v0)
                if v0 is MISSING:
                    return MISSING
            ...
            return {key0: v0, key1: v1, key2: v2}    # keys: "id", "title", "dueAt"
    """
    values: dict[str, Any] = {
        "settled_types": set(),  # types whose values are never awaitable (not generators)
        "is_awaitable": is_awaitable,
        "GeneratorType": GeneratorType,
        "is_type_of": object_type.is_type_of,
    }
    lines = [
        "def complete_object(value):",
        "    value_type = type(value)",
        "    if value_type not in settled_types:",
        "        if is_awaitable(value):",  # graphql-core awaits it first
        "            return MISSING",
        "        if value_type is not GeneratorType:",
        "            settled_types.add(value_type)",
    ]
    if object_type.is_type_of is not None:
        # Only Strawberry's own is_type_of is left here, and it ignores its info.
        lines += ["    if not is_type_of(value, None):", "        return MISSING"]
    # Response names (a client's aliases) and the type name are values in scope, not
    # text in the source: one compiled function serves every selection of the same shape.
    reads, checks, results = [], [], []
    for number, (response_name, plain, complete) in enumerate(fields):
        name = f"v{number}"
        values[f"key{number}"] = response_name
        if plain is None:  # __typename
            values[f"typename{number}"] = object_type.name
            results.append(f"key{number}: typename{number}")
            continue
        results.append(f"key{number}: {name}")
        values[f"complete{number}"] = complete
        if plain.attribute is not None:
            reads.append(f"        {name} = value.{plain.attribute}")
        else:
            values[f"read{number}"] = plain.read
            reads.append(f"        {name} = read{number}(value)")
            checks += [f"    if {name} is MISSING:", "        return MISSING"]
        if plain.passes is None:
            checks.append(f"    {name} = complete{number}({name})")
        else:
            condition = f"not ({plain.passes.format(v=name)})"
            if not isinstance(plain.type, GraphQLNonNull):
                condition = f"{name} is not None and {condition}"
            checks += [f"    if {condition}:", f"        {name} = complete{number}({name})"]
            checks += [f"        if {name} is MISSING:", "            return MISSING"]
            continue
        checks += [f"    if {name} is MISSING:", "        return MISSING"]
    if reads:
        lines += ["    try:", *reads, "    except Exception:", "        return MISSING"]
    lines += [*checks, f"    return {{{', '.join(results)}}}", ""]
    return _generated("\n".join(lines), "complete_object", values, budget)
