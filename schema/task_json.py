"""Which task connections PostgreSQL may write as JSON, and the shape it writes.

A connection whose selection holds nothing but data (`edges { node { ... } }` over
task columns, `id`, `tags`, `parent`, `owner` and first-N `subtasks` pages, at any
depth, under any alias or fragment) is answered as one statement's JSON
(`db/task_json.py`) instead of rows completed in Python. Anything else takes the
rows path, which answers every selection: a directive anywhere (its effect may
depend on variables), `cursor`, `pageInfo`, `totalCount`, a subtask page with a
cursor or `last`, arguments that do not validate (the field reports them), a field
this module does not know.

Each field written this way must still be a plain field of the schema (`plain`: no
permission class, no field extension, the default resolver), as the fast path
requires of any field it completes without Strawberry; and the execution must let
resolvers answer JSON (`schema.runtime.prebuilt`): no schema extension, no resolve
hook. So nothing configured on a field is skipped: such a field takes the rows path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from weakref import ref

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql.execution.values import VariableValues, get_argument_values

from db.pagination import PageRequest
from db.task_json import (
    Column,
    Edges,
    EnumName,
    GlobalId,
    Member,
    Node,
    Owner,
    Parent,
    Shape,
    Subtasks,
    Tags,
    Text,
    edge_json,
)
from errors import TaskqlError
from schema.runtime.fast_path import plain_fields
from schema.runtime.plain import FieldIndex
from schema.runtime.prebuilt import PrebuiltJSON, may_answer_json
from schema.task_arguments import PRIORITIES

SubtaskPage = Callable[[dict[str, Any]], PageRequest]
"""A `subtasks(...)` field's coerced arguments -> its validated page (raises TaskqlError)."""

TASK_DATA: dict[str, Member] = {
    "id": GlobalId("Task"),
    "title": Column("title"),
    "description": Column("description"),
    "completed": Column("completed"),
    "completedAt": Column("completed_at", "datetime"),
    "priority": EnumName("priority", tuple(priority.name for priority in PRIORITIES)),
    "dueAt": Column("due_at", "datetime"),
    "createdAt": Column("created_at", "datetime"),
    "updatedAt": Column("updated_at", "datetime"),
    "tags": Tags(),
}
"""Task fields that are a column of the task's row, written as the field writes it."""

USER_DATA: dict[str, Member] = {
    "id": GlobalId("User"),
    "email": Column("email"),
    "name": Column("name"),
    "createdAt": Column("created_at", "datetime"),
    "emailVerified": Column("email_verified"),
    "role": Column("role"),
    "suspended": Column("suspended_at", "present"),
}


class _Unsupported(Exception):
    """The selection holds something only the rows path answers."""


@dataclass(frozen=True, slots=True)
class ConnectionJSON:
    """A task connection to answer as JSON: its keys, and each edge's SQL."""

    keys: tuple[tuple[str, str | None], ...]
    """(response key, its JSON text, or None for the edges list) in response order."""
    edge_sql: str

    def answer(self, edges: Sequence[str]) -> PrebuiltJSON:
        """The connection's JSON, given its page's edges (each an edge's JSON text)."""
        listed = f"[{','.join(edges)}]"
        members = (f'"{key}":{listed if text is None else text}' for key, text in self.keys)
        return PrebuiltJSON(f"{{{','.join(members)}}}")


def connection_json(info: Any, subtask_page: SubtaskPage) -> ConnectionJSON | None:
    """How to answer this task connection field as JSON; None when it takes the rows path."""
    if not may_answer_json():
        return None
    raw = info._raw_info
    operation = raw.operation
    # Without variables the plan depends only on the document's nodes and the schema:
    # made once per document (while the parse cache keeps it), not once per request.
    if operation.variable_definitions:
        return _plan(raw, subtask_page)
    key = (id(operation), id(raw.schema), *map(id, raw.field_nodes))
    found = _plans.get(key)
    if found is not None and found[0]() is operation:
        return found[1]
    plan = _plan(raw, subtask_page)

    def forget(_: ref[OperationDefinitionNode]) -> None:
        _plans.pop(key, None)

    _plans[key] = (ref(operation, forget), plan)
    return plan


# (id of the operation node, of the schema, of the field's nodes) -> (a weak reference to
# the operation, its plan): an entry goes with its operation node, when the parse cache
# lets go of the document. Ids, not the nodes, are the keys: nodes hash by content.
_plans: dict[tuple[int, ...], tuple[ref[OperationDefinitionNode], ConnectionJSON | None]] = {}


def _plan(raw: Any, subtask_page: SubtaskPage) -> ConnectionJSON | None:
    fields = plain_fields(raw.schema)
    if not fields:
        return None
    try:
        return _Planner(raw, fields, subtask_page).connection(raw.field_nodes)
    except _Unsupported:
        return None


