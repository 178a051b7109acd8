"""Structured JSON logs carrying request_id and case_id, written off the event loop: a log call
captures the request's ids and queues the record; one thread formats and writes it."""

import atexit
import contextlib
import contextvars
import json
import logging
import os
import queue
import re
import sys
import threading
import time
from contextvars import ContextVar
from datetime import UTC, datetime
from logging.handlers import QueueHandler
from typing import Any, NamedTuple, TextIO

REQUEST_ID_HEADER = "x-request-id"
CASE_ID_HEADER = "x-case-id"
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

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
    return value if value and _ACCEPTED_ID.fullmatch(value) else None


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str = "libervia") -> None:
        super().__init__()
        self.service = service
        self._encoder = json.JSONEncoder(default=str)  # json.dumps(default=) makes one a line
        self._second: tuple[int, str] = (-1, "")

    def format(self, record: logging.LogRecord) -> str:
        current = getattr(record, "request", None) or _REQUEST.get()
        exc = self.formatException(record.exc_info) if record.exc_info else None
        fields = getattr(record, "fields", {})
        return self.line(
            record.created, record.levelname, record.name, record.getMessage(), current, fields, exc
        )

    def line(
        self,
        created: float,
        level: str,
        logger: str,
        msg: str,
        request: dict[str, Any] | None,
        fields: dict[str, Any],
        exc: str | None = None,
    ) -> str:
        data: dict[str, Any] = {
            "ts": self._timestamp(created),
            "level": level.lower(),
            "service": self.service,
            "logger": logger,
            "msg": msg,
        }
        if request:
            data["request_id"] = request["request_id"]
            if request.get("case_id"):
                data["case_id"] = request["case_id"]
        data.update(fields)
        if exc:
            data["exc"] = exc
        return self._encoder.encode(data)

    def _timestamp(self, created: float) -> str:
        """`2026-12-02T17:00:00.123+00:00`; the part up to the second is made once a second."""
        second = int(created)
        micros = round((created - second) * 1e6)  # as datetime.fromtimestamp rounds
        if micros >= 1_000_000:
            second, micros = second + 1, micros - 1_000_000
        if self._second[0] != second:
            self._second = (second, datetime.fromtimestamp(second, UTC).isoformat()[:-6])
        return f"{self._second[1]}.{micros // 1000:03d}+00:00"


class _RequestQueueHandler(QueueHandler):
    """Hands the record to the writer thread as it is, with the ids of the request it was
    logged in (the context variable does not cross threads)."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        current = _REQUEST.get()
        if current:
            record.request = dict(current)
        return record


class _Access(NamedTuple):
    created: float
    request: dict[str, Any] | None
    fields: dict[str, Any]


_STOP = object()
BATCH_SECONDS = 0.02


class _Writer:
    """The one thread that formats and writes: it waits for a line, lets the ones logged in
    the next BATCH_SECONDS join it, and writes them at once. Under load that is one wake-up and
    one write for hundreds of lines, instead of a thread hand-off for each."""

    def __init__(
        self, records: "queue.SimpleQueue[Any]", stream: TextIO, formatter: JsonFormatter
    ) -> None:
        self.records, self.stream, self.formatter = records, stream, formatter
        self.thread = threading.Thread(target=self._run, name="log-writer", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Write what is queued, then end (a second call does nothing)."""
        if self.thread.is_alive():
            self.records.put(_STOP)
            self.thread.join()

    def _run(self) -> None:
        while True:
            batch = [self.records.get()]
            if batch[0] is not _STOP:
                time.sleep(BATCH_SECONDS)
            with contextlib.suppress(queue.Empty):
                while True:
                    batch.append(self.records.get_nowait())
            lines = [self._format(item) for item in batch if item is not _STOP]
            try:
                if lines:
                    self.stream.write("\n".join(lines) + "\n")
                    self.stream.flush()
            except Exception:  # noqa: S110 - a log that cannot be written must not end the writer
                pass
            if any(item is _STOP for item in batch):
                return

    def _format(self, item: Any) -> str:
        if isinstance(item, _Access):
            return self.formatter.line(
                item.created, "INFO", "libervia", "request", item.request, item.fields
            )
        return self.formatter.format(item)


_records: "queue.SimpleQueue[Any]" = queue.SimpleQueue()
_writer: _Writer | None = None
_access_enabled = False


def access(fields: dict[str, Any]) -> None:
    """The edge's line for a request ("request", at INFO, in the request's ids): queued as
    it is, without the logging machinery's record, caller lookup and handler locks."""
    if _access_enabled:
        _records.put(_Access(time.time(), _REQUEST.get(), fields))


def configure(service: str, level: str | None = None) -> None:
    """JSON lines on stderr for our loggers and uvicorn's; the edge logs each request."""
    global _writer, _access_enabled
    level = level or os.environ.get("LIBERVIA_LOG_LEVEL", "INFO").upper()
    if _writer is not None:
        _writer.stop()
    _writer = _Writer(_records, sys.stderr, JsonFormatter(service))
    atexit.register(_writer.stop)  # what is queued is written before the process ends
    root = logging.getLogger()
    root.handlers[:] = [_RequestQueueHandler(_records)]
    root.setLevel(level)
    _access_enabled = log.isEnabledFor(logging.INFO)
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
