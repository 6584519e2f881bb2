"""The migrations build exactly the tables `db/models.py` describes, on both databases."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi import FastAPI
from sqlalchemy.engine import Connection

from db.models import Base


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_models_match_the_migrated_database(app: FastAPI) -> None:
    async with app.state.services.engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    assert differences == []
