"""Log set-up: readable lines in development, one JSON object per line in production.

Nothing secret reaches a line: taskql logs no tokens, passwords or parameters, and a
traceback's SQL (SQLAlchemy puts the statement in its exceptions' text) is cut out.
With tracing on (`web/tracing.py`) each line logged inside a request carries its
`trace_id` and `span_id`, so a log line leads to its trace.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

from settings import LogFormat, Settings

_STANDARD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# SQLAlchemy's "[SQL: ...]" and "[parameters: ...]" sections, up to the line that follows.
_SQL_SECTION = re.compile(
    r"^\[(?:SQL|parameters): .*?\](?=\n\[parameters: |\n\(Background on this error|\n\n|\n?\Z)",
    re.MULTILINE | re.DOTALL,
)


def without_sql(text: str) -> str:
    """`text` (a formatted traceback) without the statements and parameters in it."""
    return _SQL_SECTION.sub("[SQL hidden]", text)


class TraceIds(logging.Filter):
    """Adds the current span's `trace_id` and `span_id` (hex, as OTLP writes them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        from opentelemetry import trace  # noqa: PLC0415

        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            record.trace_id = format(context.trace_id, "032x")
            record.span_id = format(context.span_id, "016x")
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(
            (key, value) for key, value in vars(record).items() if key not in _STANDARD_ATTRIBUTES
        )
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)

    def formatException(self, ei: logging._SysExcInfoType) -> str:  # noqa: N802
        return without_sql(super().formatException(ei))


class TextFormatter(logging.Formatter):
    def formatException(self, ei: logging._SysExcInfoType) -> str:  # noqa: N802
        return without_sql(super().formatException(ei))


def configure_logging(settings: Settings, *, with_trace_ids: bool = False) -> None:
    handler = logging.StreamHandler()
    if settings.effective_log_format is LogFormat.JSON:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    if with_trace_ids:
        handler.addFilter(TraceIds())
    taskql_logger = logging.getLogger("taskql")
    taskql_logger.handlers[:] = [handler]
    taskql_logger.setLevel(settings.log_level)
    taskql_logger.propagate = False
