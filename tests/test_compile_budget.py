"""The fast path's compile budget: bounded work per document, the same answers past it.

Completers of object selections are generated source compiled once per shape
(`schema/runtime/completers.py`); a request may compile MAX_COMPILED_PER_REQUEST new
shapes and a process MAX_COMPILED_PER_PROCESS, past which closures do the same work.
"""

from __future__ import annotations

import json
import random

import pytest
import strawberry

import schema.runtime.completers
from schema.runtime.completers import CompileBudget
from schema.runtime.fast_path import PlainFieldExecutionContext
from tests.fast_path_world import FAST, STOCK, Case, assert_fast_path_matches_graphql_core, world
from tests.test_execution_fast_path_leaves import LEAVES
from tests.test_execution_fast_path_selections import RESOLVERS, SELECTIONS
from tests.test_execution_fast_path_shapes import DIVERGENCES, SHAPES

SYNC_CASES = SHAPES + RESOLVERS + SELECTIONS + DIVERGENCES + LEAVES


@pytest.mark.parametrize("case", SYNC_CASES)
def test_closures_past_the_compile_budget_match_graphql_core(
    case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no compilation allowed, every selection is completed by closures, as exactly."""
    monkeypatch.setattr(schema.runtime.completers, "MAX_COMPILED_PER_REQUEST", 0)
    compiled = CompileBudget.compiled
    assert_fast_path_matches_graphql_core(case)
    assert CompileBudget.compiled == compiled


ITEM_FIELDS = ["id", "title", "note", "done", "rank", "score", "color", "due", "tags", "shout"]


def shuffled_aliases(seed: int, count: int = 15) -> str:
    """`count` aliases of one object, each selecting the same fields in another order."""
    shuffler = random.Random(seed)
    aliases = []
    for number in range(count):
        fields = ITEM_FIELDS[:]
        shuffler.shuffle(fields)
        aliases.append(f"a{number}: item {{ {' '.join(fields)} }}")
    return "{ " + " ".join(aliases) + " }"


def test_one_document_compiles_a_bounded_number_of_completers() -> None:
    """15 aliases with shuffled fields are 15 shapes: at most MAX_COMPILED_PER_REQUEST of
    them are compiled, the rest completed by closures, every answer as graphql-core's."""
    for seed in range(3):
        query = shuffled_aliases(1000 + seed)
        compiled = CompileBudget.compiled
        fast = FAST.execute_sync(query, root_value=world())
        assert (
            CompileBudget.compiled - compiled <= schema.runtime.completers.MAX_COMPILED_PER_REQUEST
        )
        assert CompileBudget.compiled - compiled > 0
        stock = STOCK.execute_sync(query, root_value=world())
        assert fast.errors is None
        assert json.dumps(fast.data, default=str) == json.dumps(stock.data, default=str)
        assert list(fast.data["a3"]) == list(stock.data["a3"])  # type: ignore[index]


def test_a_process_compiles_a_bounded_number_of_completers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(CompileBudget, "process_left", 2)
    compiled = CompileBudget.compiled
    for seed in range(3):
        query = shuffled_aliases(2000 + seed)
        fast = FAST.execute_sync(query, root_value=world())
        stock = STOCK.execute_sync(query, root_value=world())
        assert json.dumps(fast.data, default=str) == json.dumps(stock.data, default=str)
    assert CompileBudget.compiled - compiled == 2


@strawberry.type
class Libro:
    título: str = strawberry.field(name="titulo")  # noqa: PLC2401 - the point of the test
    año: int = strawberry.field(name="anio")  # noqa: PLC2401


@strawberry.type
class Biblioteca:
    @strawberry.field
    def libros(self) -> list[Libro]:
        return [Libro(título="Niebla", año=1914)]


def test_generated_source_names_only_ascii_attributes() -> None:
    """Python reads identifiers in source NFKC-normalised (`ﬁeld` is `field`): attributes
    that are not plain ASCII are read by their reader, never written into source."""
    query = "{ libros { titulo anio } }"
    fast = strawberry.Schema(query=Biblioteca, execution_context_class=PlainFieldExecutionContext)
    stock = strawberry.Schema(query=Biblioteca)
    assert fast.execute_sync(query).data == stock.execute_sync(query).data
    assert fast.execute_sync(query).data == {"libros": [{"titulo": "Niebla", "anio": 1914}]}
    assert all(source.isascii() for source in schema.runtime.completers._codes)
