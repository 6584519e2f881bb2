"""What the fuzz tests send (tests/test_fuzz.py): documents and typed variables.

Documents come from `hypothesis-graphql`, built from the committed `schema.graphql`,
valid ones and ones with a schema violation. Variables follow their types in the
schema, with values that mix what taskql made (ids, cursors, tokens) with the kinds
that found crashes before: integers past int64, lone surrogates, NUL, naive and
out-of-range datetimes, forged ids, cursors and tokens signed with the test secret,
and now and then a value of another type altogether.
"""

from __future__ import annotations

import base64
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import hypothesis_graphql
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    OperationDefinitionNode,
    build_schema,
    parse,
)
from graphql.utilities import type_from_ast
from hypothesis import strategies as st
from hypothesis_graphql import nodes

from schema.pagination import MAC_BYTES
from tests.helpers import TEST_SECRET

SCHEMA_SDL = (Path(__file__).resolve().parent.parent / "schema.graphql").read_text()

HUGE_INTEGERS = st.sampled_from([2**31, 2**53 + 1, 2**63 - 1, 2**63, -(2**63) - 1, 2**64, 10**30])
HOSTILE_TEXT = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec=None), max_size=12),  # lone surrogates included
    st.sampled_from(["", " ", "\x00", "a\x00b", "\ud800", "x" * 300, "Task:1", "%s", "'; --"]),
)
DATETIMES = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat()),
    st.datetimes().map(lambda moment: moment.isoformat()),  # naive
    st.sampled_from(
        [
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-14:00",
            "2030-01-31T09:00:00Z",
            "2030-02-30T00:00:00Z",
            "not a date",
        ]
    ),
)
ENUM_VALUES = st.sampled_from(
    [
        "NONE",
        "LOW",
        "MEDIUM",
        "HIGH",
        "URGENT",
        "CREATED_AT",
        "UPDATED_AT",
        "DUE_AT",
        "PRIORITY",
        "TITLE",
        "ASC",
        "DESC",
        "Task",
        "User",
    ]
)
INPUT_FIELDS = st.sampled_from(
    [
        "title",
        "description",
        "priority",
        "dueAt",
        "tags",
        "parentId",
        "completed",
        "email",
        "password",
        "name",
        "search",
        "dueBefore",
        "dueAfter",
        "topLevel",
        "field",
        "direction",
    ]
)


@dataclass
class World:
    """What a fuzz test knows of the server's data: one user's tokens, ids and cursors."""

    email: str
    password: str
    user_pk: int = 0
    access_token: str = ""
    refresh_token: str = ""
    ids: list[str] = field(default_factory=list)
    cursors: list[str] = field(default_factory=list)

    def secrets(self) -> list[str]:
        return [token for token in (self.access_token, self.refresh_token) if token]

    @staticmethod
    def known(values: Callable[[], list[str]]) -> st.SearchStrategy[str]:
        """One of `values()` as they are when drawn: the world changes between examples
        (sessions end, tasks go), and Hypothesis needs each draw to take the same shape."""
        return st.integers(0, 63).map(lambda index: _nth(values(), index))


