"""Relay connections: page arguments, opaque cursors and `PageInfo`.

A cursor carries the row's position in its ordering (sort value and id), so a
page boundary survives rows being added or deleted around it. It is signed with
a key derived from the server secret and the viewer's id: a cursor that was
tampered with, made for another ordering, or issued to another user is
rejected as `BAD_USER_INPUT` exactly like garbage, and can never select rows.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar

import strawberry

from db.pagination import Ordering, PageRequest, Position, SortField, SortValue
from errors import BadUserInput
from resolvers.text import is_storable_text
from schema.node import MAX_PK
from schema.runtime.plain import PURE
from settings import Settings

T = TypeVar("T")

OMITTED: Any = strawberry.UNSET
"""The Python default of an optional argument that has no default in the SDL, as in
CONTRACT.md (`first: Int`, not `first: Int = null`): graphql-core then passes only
the arguments a client gave, and Strawberry converts only those. Read through `given`."""


def given(value: T | None) -> T | None:
    """An optional argument's value; None when it was left out (OMITTED) or null."""
    return None if value is OMITTED else value


MAC_BYTES = 12
INVALID_CURSOR = "Invalid cursor."
SMALLINT_MIN, SMALLINT_MAX = -(2**15), 2**15 - 1  # the priority column


@lru_cache(maxsize=4096)
def _viewer_key(secret: str, user_id: int) -> bytes:
    return hmac.digest(secret.encode(), f"taskql-cursor:{user_id}".encode(), "sha256")


class CursorCodec:
    """Encodes and verifies the cursors of one viewer's connections in one ordering."""

    __slots__ = ("_field", "_key", "_prefix")

    def __init__(self, *, secret: str, user_id: int, ordering: Ordering) -> None:
        self._key = _viewer_key(secret, user_id)
        self._field = ordering.field
        self._prefix = f"{ordering.field.value}|{'d' if ordering.descending else 'a'}|"

    def encode(self, position: Position) -> str:
        payload = f"{self._prefix}{position.id}|{_encode_value(position.value)}".encode()
        mac = hmac.digest(self._key, payload, "sha256")[:MAC_BYTES]
        return base64.urlsafe_b64encode(mac + payload).decode("ascii")

    def decode(self, cursor: str, *, argument: str) -> Position:
        try:
            raw = base64.urlsafe_b64decode(cursor.encode("ascii"))
        except (ValueError, binascii.Error):
            raise BadUserInput(INVALID_CURSOR, field=argument) from None
        mac, payload = raw[:MAC_BYTES], raw[MAC_BYTES:]
        expected = hmac.digest(self._key, payload, "sha256")[:MAC_BYTES]
        if not hmac.compare_digest(mac, expected):
            raise BadUserInput(INVALID_CURSOR, field=argument)
        text = payload.decode(errors="replace")
        if not text.startswith(self._prefix):
            raise BadUserInput(INVALID_CURSOR, field=argument)
        try:
            task_id, value = text[len(self._prefix) :].split("|", 1)
            position = Position(_sort_value(self._field, _decode_value(value)), int(task_id))
        except ValueError:
            raise BadUserInput(INVALID_CURSOR, field=argument) from None
        if not 0 < position.id <= MAX_PK or str(position.id) != task_id:
            raise BadUserInput(INVALID_CURSOR, field=argument)
        return position


@strawberry.type(description="Where a page sits in its connection (Relay Cursor Connections).")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start: strawberry.Private[Position | None]
    end: strawberry.Private[Position | None]
    codec: strawberry.Private[CursorCodec]

    # Signed only when asked for: most pages are read without their cursors.
    @strawberry.field(metadata={PURE: True})
    def start_cursor(self) -> str | None:
        return None if self.start is None else self.codec.encode(self.start)

    @strawberry.field(metadata={PURE: True})
    def end_cursor(self) -> str | None:
        return None if self.end is None else self.codec.encode(self.end)


def _encode_value(value: SortValue) -> str:
    if value is None:
        return "n"
    if isinstance(value, datetime):
        return f"t{value.isoformat()}"
    if isinstance(value, int):
        return f"i{value}"
    return f"s{value}"


def _decode_value(encoded: str) -> SortValue:
    kind, text = encoded[:1], encoded[1:]
    if kind == "n":
        return None
    if kind == "t":
        return datetime.fromisoformat(text)
    if kind == "i":
        return int(text)
    if kind == "s":
        return text
    raise ValueError("unknown sort value")


def _sort_value(field: SortField, value: SortValue) -> SortValue:
    """`value` as `field`'s column holds it; ValueError for anything it cannot hold.

    Cursors are signed, so only a holder of the secret could make these, but a value of
    the wrong type or range must still be refused here, never reach the database.
    """
    if value is None and field.nullable:
        return None
    if field in {SortField.CREATED_AT, SortField.UPDATED_AT, SortField.DUE_AT}:
        if isinstance(value, datetime) and value.utcoffset() is not None:
            try:
                return value.astimezone(UTC)
            except OverflowError:
                raise ValueError("a moment out of range") from None
    elif field is SortField.PRIORITY:
        if isinstance(value, int) and SMALLINT_MIN <= value <= SMALLINT_MAX:
            return value
    elif isinstance(value, str) and is_storable_text(value):
        return value
    raise ValueError(f"not a {field.value} value")


def page_request(
    *,
    settings: Settings,
    codec: CursorCodec,
    ordering: Ordering,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> PageRequest:
    """Validate Relay page arguments: `first` or `last` (default page size), within the maximum."""
    if first is not None and last is not None:
        raise BadUserInput("Pass either first or last, not both.", field="last")
    for name, size in (("first", first), ("last", last)):
        if size is not None and not 0 <= size <= settings.max_page_size:
            raise BadUserInput(
                f"{name} must be between 0 and {settings.max_page_size}.", field=name
            )
    limit = first if first is not None else last
    return PageRequest(
        ordering=ordering,
        limit=settings.default_page_size if limit is None else limit,
        backward=last is not None,
        after=None if after is None else codec.decode(after, argument="after"),
        before=None if before is None else codec.decode(before, argument="before"),
    )
