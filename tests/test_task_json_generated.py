"""Generated task selections answer byte for byte as stock Strawberry (db/task_json.py).

Hypothesis draws selections of every written task and user field, relations two
levels deep (`parent`, `owner`, first-N `subtasks`) and fragments on Task and Node,
under page sizes 0 to 12, over tests/test_task_json.py's awkward rows; each runs on
taskql and on a stock `strawberry.Schema` of the same types. On PostgreSQL every one
is written by the database, which the test asserts. TASKQL_JSON_EXAMPLES (60) sets
how many are drawn.
"""

from __future__ import annotations

import asyncio
import os

import httpx
from fastapi import FastAPI
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from tests.test_nested_fast_path import _client, apps  # noqa: F401 - a fixture
from tests.test_task_json import make_rows, pages_asked  # noqa: F401 - a fixture
from tests.test_tasks import user_token

GENERATED = int(os.environ.get("TASKQL_JSON_EXAMPLES", "60"))
"""How many selections Hypothesis draws."""

TASK_LEAVES = (
    "id",
    "title",
    "description",
    "completed",
    "completedAt",
    "priority",
    "dueAt",
    "createdAt",
    "updatedAt",
    "tags",
    "__typename",
)
USER_LEAVES = ("id", "email", "name", "createdAt", "emailVerified", "role", "suspended")


def _selection(items: list[str]) -> str:
    """Fields; each relation under an alias of its own position, so that two relations
    with different selections do not conflict (leaves merge; aliases are limited)."""
    return " ".join(
        f"r{number}: {item}" if "{" in item else item for number, item in enumerate(items)
    )


def task_selections(depth: int) -> st.SearchStrategy[str]:
    """Random selections on Task: leaves, relations (while depth lasts), fragments."""
    items: st.SearchStrategy[str] = st.sampled_from(TASK_LEAVES)
    if depth > 0:
        inner = task_selections(depth - 1)
        users = st.lists(st.sampled_from(USER_LEAVES), min_size=1, max_size=3)
        items = st.one_of(
            items,
            inner.map(lambda selection: f"parent {{ {selection} }}"),
            users.map(lambda fields: f"owner {{ {_selection(fields)} }}"),
            st.tuples(st.integers(0, 3), inner).map(
                lambda page: f"subtasks(first: {page[0]}) {{ edges {{ node {{ {page[1]} }} }} }}"
            ),
        )
    listed = st.lists(items, min_size=1, max_size=3).map(_selection)
    return st.one_of(
        listed,
        listed.map(lambda selection: f"... on Task {{ {selection} }}"),
        listed.map(lambda selection: f"{selection} ... on Node {{ id __typename }}"),
    )


async def test_generated_selections_answer_as_stock_strawberry(
    client: httpx.AsyncClient,
    apps: dict[str, FastAPI],  # noqa: F811 - the fixture
    database_kind: str,
    pages_asked: list[object],  # noqa: F811 - the fixture
) -> None:
    """Hypothesis draws selections of task fields, relations and fragments (2 levels deep);
    taskql answers each as stock Strawberry does, byte for byte (on PostgreSQL, written)."""
    token = await user_token(client, "generated@example.com")
    await make_rows(client, token)
    loop = asyncio.get_running_loop()
    clients = {name: _client(app) for name, app in apps.items()}

    async def answers(document: str) -> dict[str, bytes]:
        found = {}
        for name, http in clients.items():
            response = await http.post(
                "/graphql",
                json={"query": document},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status_code == 200, response.text
            assert "errors" not in response.json(), response.text
            found[name] = response.content
        return found

    @settings(max_examples=GENERATED, deadline=None, suppress_health_check=list(HealthCheck))
    @given(selection=task_selections(2), size=st.integers(0, 12))
    def same_answers(selection: str, size: int) -> None:
        document = f"{{ tasks(first: {size}) {{ edges {{ node {{ {selection} }} }} }} }}"
        note(document)
        found = asyncio.run_coroutine_threadsafe(answers(document), loop).result(timeout=60)
        assert found["taskql"] == found["stock"]

    try:
        await asyncio.to_thread(same_answers)
    finally:
        for http in clients.values():
            await http.aclose()
    written = sum(page is not None for page in pages_asked)
    assert written >= (GENERATED if database_kind == "postgresql" else 0)
    assert database_kind == "postgresql" or written == 0
