import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ledger.canonical import GENESIS_HASH, canonical_event_bytes, canonical_json, chain_hash
from ledger.event import Event
from ledger.sqlite_conn import SQLiteFile
from ledger.verify import VerifyResult, verify_rows

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
CREATE INDEX IF NOT EXISTS events_type ON events(type);
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


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def new_case_id() -> str:
    return "case_" + uuid.uuid4().hex


class Ledger:
    """One institution's ledger.db. Safe across threads and processes: every append
    reads the head inside a write transaction (BEGIN IMMEDIATE)."""

    def __init__(self, path: Path, institution_id: str) -> None:
        self.path = Path(path)
        self.institution_id = institution_id
        self.db = SQLiteFile(self.path, SCHEMA, durable=True)

    def append(
        self, type_: str, actor: str, payload: dict[str, Any], case_id: str | None = None
    ) -> Event:
        return self.append_many([(type_, actor, payload, case_id)])[0]

    def append_many(self, items: list[tuple[str, str, dict[str, Any], str | None]]) -> list[Event]:
        """Append events in one durable transaction: all of them or none."""
        prepared = [
            (type_, actor, canonical_json(payload).decode(), case_id or new_case_id())
            for type_, actor, payload, case_id in items
        ]
        events = []
        with self.db.write() as conn:
            row = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (row[0], row[1]) if row else (0, GENESIS_HASH)
            for type_, actor, payload_json, case in prepared:
                seq += 1
                ts = utc_now()
                body = canonical_event_bytes(
                    seq, ts, self.institution_id, case, type_, actor, payload_json
                )
                hash_ = chain_hash(prev, body)
                conn.execute(
                    f"INSERT INTO events ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)",
                    (seq, ts, self.institution_id, case, type_, actor, payload_json, prev, hash_),
                )
                events.append(
                    Event(
                        seq, ts, self.institution_id, case, type_, actor, payload_json, prev, hash_
                    )
                )
                prev = hash_
        return events

    def head(self) -> tuple[int, str]:
        sql = "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1"
        row = self.db.conn().execute(sql).fetchone()
        return (row[0], row[1]) if row else (0, GENESIS_HASH)

    def rows(self) -> Iterator[tuple]:
        cursor = self.db.conn().execute(f"SELECT {COLUMNS} FROM events ORDER BY seq")
        while batch := cursor.fetchmany(10_000):
            yield from batch

    def verify(self) -> VerifyResult:
        return verify_rows(self.rows())

    def events(
        self,
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
        return [Event(*row) for row in self.db.conn().execute(sql, params)]

    def add_checkpoint(self, seq: int, head_hash: str, signature: str, public_key: str) -> dict:
        ts = utc_now()
        self.db.conn().execute(
            "INSERT OR REPLACE INTO checkpoints (seq, head_hash, ts, signature, public_key)"
            " VALUES (?,?,?,?,?)",
            (seq, head_hash, ts, signature, public_key),
        )
        return {
            "seq": seq,
            "head_hash": head_hash,
            "ts": ts,
            "signature": signature,
            "public_key": public_key,
        }

    def checkpoints(self) -> list[dict]:
        cursor = self.db.conn().execute(
            "SELECT seq, head_hash, ts, signature, public_key FROM checkpoints ORDER BY seq"
        )
        keys = ("seq", "head_hash", "ts", "signature", "public_key")
        return [dict(zip(keys, row, strict=True)) for row in cursor]

    def backup_to(self, target: Path) -> None:
        """Consistent copy while writers go on (SQLite online backup API)."""
        dest = sqlite3.connect(target)
        try:
            self.db.conn().backup(dest)
        finally:
            dest.close()

    def close(self) -> None:
        self.db.close()