def _nth(values: list[str], index: int) -> str:
    return values[index % len(values)] if values else ""


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of the strategies, each as often as its weight says (`st.one_of` is uniform)."""
    pool = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.sampled_from(pool).flatmap(lambda strategy: strategy)


KEYS = weighted(
    (1, st.integers()), (2, HUGE_INTEGERS), (2, HUGE_INTEGERS.map(str)), (1, HOSTILE_TEXT)
)


def forged_ids() -> st.SearchStrategy[str]:
    """Global ids spelled as taskql spells them, of any type name and key."""
    type_names = weighted((6, st.sampled_from(["Task", "Task", "User", "Tag"])), (1, HOSTILE_TEXT))
    return st.builds(
        lambda name, key: base64.urlsafe_b64encode(
            f"{name}:{key}".encode("utf-8", "surrogatepass")
        ).decode(),
        type_names,
        KEYS,
    )


def forged_cursors(world: World) -> st.SearchStrategy[str]:
    """Cursors signed with the server's key for the world's user, holding any position."""
    orderings = st.sampled_from(["created_at", "updated_at", "due_at", "priority", "title"])
    kinds = st.sampled_from(["n", "t", "i", "s", "x", ""])
    values = st.one_of(KEYS, DATETIMES)

    def sign(ordering: str, direction: str, key: object, kind: str, value: object) -> str:
        mac_key = hmac.digest(
            TEST_SECRET.encode(), f"taskql-cursor:{world.user_pk}".encode(), "sha256"
        )
        payload = f"{ordering}|{direction}|{key}|{kind}{value}".encode("utf-8", "surrogatepass")
        mac = hmac.digest(mac_key, payload, "sha256")[:MAC_BYTES]
        return base64.urlsafe_b64encode(mac + payload).decode()

    return st.builds(sign, orderings, st.sampled_from(["a", "d"]), KEYS, kinds, values)


def forged_tokens(world: World) -> st.SearchStrategy[str]:
    """The world's access or refresh token, signed again with one claim replaced."""
    claims = st.sampled_from(["sub", "sub", "sub", "sid", "jti", "type", "exp", "iat"])
    values = st.one_of(KEYS, st.none(), st.floats(allow_nan=False), st.lists(KEYS, max_size=2))

    def sign(refresh: bool, claim: str, value: object) -> str:
        token = world.refresh_token if refresh else world.access_token
        header, payload, _ = token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
        claims[claim] = value
        signing_input = f"{header}.{_base64url(json.dumps(claims).encode())}"
        signature = hmac.digest(TEST_SECRET.encode(), signing_input.encode(), "sha256")
        return f"{signing_input}.{_base64url(signature)}"

    return st.builds(sign, st.booleans(), claims, values)


def _base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def leaves(world: World) -> st.SearchStrategy[Any]:
    """One JSON value of any kind, often one the server would recognise."""
    known = world.known(lambda: world.ids + world.cursors + world.secrets())
    return st.one_of(
        known,
        known,
        forged_ids(),
        forged_cursors(world),
        forged_tokens(world),
        st.none(),
        st.booleans(),
        st.integers(),
        HUGE_INTEGERS,
        st.floats(),
        HOSTILE_TEXT,
        DATETIMES,
        ENUM_VALUES,
    )


def any_values(world: World) -> st.SearchStrategy[Any]:
    """Leaves, lists of them, and objects whose keys are mostly real input field names."""
    return st.recursive(
        leaves(world),
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(INPUT_FIELDS | st.text(max_size=6), children, max_size=5),
        ),
        max_leaves=12,
    )


@cache
def graphql_schema() -> GraphQLSchema:
    return build_schema(SCHEMA_SDL)


def values_of(
    world: World, graphql_type: GraphQLInputType, *, nested: bool = False
) -> st.SearchStrategy[Any]:
    """Values of `graphql_type`, hostile within it (huge, forged, unstorable), and now and
    then a value of another type altogether (rarely inside objects and lists, so that
    most values still get past coercion to the resolvers)."""
    if isinstance(graphql_type, GraphQLNonNull):
        return values_of(world, graphql_type.of_type, nested=nested)
    if isinstance(graphql_type, GraphQLList):
        typed = st.lists(values_of(world, graphql_type.of_type, nested=True), max_size=4)
    elif isinstance(graphql_type, GraphQLInputObjectType):
        fields = {
            name: values_of(world, field.type, nested=True)
            for name, field in graphql_type.fields.items()
        }
        typed = st.fixed_dictionaries({}, optional=fields)
    elif isinstance(graphql_type, GraphQLEnumType):
        typed = st.sampled_from(list(graphql_type.values)) | ENUM_VALUES
    else:
        typed = _scalar_values(world, graphql_type.name)
    return weighted((20 if nested else 5, typed), (1, any_values(world)))


