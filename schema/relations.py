"""How a task's relations are read: now when a statement already read them, later otherwise.

A page of tasks reads each task's tags and parent in its own statement when the
client's selection asks for them (`along`, from the connection field's selection),
and primes the request's dataloaders with them (`db/loaders.py`). A relation field
is then a synchronous method marked PURE (`schema.runtime.fast_path`): it answers from the
loader's cache at once, and the fast path completes it in line with its siblings.
Only a relation nothing read ahead (a task fetched by id, then its parent) waits for
its loader: the method then returns an awaitable that graphql-core awaits; the fast
path leaves such a field to graphql-core.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiodataloader import DataLoader
from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    InlineFragmentNode,
    SelectionSetNode,
)
from graphql.execution.values import VariableValues, get_argument_values

from auth.context import Info
from db.task_rows import NOTHING_ALONG, Along

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")


class Later(Generic[T]):
    """An awaitable that starts its work only when awaited: one the fast path looks at
    and leaves for graphql-core costs nothing and warns of nothing."""

    __slots__ = ("_start",)

    def __init__(self, start: Callable[[], Awaitable[T]]) -> None:
        self._start = start

    def __await__(self) -> Generator[Any, None, T]:
        return (yield from self._start().__await__())


def loaded(loader: DataLoader[K, V], key: K) -> tuple[bool, Any]:
    """(True, value) when `loader` already holds `key`'s value, else (False, its future)."""
    future = loader.load(key)
    if future.done() and not future.cancelled() and future.exception() is None:
        return True, future.result()
    return False, future


def mapped_later(loader: DataLoader[K, V], key: K, convert: Callable[[V], T]) -> T | Later[T]:
    """`convert` of `key`'s value: now when the loader holds it, else an awaitable of it."""
    ready, value = loaded(loader, key)
    if ready:
        return convert(value)

    async def later() -> T:
        return convert(await value)

    return Later(later)


def _field_names(
    selection_set: SelectionSetNode | None, fragments: dict[str, Any], seen: set[str]
) -> Iterable[FieldNode]:
    """The fields of a selection set, looking through fragments (each spread once)."""
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _field_names(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            seen.add(selection.name.value)
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                yield from _field_names(fragment.selection_set, fragments, seen)


@dataclass(frozen=True, slots=True)
class Ahead:
    """What a task connection's nodes select that can be read before they are completed."""

    along: Along = NOTHING_ALONG
    """Read in the page's own statement: tags, parent, owner."""
    subtasks: tuple[tuple[dict[str, Any], Along], ...] = ()
    """Each `subtasks(...)` selection: its arguments, and what its nodes read along."""


def _node_fields(connection: FieldNode, fragments: dict[str, Any]) -> Iterable[FieldNode]:
    """The fields selected on `edges { node { ... } }` of a connection field."""
    for edges in _field_names(connection.selection_set, fragments, set()):
        if edges.name.value == "edges":
            for node in _field_names(edges.selection_set, fragments, set()):
                if node.name.value == "node":
                    yield from _field_names(node.selection_set, fragments, set())


def _along(fields: list[FieldNode]) -> Along:
    names = {field.name.value for field in fields}
    if not names & {"tags", "parent", "owner"}:
        return NOTHING_ALONG
    return Along(tags="tags" in names, parent="parent" in names, owner="owner" in names)


def look_ahead(info: Info) -> Ahead:
    """What a task connection's nodes select, under any alias, fragment or directive
    (reading what @skip leaves out costs a little, never a wrong answer). Subtask
    selections whose arguments do not coerce are left to the field, which reports them."""
    raw = info._raw_info
    fragments = raw.fragments
    fields = [
        field for connection in raw.field_nodes for field in _node_fields(connection, fragments)
    ]
    task_type = raw.schema.type_map["Task"]
    assert isinstance(task_type, GraphQLObjectType)
    subtasks_field = task_type.fields["subtasks"]
    subtasks = []
    # Strawberry's resolve info holds the coerced variables; graphql-core reads them there.
    given: Any = raw.variable_values
    variables = (
        given if isinstance(given, VariableValues) else VariableValues(sources={}, coerced=given)
    )
    for field in fields:
        if field.name.value != "subtasks":
            continue
        try:
            arguments = get_argument_values(subtasks_field, field, variables)
        except GraphQLError:
            continue
        subtasks.append((arguments, _along(list(_node_fields(field, fragments)))))
    return Ahead(
        along=_along(fields),
        subtasks=tuple(subtasks),
    )
