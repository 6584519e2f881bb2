"""Keyset (seek) pagination over the tasks table: never OFFSET, so page 500 costs what page 1 does.

A page is a slice of one total order: the sort column, then the id as tie-break,
both in the requested direction. `due_at` is the only nullable sort column; a
missing due date sorts as the largest value (PostgreSQL's own default, spelled
out so that SQLite agrees), which lets both directions walk the
`(owner_id, due_at, id)` index.

Conditions are built from a page's shape (`PageShape`: what changes the SQL
text), the cursor values left as bound parameters (`page_params`), so that a
statement is built once per shape and reused by every request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import BindParameter, ColumnElement, Integer, and_, bindparam, or_, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from db.models import Task

RowT = TypeVar("RowT")
SortValue = datetime | int | str | None


class SortField(StrEnum):
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    DUE_AT = "due_at"
    PRIORITY = "priority"
    TITLE = "title"

    @property
    def column(self) -> InstrumentedAttribute[Any]:
        column: InstrumentedAttribute[Any] = getattr(Task, self.value)
        return column

    @property
    def nullable(self) -> bool:
        return self is SortField.DUE_AT


@dataclass(frozen=True, slots=True)
class Ordering:
    field: SortField = SortField.CREATED_AT
    descending: bool = True

    def reversed(self) -> Ordering:
        return Ordering(self.field, not self.descending)


@dataclass(frozen=True, slots=True)
class Position:
    """Where a row sits in an ordering: its sort value and its id."""

    value: SortValue
    id: int


@dataclass(frozen=True, slots=True)
class PageRequest:
    """One page of one ordering: `limit` rows after `after` (or, `backward`, before `before`)."""

    ordering: Ordering
    limit: int
    backward: bool = False
    after: Position | None = None
    before: Position | None = None


@dataclass(frozen=True, slots=True)
class Page(Generic[RowT]):
    """Rows in the requested order, and whether the ordering goes on past either end."""

    rows: list[RowT]
    has_next: bool
    has_previous: bool


@dataclass(frozen=True, slots=True)
class BoundCursor:
    """A cursor as a statement sees it: bound parameters `<name>_value` and `<name>_id`.

    Whether its sort value is NULL changes the SQL, so that is part of it too.
    """

    name: str
    null: bool

    @property
    def id_param(self) -> BindParameter[Any]:
        return bindparam(f"{self.name}_id", type_=Task.id.type)

    def value_param(self, ordering: Ordering) -> BindParameter[Any]:
        return bindparam(f"{self.name}_value", type_=ordering.field.column.type)


@dataclass(frozen=True, slots=True)
class PageShape:
    """What of a page request changes its SQL text; the values are in `page_params`."""

    ordering: Ordering
    backward: bool
    after: BoundCursor | None
    before: BoundCursor | None

    @classmethod
    def of(cls, request: PageRequest) -> PageShape:
        after, before = request.after, request.before
        return cls(
            request.ordering,
            request.backward,
            after=None if after is None else BoundCursor("after", null=after.value is None),
            before=None if before is None else BoundCursor("before", null=before.value is None),
        )


LIMIT = bindparam("limit", type_=Integer())
"""A page statement's LIMIT: one row more than the page, to learn whether more follow."""


def page_params(request: PageRequest) -> dict[str, Any]:
    """The bound values of `PageShape.of(request)`'s statements."""
    params: dict[str, Any] = {"limit": request.limit + 1}
    for name, position in (("after", request.after), ("before", request.before)):
        if position is not None:
            params[f"{name}_id"] = position.id
            if position.value is not None:
                params[f"{name}_value"] = position.value
    return params


def order_clauses(ordering: Ordering) -> list[ColumnElement[Any]]:
    column, task_id = ordering.field.column, Task.id
    if ordering.descending:
        first = column.desc().nulls_first() if ordering.field.nullable else column.desc()
        return [first, task_id.desc()]
    first = column.asc().nulls_last() if ordering.field.nullable else column.asc()
    return [first, task_id.asc()]


def strictly_after(ordering: Ordering, cursor: BoundCursor) -> ColumnElement[bool]:
    """Rows that come after `cursor` in `ordering` (the row at `cursor` excluded).

    The non-null case is a row-value comparison, which both databases turn into
    an index range rather than a filter.
    """
    column, task_id = ordering.field.column, Task.id
    if cursor.null:
        later_id = task_id < cursor.id_param if ordering.descending else task_id > cursor.id_param
        same_null = and_(column.is_(None), later_id)
        return or_(column.is_not(None), same_null) if ordering.descending else same_null
    key = tuple_(column, task_id)
    bound = tuple_(cursor.value_param(ordering), cursor.id_param)
    beyond = key < bound if ordering.descending else key > bound
    if ordering.field.nullable and not ordering.descending:
        return or_(beyond, column.is_(None))
    return beyond


def strictly_before(ordering: Ordering, cursor: BoundCursor) -> ColumnElement[bool]:
    return strictly_after(ordering.reversed(), cursor)


def at_or_before(ordering: Ordering, cursor: BoundCursor) -> ColumnElement[bool]:
    return at_or_after(ordering.reversed(), cursor)


def at_or_after(ordering: Ordering, cursor: BoundCursor) -> ColumnElement[bool]:
    """Rows from `cursor` on; an inclusive row-value bound where no null is involved,
    so that the probe is an index range too."""
    if cursor.null or ordering.field.nullable:
        return or_(strictly_after(ordering, cursor), Task.id == cursor.id_param)
    key = tuple_(ordering.field.column, Task.id)
    bound = tuple_(cursor.value_param(ordering), cursor.id_param)
    return key <= bound if ordering.descending else key >= bound


def window_conditions(shape: PageShape) -> list[ColumnElement[bool]]:
    """The cursor bounds of a page, as WHERE conditions."""
    conditions = []
    if shape.after is not None:
        conditions.append(strictly_after(shape.ordering, shape.after))
    if shape.before is not None:
        conditions.append(strictly_before(shape.ordering, shape.before))
    return conditions


def fetch_ordering(shape: PageShape) -> Ordering:
    """The order rows are read in: reversed for `last`, so LIMIT keeps the rows nearest `before`."""
    return shape.ordering.reversed() if shape.backward else shape.ordering


def outside_conditions(shape: PageShape) -> ColumnElement[bool] | None:
    """Rows beyond the cursor on the side the page does not read, if a cursor marks it.

    With `first`/`after` that is the `after` row and everything before it; with
    `last`/`before`, the `before` row and everything after it. The Relay spec lets
    a server answer `hasPreviousPage` (or `hasNextPage`) from them when it can do
    so cheaply; one index probe is cheap.
    """
    if shape.backward:
        if shape.before is None:
            return None
        return at_or_after(shape.ordering, shape.before)
    if shape.after is None:
        return None
    return at_or_before(shape.ordering, shape.after)


def page_from_rows(request: PageRequest, rows: Sequence[RowT], *, outside: bool) -> Page[RowT]:
    """Trim the one extra row fetched to learn whether more follow, and restore the order."""
    more = len(rows) > request.limit
    kept = list(rows[: request.limit])
    if request.backward:
        kept.reverse()
        return Page(kept, has_next=outside, has_previous=more)
    return Page(kept, has_next=more, has_previous=outside)
