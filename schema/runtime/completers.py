"""Completers: functions that turn a plain field's raw value into its response value.

Leaves of the built-in scalars pass through exact-type checks; other leaves go
through the scalar's own coercion. An object selection gets one generated function
(`_object_completer`: reads in one try, built-in scalars checked in line, as
dataclasses build `__init__`), compiled once per shape within a budget per request
and per process (`CompileBudget`); past it, a closure does the same work.

One value is left unformatted: an aware UTC `datetime` of Strawberry's DateTime
stays a datetime in the result, for the response's JSON encoder
(`web/responses.encode_json`), which writes it exactly as the scalar's
`isoformat()` would (`TaskqlSchema.execute` writes it as text for other callers).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import Enum, EnumMeta
from inspect import isawaitable
from math import isfinite
from types import CodeType, FunctionType, GeneratorType
from typing import Any, Final
from uuid import UUID

from graphql import (
    GraphQLEnumType,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    Undefined,
)
from strawberry.schema.types.base_scalars import isoformat as strawberry_isoformat

from schema.runtime.plain import MISSING, Completer, PlainField

INT_MIN, INT_MAX = -(2**31), 2**31 - 1


# Values of these types are never awaitable, so they skip inspect.isawaitable.
_NEVER_AWAITABLE = frozenset({str, int, float, bool, bytes, datetime, date, time, Decimal, UUID})


def _coerced(coerce: Callable[[Any], Any], value: Any) -> Any:
    if type(value) not in _NEVER_AWAITABLE and isawaitable(value):  # graphql-core awaits it
        return MISSING
    try:
        coerced = coerce(value)
    except Exception:
        return MISSING
    return MISSING if coerced is None or coerced is Undefined else coerced


_NAMESPACE: Final[dict[str, Any]] = {
    "MISSING": MISSING,
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

    __slots__ = ("counted", "left")
    process_left: int = MAX_COMPILED_PER_PROCESS
    compiled: int = 0
    """Completers of object selections compiled in this process so far (what tests count)."""

    def __init__(self, left: int | None = None, *, counted: bool = True) -> None:
        self.left = MAX_COMPILED_PER_REQUEST if left is None else left
        self.counted = counted

    def spend(self) -> bool:
        if self.left <= 0 or (self.counted and CompileBudget.process_left <= 0):
            return False
        self.left -= 1
        if self.counted:
            CompileBudget.process_left -= 1
            CompileBudget.compiled += 1
        return True


UNLIMITED = CompileBudget(left=2**62, counted=False)
"""For the completers of a schema's leaf types: a handful per schema (one source per
built-in scalar, whatever the schema), built once; never refused."""


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
            return MISSING if value is None else complete(value)

        return complete_non_null

    def complete_nullable(value: Any) -> Any:
        return None if value is None else complete(value)

    return complete_nullable


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
                return MISSING
            if value_type is not GeneratorType:
                settled_types.add(value_type)
        # Only Strawberry's own is_type_of is left here, and it ignores its info.
        if is_type_of is not None and not is_type_of(value, None):  # type: ignore[arg-type]
            return MISSING
        completed: dict[str, Any] = {}
        for key, read, complete in plan:
            raw = read(value)
            if raw is MISSING:
                return MISSING
            result = complete(raw)  # type: ignore[misc]
            if result is MISSING:
                return MISSING
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
