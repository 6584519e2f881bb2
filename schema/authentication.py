"""The bad-token rule: a request whose bearer token fails verification is answered 401.

Only documents that ask for nothing but `signup`, `login`, `refreshToken`,
`requestPasswordReset`, `resetPassword` and `verifyEmail` run despite a bad token,
as anonymous: a client that sends its stale access
token along with its refresh call must still be able to refresh. Everything
else is refused before execution with `UNAUTHENTICATED` (its `reason` saying
whether the token expired), HTTP 401 and `WWW-Authenticate`, per RFC 6750.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationType,
    SelectionSetNode,
)
from graphql.utilities import get_operation_ast

from auth.context import RequestContext
from errors import Unauthenticated

ANONYMOUS_MUTATIONS = frozenset(
    {
        "signup",
        "login",
        "refreshToken",
        "requestPasswordReset",
        "resetPassword",
        "verifyEmail",
        "__typename",
    }
)
BEARER_CHALLENGE = 'Bearer error="invalid_token"'


def _root_field_names(
    selection_set: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode]
) -> Iterator[str]:
    """Root field names, looking through fragments (validation has ruled out cycles)."""
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection.name.value
        elif isinstance(selection, InlineFragmentNode):
            yield from _root_field_names(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            yield from _root_field_names(fragments[selection.name.value].selection_set, fragments)


def runs_anonymously(document: DocumentNode, operation_name: str | None) -> bool:
    """True when the operation asks only for fields that need no user."""
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.MUTATION:
        return False
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    return set(_root_field_names(operation.selection_set, fragments)) <= ANONYMOUS_MUTATIONS


def token_refusal(
    context: object, document: DocumentNode, operation_name: str | None
) -> GraphQLError | None:
    """UNAUTHENTICATED for an operation sent with a bad token, unless it runs anonymously.

    The refusal also sets 401 and `WWW-Authenticate` on the context's response.
    """
    if (
        not isinstance(context, RequestContext)
        or context.viewer.rejection is None
        or runs_anonymously(document, operation_name)
    ):
        return None
    refusal = Unauthenticated(reason=context.viewer.rejection)
    if context.response is not None:
        context.response.status_code = 401
        context.response.headers["WWW-Authenticate"] = BEARER_CHALLENGE
    return GraphQLError(refusal.message, original_error=refusal)
