"""Small pieces of running an operation: which operation runs, its parse, custom
directives in a document, and JSON-native result data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from graphql import DirectiveNode, DocumentNode, GraphQLError, GraphQLSyntaxError, visit
from graphql.language import Visitor
from strawberry.extensions.directives import SPECIFIED_DIRECTIVES

from schema.runtime.limits import LimitExceeded, chosen_operation, parse_document
from schema.runtime.prebuilt import PrebuiltJSON


def request_id_of(context: object) -> str:
    return str(getattr(context, "request_id", ""))


def run_name(document: DocumentNode, operation_name: str | None) -> str | None:
    """The name of the operation that runs: the first one when none is given."""
    if operation_name is not None:
        return operation_name
    first = chosen_operation(document, None)
    return first.name.value if first and first.name else None


def parse_checked(query: str, max_tokens: int) -> DocumentNode | list[GraphQLError]:
    parsed = parse_document(query, max_tokens)
    if isinstance(parsed, LimitExceeded):
        return [parsed.error()]
    if isinstance(parsed, GraphQLSyntaxError):
        return [parsed]
    return parsed


class _CustomDirectiveFinder(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_directive(self, node: DirectiveNode, *_: object) -> object:
        if node.name.value not in SPECIFIED_DIRECTIVES:
            self.found = True
            return self.BREAK
        return None


def uses_custom_directives(document: DocumentNode) -> bool:
    """Whether a directive other than @include and @skip appears anywhere in `document`."""
    finder = _CustomDirectiveFinder()
    visit(document, finder)
    return finder.found


def json_native(value: Any) -> Any:
    """`value` with what the fast path leaves for the encoder made JSON-native: datetimes
    written as text, PrebuiltJSON parsed (schema.runtime.prebuilt).

    Only an aware UTC datetime of Strawberry's DateTime scalar is ever left (see
    `schema.runtime.fast_path`), and its text is `isoformat()`, as the scalar writes it.
    """
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, _LEFT_FOR_ENCODER):
                value[key] = json_native(item)
        return value
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, _LEFT_FOR_ENCODER):
                value[index] = json_native(item)
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, PrebuiltJSON):
        return orjson.loads(value.text)
    return value


_LEFT_FOR_ENCODER = (dict, list, datetime, PrebuiltJSON)
