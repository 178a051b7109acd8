"""The ledger's tables and the operations on them, over a connection the caller owns.

The ledger does not own a file: its tables live in the institution's database beside the
state they record, so a decision and its events commit in one transaction. `append` must be
called inside the caller's write transaction (it reads the head there); readers get tuples.
"""

import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ledger.canonical import GENESIS_HASH, canonical_event_bytes, canonical_json, chain_hash
from ledger.event import Event
from ledger.verify import VerifyResult, verify_database

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    institution_id TEXT NOT NULL,
    case_id TEXT NOT NULL,
    type TEXT NOT NULL,
    actor TEXT NOT NULL,
    payload TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_case ON events(case_id);
CREATE TABLE IF NOT EXISTS checkpoints (
    seq INTEGER PRIMARY KEY,
    head_hash TEXT NOT NULL,
    ts TEXT NOT NULL,
    signature TEXT NOT NULL,
    public_key TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;
"""

COLUMNS = "seq, ts, institution_id, case_id, type, actor, payload, prev_hash, hash"
CHECKPOINT_COLUMNS = ("seq", "head_hash", "ts", "signature", "public_key")

# (type, actor, payload, case_id or None for a new case)
EventItem = tuple[str, str, dict[str, Any], str | None]


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def new_case_id() -> str:
    return "case_" + uuid.uuid4().hex


def _raw(conn: sqlite3.Connection) -> sqlite3.Cursor:
    """A cursor that returns tuples, whatever row factory the connection has."""
    cursor = conn.cursor()
    cursor.row_factory = None
    return cursor


def head(conn: sqlite3.Connection) -> tuple[int, str]:
    row = _raw(conn).execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else (0, GENESIS_HASH)


def append(
    conn: sqlite3.Connection,
    institution_id: str,
    items: list[EventItem],
    after: tuple[int, str] | None = None,
) -> list[Event]:
    """Chain `items` after the head (`after`, when the caller already knows it in this
    transaction). The caller's write transaction makes them durable (or not) together with
    whatever state change they record."""
    if not conn.in_transaction:
        raise RuntimeError("ledger appends belong inside the caller's write transaction")
    seq, prev = after or head(conn)
    cursor = _raw(conn)
    events = []
    for type_, actor, payload, case_id in items:
        seq += 1
        ts = utc_now()
        case = case_id or new_case_id()
        payload_json = canonical_json(payload).decode()
        hash_ = chain_hash(
            prev, canonical_event_bytes(seq, ts, institution_id, case, type_, actor, payload_json)
        )
        event = Event(seq, ts, institution_id, case, type_, actor, payload_json, prev, hash_)
        cursor.execute(f"INSERT INTO events ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)", event.row())
        events.append(event)
        prev = hash_
    return events


def rows(conn: sqlite3.Connection, upto: int | None = None) -> Iterator[tuple]:
    """Every event row in seq order (up to `upto` when given), fetched in batches."""
    sql = f"SELECT {COLUMNS} FROM events"
    cursor = _raw(conn).execute(
        sql + " WHERE seq <= ? ORDER BY seq" if upto is not None else sql + " ORDER BY seq",
        (upto,) if upto is not None else (),
    )
    while batch := cursor.fetchmany(10_000):
        yield from batch


def verify(
    conn: sqlite3.Connection, path: Path | None = None, institution_id: str | None = None
) -> VerifyResult:
    """The chain as `conn` sees it; give the file's `path` to let long ones use every core,
    and the `institution_id` every event must name (else the first event's)."""
    return verify_database(conn, path, institution_id)


def events(
    conn: sqlite3.Connection,
    *,
    types: list[str] | None = None,
    type_prefixes: list[str] | None = None,
    case_id: str | None = None,
    since: str | None = None,
    until: str | None = None,
    after_seq: int = 0,
    limit: int = 1000,
    descending: bool = False,
) -> list[Event]:
    clauses, params = ["seq > ?"], [after_seq]
    if types:
        clauses.append(f"type IN ({','.join('?' * len(types))})")
        params += types
    if type_prefixes:
        clauses.append("(" + " OR ".join("type LIKE ?" for _ in type_prefixes) + ")")
        params += [prefix + "%" for prefix in type_prefixes]
    if case_id:
        clauses.append("case_id = ?")
        params.append(case_id)
    if since:
        clauses.append("ts >= ?")
        params.append(since)
    if until:
        clauses.append("ts < ?")
        params.append(until)
    order = "DESC" if descending else "ASC"
    where = " AND ".join(clauses)
    sql = f"SELECT {COLUMNS} FROM events WHERE {where} ORDER BY seq {order} LIMIT ?"
    params.append(limit)
    return [Event(*row) for row in _raw(conn).execute(sql, params)]


def add_checkpoint(
    conn: sqlite3.Connection, seq: int, head_hash: str, signature: str, public_key: str
) -> dict[str, Any]:
    """Store a signed checkpoint (the first one for a seq wins; it is returned either way)."""
    _raw(conn).execute(
        "INSERT OR IGNORE INTO checkpoints (seq, head_hash, ts, signature, public_key)"
        " VALUES (?,?,?,?,?)",
        (seq, head_hash, utc_now(), signature, public_key),
    )
    return checkpoint_at(conn, seq) or {}


def checkpoint_at(conn: sqlite3.Connection, seq: int) -> dict[str, Any] | None:
    row = (
        _raw(conn)
        .execute(f"SELECT {', '.join(CHECKPOINT_COLUMNS)} FROM checkpoints WHERE seq=?", (seq,))
        .fetchone()
    )
    return dict(zip(CHECKPOINT_COLUMNS, row, strict=True)) if row else None


def checkpoints(conn: sqlite3.Connection, upto: int | None = None) -> list[dict[str, Any]]:
    sql = f"SELECT {', '.join(CHECKPOINT_COLUMNS)} FROM checkpoints"
    if upto is not None:
        cursor = _raw(conn).execute(sql + " WHERE seq <= ? ORDER BY seq", (upto,))
    else:
        cursor = _raw(conn).execute(sql + " ORDER BY seq")
    return [dict(zip(CHECKPOINT_COLUMNS, row, strict=True)) for row in cursor]
