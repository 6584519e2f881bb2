"""A field's value already written as JSON, and when a resolver may answer one.

A resolver whose whole selection PostgreSQL can write (`schema/task_json.py`) returns
`PrebuiltJSON`: the completed value as JSON text. Only taskql's own execution context
completes it (as itself: `fast_path.PlainFieldExecutionContext.complete_object_value`),
and only the response encoders read it (`web/responses.encode_json` embeds the text,
`documents.json_native` parses it), so it may appear only where all three hold:

- the operation runs on that execution context with no graphql-core middleware (no
  extension's `resolve` hook would see the fields inside the text), and with no schema
  extension at all (their `on_execute` and result hooks would see an opaque value);
- the result goes to `execute_for_encoder`'s callers or through `execute`, which
  parses it.

`TaskqlSchema.execute_for_encoder` opens that window (`answering_json`) around such
an execution only; a resolver asks `may_answer_json()`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_answering_json: ContextVar[bool] = ContextVar("taskql_answering_json", default=False)


class PrebuiltJSON:
    """A completed value as JSON text (an object, in GraphQL's response key order)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"PrebuiltJSON({self.text[:40]!r}...)"


def may_answer_json() -> bool:
    """Whether the running execution completes and encodes a PrebuiltJSON value."""
    return _answering_json.get()


@contextmanager
def answering_json() -> Iterator[None]:
    """Within: resolvers may answer PrebuiltJSON (see the module's docstring)."""
    token = _answering_json.set(True)
    try:
        yield
    finally:
        _answering_json.reset(token)