def _scalar_values(world: World, name: str) -> st.SearchStrategy[Any]:
    if name == "ID":
        return weighted((2, world.known(lambda: world.ids)), (3, forged_ids()))
    if name == "Int":
        return st.integers(-5, 120) | HUGE_INTEGERS
    if name == "Boolean":
        return st.booleans()
    if name == "DateTime":
        return DATETIMES
    return weighted(
        (1, world.known(lambda: world.cursors + world.secrets())),
        (2, forged_cursors(world)),
        (1, forged_tokens(world)),
        (1, HOSTILE_TEXT),
    )


def variables_of(world: World, query: str) -> st.SearchStrategy[dict[str, Any]]:
    """Values for every variable `query` defines, by its type in schema.graphql."""
    schema = graphql_schema()
    operation = parse(query).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    strategies = {}
    for definition in operation.variable_definitions:
        graphql_type = type_from_ast(schema, definition.type)
        assert graphql_type is not None
        strategies[definition.variable.name.value] = values_of(world, graphql_type)
    return st.fixed_dictionaries(strategies)


def documents() -> st.SearchStrategy[str]:
    """Queries and mutations from schema.graphql: valid, with one violation, or plain text."""
    date_times = DATETIMES.map(nodes.String)
    generated = [
        generate(SCHEMA_SDL, custom_scalars={"DateTime": date_times}, codec=codec, mode=mode)
        for generate in (hypothesis_graphql.queries, hypothesis_graphql.mutations)
        for codec in ("utf-8", None)
        for mode in (hypothesis_graphql.Mode.POSITIVE, hypothesis_graphql.Mode.NEGATIVE)
    ]
    return st.one_of(*generated, HOSTILE_TEXT)


VARIABLE_OPERATIONS = (
    "query($id: ID!) { task(id: $id) { id title tags parent { id } subtasks(first: 2) "
    "{ totalCount edges { cursor node { id } } } } }",
    "query($id: ID!) { node(id: $id) { id ... on User { email } } }",
    "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Task { title owner { id } } } }",
    "query($first: Int, $after: String, $last: Int, $before: String, $filter: TaskFilter, "
    "$orderBy: TaskOrder) { tasks(first: $first, after: $after, last: $last, before: $before, "
    "filter: $filter, orderBy: $orderBy) { totalCount edges { cursor node { id title dueAt "
    "priority tags } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }",
    "query($first: Int, $after: String) { me { id email tasks(first: $first, after: $after) "
    "{ totalCount edges { cursor } } } }",
    "mutation($input: CreateTaskInput!) { createTask(input: $input) { id title tags dueAt "
    "parent { id } } }",
    "mutation($id: ID!, $input: UpdateTaskInput!) { updateTask(id: $id, input: $input) "
    "{ id title completed completedAt tags parent { id } } }",
    "mutation($id: ID!) { deleteTask(id: $id) }",
    "mutation($input: SignupInput!) { signup(input: $input) { user { id } } }",
    "mutation($input: LoginInput!) { login(input: $input) { user { id } } }",
    "mutation($token: String!) { refreshToken(refreshToken: $token) { expiresIn } }",
    "mutation($token: String!) { logout(refreshToken: $token) }",
    "mutation($current: String!, $new: String!) { changePassword(currentPassword: $current, "
    "newPassword: $new) { expiresIn } }",
    # Aliases that share loads while a sibling fails: the cancellation finding.
    "query($id: ID!, $first: Int, $last: Int, $after: String) { a: task(id: $id) { tags "
    "owner { id } } b: task(id: $id) { tags subtasks(first: $first, last: $last, "
    "after: $after) { totalCount edges { node { tags parent { id } } } } } }",
    "query($first: Int, $last: Int, $before: String) { tasks(first: 5) { totalCount "
    "edges { node { tags subtasks(first: $first, last: $last, before: $before) { totalCount } "
    "} } } again: tasks(last: $last, before: $before) { totalCount edges { node { id } } } }",
)
