"""Fill a fresh PostgreSQL database for the tasks benchmark.

200 users with 200 tasks each (every fifth a subtask, most with 0 to 3 tags),
plus one "deep" user with 10,200 tasks so that page 500 of `tasks(first: 20)`
exists. Every user's password is PASSWORD. Usage: python bench/seed.py DSN
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta

import asyncpg
import bcrypt

from db import migrate

USERS = 200
TASKS_PER_USER = 200
DEEP_TASKS = 10_200
PASSWORD = "bench-password-123"  # noqa: S105 - a throwaway benchmark account
TAGS = ("work", "home", "urgent", "later", "errand")
START = datetime(2026, 1, 1, tzinfo=UTC)


def email(number: int) -> str:
    return f"user{number}@bench.test"


DEEP_EMAIL = "deep@bench.test"


async def recreate(dsn: str) -> None:
    base, _, name = dsn.rpartition("/")
    admin = await asyncpg.connect(f"{base}/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


def task_records(
    owner_id: int, first_id: int, count: int
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    tasks: list[tuple[object, ...]] = []
    tags: list[tuple[object, ...]] = []
    for index in range(count):
        task_id = first_id + index
        created = START + timedelta(minutes=index)
        parent = first_id + index - 1 if index % 5 == 4 else None
        completed = index % 3 == 0
        tasks.append(
            (
                task_id,
                owner_id,
                parent,
                f"Task {index} of user {owner_id}",
                "Some description " * 3,
                completed,
                created if completed else None,
                index % 5,
                created + timedelta(days=3) if index % 4 else None,
                created,
                created,
            )
        )
        tags.extend((task_id, TAGS[(index + k) % len(TAGS)], owner_id) for k in range(index % 4))
    return tasks, tags


async def seed(dsn: str) -> None:
    await recreate(dsn)
    await asyncio.to_thread(migrate.upgrade, dsn.replace("postgresql://", "postgresql+asyncpg://"))
    password_hash = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=12)).decode()
    connection = await asyncpg.connect(dsn)
    try:
        emails = [email(number) for number in range(USERS)] + [DEEP_EMAIL]
        await connection.copy_records_to_table(
            "users",
            records=[
                (user_id, address, address, None, password_hash, START)
                for user_id, address in enumerate(emails, start=1)
            ],
            columns=["id", "email", "email_key", "name", "password_hash", "created_at"],
        )
        next_id = 1
        for user_id in range(1, len(emails) + 1):
            count = DEEP_TASKS if emails[user_id - 1] == DEEP_EMAIL else TASKS_PER_USER
            tasks, tags = task_records(user_id, next_id, count)
            next_id += count
            await connection.copy_records_to_table(
                "tasks",
                records=tasks,
                columns=[
                    "id",
                    "owner_id",
                    "parent_id",
                    "title",
                    "description",
                    "completed",
                    "completed_at",
                    "priority",
                    "due_at",
                    "created_at",
                    "updated_at",
                ],
            )
            await connection.copy_records_to_table(
                "task_tags", records=tags, columns=["task_id", "tag", "owner_id"]
            )
        for table in ("users", "tasks"):
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT max(id) FROM {table}))"
            )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


if __name__ == "__main__":
    asyncio.run(seed(sys.argv[1]))
