"""Structured JSON logs carrying request_id and case_id, written off the event loop: a log call
captures the request's ids and queues the record; one thread formats and writes it."""

import atexit
import contextvars
import json
import logging
import os
import queue
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from logging.handlers import QueueHandler, QueueListener
from typing import Any

REQUEST_ID_HEADER = "x-request-id"
CASE_ID_HEADER = "x-case-id"
_ACCEPTED_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

# One mutable dict per request, so handlers running in the thread pool (a copy of the
# context) can still attach the case id the access log line reports.
_REQUEST: ContextVar[dict[str, Any] | None] = ContextVar("libervia_request", default=None)

log = logging.getLogger("libervia")


def enter_request(request_id: str, case_id: str | None) -> contextvars.Token:
    return _REQUEST.set({"request_id": request_id, "case_id": case_id})


def leave_request(token: contextvars.Token) -> None:
    _REQUEST.reset(token)


def request_id() -> str | None:
    current = _REQUEST.get()
    return current["request_id"] if current else None


def bind_case(case_id: str | None) -> None:
    """Attach the case this request works on to its log lines."""
    current = _REQUEST.get()
    if current is not None and case_id:
        current["case_id"] = case_id


def trace_headers() -> dict[str, str]:
    """Headers that carry the current request's ids to the next service."""
    current = _REQUEST.get()
    if not current:
        return {}
    headers = {"X-Request-ID": current["request_id"]}
    if current.get("case_id"):
        headers["X-Case-ID"] = current["case_id"]
    return headers


def accepted_id(value: str | None) -> str | None:
    return value if value and _ACCEPTED_ID.match(value) else None


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str = "libervia") -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        current = getattr(record, "request", None) or _REQUEST.get()
        if current:
            data["request_id"] = current["request_id"]
            if current.get("case_id"):
                data["case_id"] = current["case_id"]
        data.update(getattr(record, "fields", {}))
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)


class _RequestQueueHandler(QueueHandler):
    """Hands the record to the writer thread as it is, with the ids of the request it was
    logged in (the context variable does not cross threads)."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        current = _REQUEST.get()
        if current:
            record.request = dict(current)
        return record


_listener: QueueListener | None = None


def configure(service: str, level: str | None = None) -> None:
    """JSON lines on stderr for our loggers and uvicorn's; the edge logs each request."""
    global _listener
    level = level or os.environ.get("LIBERVIA_LOG_LEVEL", "INFO").upper()
    writer = logging.StreamHandler(sys.stderr)
    writer.setFormatter(JsonFormatter(service))
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    if _listener is not None:
        _listener.stop()
    _listener = QueueListener(records, writer)
    _listener.start()
    atexit.register(_listener.stop)  # what is queued is written before the process ends
    root = logging.getLogger()
    root.handlers[:] = [_RequestQueueHandler(records)]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
