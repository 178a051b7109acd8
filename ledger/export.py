import csv
import io
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ledger.canonical import canonical_json
from ledger.event import Event
from ledger.store import Ledger

JSONL_FORMAT = "libervia-ledger/1"
CSV_COLUMNS = (
    "seq",
    "ts",
    "institution_id",
    "case_id",
    "type",
    "actor",
    "payload",
    "prev_hash",
    "hash",
)


def _events(ledger: Ledger) -> Iterator[Event]:
    for row in ledger.rows():
        yield Event(*row)


def export_jsonl(ledger: Ledger, checkpoint: dict) -> Iterator[str]:
    """Header line, one line per event, then the signed checkpoint covering them all."""
    yield json.dumps({"format": JSONL_FORMAT, "institution_id": ledger.institution_id}) + "\n"
    for event in _events(ledger):
        if event.seq > checkpoint["seq"]:
            break
        yield canonical_json(event.to_dict()).decode() + "\n"
    yield json.dumps({"checkpoint": checkpoint}) + "\n"


def export_csv(ledger: Ledger, checkpoint: dict) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in ledger.rows():
        if row[0] > checkpoint["seq"]:
            break
        writer.writerow(row)
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def export_sqlite(ledger: Ledger) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "ledger.db"
        ledger.backup_to(target)
        return target.read_bytes()
