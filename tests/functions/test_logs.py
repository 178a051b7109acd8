"""The JSON log lines: what the writer thread writes for the edge's access lines and for
records, in one shape, batched, and all of it before the process ends."""

import io
import json
import logging
import queue
import random
from datetime import UTC, datetime

from functions import logs


def test_timestamps_are_what_datetime_writes_to_the_millisecond():
    formatter = logs.JsonFormatter("engine")
    moments = [0.0, 1796231245.9999996, 884664752.8379998]
    moments += [random.uniform(0, 2e9) for _ in range(20_000)]
    for created in moments:
        expected = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
        assert formatter._timestamp(created) == expected


def test_access_lines_and_records_are_written_in_one_shape_and_flushed_on_stop() -> None:
    records: queue.SimpleQueue = queue.SimpleQueue()
    stream = io.StringIO()
    writer = logs._Writer(records, stream, logs.JsonFormatter("engine"))
    request = {"request_id": "req-1", "case_id": "case-9"}
    fields = {"method": "GET", "path": '/p\u00e9"', "status": 200, "duration_ms": 1.5}
    records.put(logs._Access(1796231244.25, request, fields))
    record = logging.LogRecord("libervia", logging.INFO, __file__, 1, "request", None, None)
    record.created, record.request, record.fields = 1796231244.25, request, fields
    records.put(record)
    for n in range(500):
        records.put(logs._Access(1796231244.5, None, {"n": n}))
    writer.stop()
    writer.stop()  # a second stop does nothing
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert (
        lines[0]
        == lines[1]
        == {
            "ts": "2026-12-02T17:07:24.250+00:00",
            "level": "info",
            "service": "engine",
            "logger": "libervia",
            "msg": "request",
            "request_id": "req-1",
            "case_id": "case-9",
            **fields,
        }
    )
    assert [line["n"] for line in lines[2:]] == list(range(500))