class _Planner:
    def __init__(self, raw: Any, fields: FieldIndex, subtask_page: SubtaskPage) -> None:
        self.schema = raw.schema
        self.fragments = raw.fragments
        given: Any = raw.variable_values
        self.variables = (
            given
            if isinstance(given, VariableValues)
            else VariableValues(sources={}, coerced=given)
        )
        self.fields = fields
        self.subtask_page = subtask_page

    def connection(self, nodes: Sequence[FieldNode]) -> ConnectionJSON:
        keys: list[tuple[str, str | None]] = []
        edge: Shape | None = None
        for key, selected in self.collect(nodes, "TaskConnection").items():
            if selected[0].name.value == "__typename":
                keys.append((key, '"TaskConnection"'))
            elif selected[0].name.value == "edges" and edge is None:
                self.require_plain("TaskConnection", "edges")
                edge = self.edge(selected)
                keys.append((key, None))
            else:
                raise _Unsupported
        if edge is None:
            raise _Unsupported
        return ConnectionJSON(keys=tuple(keys), edge_sql=edge_json(edge))

    def edge(self, nodes: Sequence[FieldNode]) -> Shape:
        shape: list[tuple[str, Member]] = []
        for key, selected in self.collect(nodes, "TaskEdge").items():
            name = selected[0].name.value
            if name == "__typename":
                shape.append((key, Text("TaskEdge")))
            elif name == "node":
                self.require_plain("TaskEdge", "node")
                shape.append((key, Node(self.task(selected))))
            else:
                raise _Unsupported
        return tuple(shape)

    def task(self, nodes: Sequence[FieldNode]) -> Shape:
        shape: list[tuple[str, Member]] = []
        for key, selected in self.collect(nodes, "Task").items():
            name = selected[0].name.value
            if name == "__typename":
                shape.append((key, Text("Task")))
                continue
            self.require_plain("Task", name)
            member = TASK_DATA.get(name)
            if member is None:
                member = self.task_relation(name, selected)
            shape.append((key, member))
        return tuple(shape)

    def task_relation(self, name: str, nodes: Sequence[FieldNode]) -> Member:
        if name == "parent":
            return Parent(self.task(nodes))
        if name == "owner":
            return Owner(self.user(nodes))
        if name == "subtasks":
            return self.subtasks(nodes)
        raise _Unsupported

    def user(self, nodes: Sequence[FieldNode]) -> Shape:
        shape: list[tuple[str, Member]] = []
        for key, selected in self.collect(nodes, "User").items():
            name = selected[0].name.value
            if name == "__typename":
                shape.append((key, Text("User")))
                continue
            self.require_plain("User", name)
            member = USER_DATA.get(name)
            if member is None:
                raise _Unsupported
            shape.append((key, member))
        return tuple(shape)

    def subtasks(self, nodes: Sequence[FieldNode]) -> Subtasks:
        task_type = self.schema.type_map["Task"]
        try:
            arguments = get_argument_values(task_type.fields["subtasks"], nodes[0], self.variables)
            request = self.subtask_page(arguments)
        except (GraphQLError, TaskqlError):
            raise _Unsupported from None  # the field reports it
        if request.backward or request.after is not None or request.before is not None:
            raise _Unsupported
        connection: list[tuple[str, Member]] = []
        for key, selected in self.collect(nodes, "TaskConnection").items():
            name = selected[0].name.value
            if name == "__typename":
                connection.append((key, Text("TaskConnection")))
            elif name == "edges":
                self.require_plain("TaskConnection", "edges")
                connection.append((key, Edges(self.edge(selected))))
            else:
                raise _Unsupported
        return Subtasks(request.limit, request.ordering, tuple(connection))

    def require_plain(self, type_name: str, field_name: str) -> None:
        if (type_name, field_name) not in self.fields:
            raise _Unsupported

    def collect(self, nodes: Sequence[FieldNode], type_name: str) -> dict[str, list[FieldNode]]:
        """The fields the nodes select on `type_name`, by response key, through fragments."""
        object_type = self.schema.type_map[type_name]
        assert isinstance(object_type, GraphQLObjectType)
        conditions = {type_name, *(interface.name for interface in object_type.interfaces)}
        grouped: dict[str, list[FieldNode]] = {}
        for node in nodes:
            if node.directives:
                raise _Unsupported
            self._walk(node.selection_set, conditions, grouped)
        if not grouped:
            raise _Unsupported
        return grouped

    def _walk(
        self,
        selection_set: SelectionSetNode | None,
        conditions: set[str],
        grouped: dict[str, list[FieldNode]],
    ) -> None:
        for selection in _selections(selection_set):
            if selection.directives:
                raise _Unsupported
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                grouped.setdefault(key, []).append(selection)
                continue
            if isinstance(selection, InlineFragmentNode):
                condition, selections = selection.type_condition, selection.selection_set
            else:
                assert isinstance(selection, FragmentSpreadNode)
                fragment = self.fragments[selection.name.value]
                if fragment.directives:
                    raise _Unsupported
                condition, selections = fragment.type_condition, fragment.selection_set
            if condition is None or condition.name.value in conditions:
                self._walk(selections, conditions, grouped)


def _selections(selection_set: SelectionSetNode | None) -> Iterable[Any]:
    return selection_set.selections if selection_set is not None else ()
