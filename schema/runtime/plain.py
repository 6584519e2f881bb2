"""What a plain field is, and how one is read.

A *plain* field is one Strawberry marks basic (no resolver, no permission, no field
extension), or a synchronous method marked `PURE` that needs nothing but `self` and,
if any, arguments of built-in scalar types. The fast path (`fast_path`) completes
such fields without graphql-core's per-field machinery; a reader that meets anything
unusual answers MISSING, and graphql-core's own path takes the field from the start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Final

from graphql import GraphQLField, GraphQLOutputType, get_named_type
from strawberry.types.field import StrawberryField

PURE: Final = "taskql.pure"
"""Field metadata key: `strawberry.field(metadata={PURE: True})` on a synchronous
method that only reads `self`, has no side effects and may safely run twice."""


MISSING: Any = object()


Reader = Callable[[Any], Any]
"""source -> the raw value, or MISSING."""


Completer = Callable[[Any], Any]
"""raw value -> the response value, or MISSING when graphql-core must take over."""


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


def _attribute_reader(name: str) -> Reader:
    def read(source: Any) -> Any:
        try:
            return getattr(source, name)
        except Exception:  # a property or lazy attribute that raises: graphql-core reports it
            return MISSING

    return read


def _pure_reader(function: Callable[[Any], Any]) -> Reader:
    def read(source: Any) -> Any:
        try:
            return function(source)
        except Exception:  # graphql-core's path runs it again and reports the error
            return MISSING

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
