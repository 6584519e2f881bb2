"""Tasks: the task queries and mutations (filled in by the tasks issue)."""

from __future__ import annotations

import strawberry


@strawberry.type
class TaskQuery:
    pass


@strawberry.type
class TaskMutation:
    pass
