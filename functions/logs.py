"""Structured JSON logs carrying request_id and case_id, and the request-id middleware."""

import json
import logging
import os
import re
import sys
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

REQUEST_ID_HEADER = "x-request-id"
CASE_ID_HEADER = "x-case-id"
_ACCEPTED_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

# One mutable dict per request, so handlers running in the thread pool (a copy of the
# context) can still attach the case id the access log line reports.
_REQUEST: ContextVar[dict[str, Any] | None] = ContextVar("libervia_request", default=None)

log = logging.getLogger("libervia")


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
        current = _REQUEST.get()
        if current:
            data["request_id"] = current["request_id"]
            if current.get("case_id"):
                data["case_id"] = current["case_id"]
        data.update(getattr(record, "fields", {}))
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)


def configure(service: str, level: str | None = None) -> None:
    """JSON lines on stderr for our loggers and uvicorn's; our middleware logs each request."""
    level = level or os.environ.get("LIBERVIA_LOG_LEVEL", "INFO").upper()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True


class RequestContext:
    """Takes the caller's X-Request-ID (or makes one), echoes it with the app's security
    headers, and logs one line per request."""

    def __init__(self, app: Any, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        self.app = app
        self.headers = headers or []

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        rid = accepted_id(headers.get(b"x-request-id", b"").decode("latin-1")) or uuid.uuid4().hex
        case = accepted_id(headers.get(b"x-case-id", b"").decode("latin-1"))
        current = {"request_id": rid, "case_id": case}
        token = _REQUEST.set(current)
        started = time.perf_counter()
        status = [500]

        async def send_with_id(message: dict) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    *self.headers,
                    (b"x-request-id", rid.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if log.isEnabledFor(logging.INFO):
                client = scope.get("client")
                log.info(
                    "request",
                    extra={
                        "fields": {
                            "method": scope["method"],
                            "path": scope["path"],
                            "status": status[0],
                            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                            "client": client[0] if client else None,
                        }
                    },
                )
            _REQUEST.reset(token)
