"""How the gateway's log lines look: human-readable or JSON, with request ids.

Every line written while a request is served names its request id: the
middleware sets ``REQUEST_ID`` for the serving thread, and a filter on each
handler copies it into the record. ``[logging] format = "json"`` writes one
JSON object per line (``time``, ``level``, ``logger``, ``message``,
``request_id``, and the fields a line carries: ``event``, ``provider``,
``operation``, ``duration_ms``, ``outcome``...), what log shippers read
without a parser of their own.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from datetime import UTC
from datetime import datetime
from typing import Any

import orjson

FORMATS = ("text", "json")
#: the request the current thread serves, or "-" between requests.
REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="-")
#: the attribute a record's structured fields ride in (``extra={FIELDS: {}}``).
FIELDS = "fields"
#: the environ key the app leaves the matched route template in, for the
#: access log.
ROUTE_ENVIRON = "cimi_gateway.route"
#: gunicorn's error-log layout, which text lines keep.
TEXT_FORMAT = "%(asctime)s [%(process)d] [%(levelname)s] %(message)s"
_TEXT_DATE = "[%Y-%m-%d %H:%M:%S %z]"


class RequestIdFilter(logging.Filter):
    """Stamp each record with the request id its thread serves (if unset)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


class TextFormatter(logging.Formatter):
    """gunicorn's layout, with `` request_id=...`` on lines of a request."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT, _TEXT_DATE)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", "-")
        if request_id != "-" and "request_id=" not in line:
            line += f" request_id={request_id}"
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "pid": record.process,
        }
        line.update(getattr(record, FIELDS, None) or {})
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def formatter(log_format: str) -> logging.Formatter:
    """Return the formatter for ``[logging] format``."""
    return JsonFormatter() if log_format == "json" else TextFormatter()


def dress(handler: logging.Handler, log_format: str) -> None:
    """Give ``handler`` the gateway's formatter and request ids."""
    handler.setFormatter(formatter(log_format))
    if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
        handler.addFilter(RequestIdFilter())


def fields(**values: Any) -> dict[str, Any]:
    """Return ``extra=`` for a log call carrying ``values`` as JSON fields."""
    return {FIELDS: values}
