"""Exports of one snapshot of a ledger, up to a signed checkpoint: JSONL (header, events, the
checkpoint), CSV (events), SQLite (events and the checkpoints that cover them). The caller
passes a connection inside one read transaction, so every part comes from the same state."""

import csv
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import sqlite_utils

from kernel.canonical import canonical_json
from kernel.sqlite import statements
from ledger import store as ledger_store
from ledger.event import Event

JSONL_FORMAT = "libervia-ledger/1"
CSV_COLUMNS = tuple(ledger_store.COLUMNS.split(", "))  # the events table, in order


def covering(
    conn: sqlite3.Connection, checkpoint: dict[str, Any], extra: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Every checkpoint up to the export's, and the export's last."""
    earlier = ledger_store.checkpoints(conn, upto=checkpoint["seq"] - 1)
    return sorted([*earlier, *extra], key=lambda c: c["seq"]) + [checkpoint]


def write_jsonl(
    out: TextIO,
    conn: sqlite3.Connection,
    institution_id: str,
    checkpoint: dict[str, Any],
    extra: Sequence[dict[str, Any]] = (),
) -> int:
    """Header line, one line per event up to the checkpoint, then every checkpoint up to it,
    the export's own last."""
    out.write(json.dumps({"format": JSONL_FORMAT, "institution_id": institution_id}) + "\n")
    count = 0
    for row in ledger_store.rows(conn, upto=checkpoint["seq"]):
        out.write(canonical_json(Event(*row).to_dict()).decode() + "\n")
        count += 1
    for signed in covering(conn, checkpoint, extra):
        out.write(json.dumps({"checkpoint": signed}) + "\n")
    return count


def write_csv(out: TextIO, conn: sqlite3.Connection, checkpoint: dict[str, Any]) -> int:
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for row in ledger_store.rows(conn, upto=checkpoint["seq"]):
        writer.writerow(row)
        count += 1
    return count


def write_sqlite(
    target: Path,
    conn: sqlite3.Connection,
    checkpoint: dict[str, Any],
    extra: Sequence[dict[str, Any]] = (),
) -> int:
    """A ledger-only SQLite file (no institution state, no token hashes): the events up to the
    checkpoint and the checkpoints among them."""
    upto = checkpoint["seq"]
    db = sqlite_utils.Database(target, recursive_triggers=False, execute_plugins=False)
    try:
        for statement in statements(ledger_store.SCHEMA):
            db.execute(statement)
        rows = ledger_store.rows(conn, upto)
        events = (dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows)
        db.table("events").insert_all(events, batch_size=2000)
        db.table("checkpoints").insert_all(
            covering(conn, checkpoint, extra), pk="seq", replace=True
        )
        count = db["events"].count
    finally:
        db.close()
    return count
