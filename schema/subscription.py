"""The TaskEvent type: what a `taskEvents` subscriber receives for each committed change."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from schema.task import Task


@strawberry.enum(description="What happened to the task.")
class TaskEventKind(Enum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"


@strawberry.type(description="A committed change to one of the viewer's tasks.")
class TaskEvent:
    kind: TaskEventKind
    task_id: strawberry.ID = strawberry.field(
        description="The task's global id, given for DELETED too."
    )
    task: Task | None = strawberry.field(
        description="The task as it is now, read as the viewer; null for DELETED."
    )
    at: datetime = strawberry.field(description="When the change was committed.")
