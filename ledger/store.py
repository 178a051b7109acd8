"""The ledger's tables and the operations on them, over a connection the caller owns.

The ledger does not own a file: its tables live in the institution's database beside the
state they record, so a decision and its events commit in one transaction. `append` must be
called inside the caller's write transaction (it reads the head there); readers get tuples.
"""

import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kernel.canonical import canonical_json
from kernel.times import utc_now
from ledger import LedgerError, merkle
from ledger.canonical import GENESIS_HASH, canonical_event_bytes, chain_hash
from ledger.checkpoint import Checkpoint
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
    public_key TEXT NOT NULL,
    root_hash TEXT,
    note TEXT
);
CREATE TABLE IF NOT EXISTS merkle (
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS merkle_no_update BEFORE UPDATE ON merkle
BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS merkle_no_delete BEFORE DELETE ON merkle
BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;
"""

COLUMNS = "seq, ts, institution_id, case_id, type, actor, payload, prev_hash, hash"
INSERT_NODES = "INSERT INTO merkle (level, idx, hash) VALUES (?,?,?)"
CHECKPOINT_COLUMNS = ("seq", "head_hash", "ts", "signature", "public_key", "root_hash", "note")

# (type, actor, payload, case_id or None for a new case)
EventItem = tuple[str, str, dict[str, Any], str | None]


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


@dataclass
class Head:
    """Where the next event goes: the last seq and hash, and the Merkle tree's right edge."""

    seq: int
    hash: str
    tree: merkle.Frontier


def head_state(conn: sqlite3.Connection) -> Head:
    seq, hash_ = head(conn)
    return Head(seq, hash_, merkle.frontier_of(seq, lambda wanted: nodes(conn, wanted)))


def head_if_unchanged(conn: sqlite3.Connection, known: Head) -> Head | None:
    """`known` again (a copy to append to) while the last event is still the one it names:
    the ledger is append-only, so its Merkle frontier need not be read from the file again."""
    if head(conn) != (known.seq, known.hash):
        return None
    return Head(known.seq, known.hash, merkle.Frontier(known.tree.size, list(known.tree.edge)))


def nodes(conn: sqlite3.Connection, wanted: Iterable[merkle.Node]) -> dict[merkle.Node, bytes]:
    """Stored tree nodes by (level, index), in one query."""
    wanted = list(dict.fromkeys(wanted))
    if not wanted:
        return {}
    found: dict[merkle.Node, bytes] = {}
    for start in range(0, len(wanted), 400):
        chunk = wanted[start : start + 400]
        values = ",".join("(?,?)" for _ in chunk)
        rows = _raw(conn).execute(  # driven by the wanted nodes: one primary-key probe each
            f"SELECT m.level, m.idx, m.hash FROM (VALUES {values}) AS v"
            " JOIN merkle AS m ON m.level = v.column1 AND m.idx = v.column2",
            [x for node in chunk for x in node],
        )
        found.update(((level, idx), bytes(value)) for level, idx, value in rows)
    missing = [node for node in wanted if node not in found]
    if missing:
        raise LedgerError(f"the Merkle tree lacks node(s) {missing[:3]}")
    return found


def append(
    conn: sqlite3.Connection,
    institution_id: str,
    items: list[EventItem],
    after: Head | None = None,
) -> tuple[list[Event], Head]:
    """Chain `items` after the head (`after`, when the caller already knows it in this
    transaction) and add them to the Merkle tree. The caller's write transaction makes them
    durable (or not) together with whatever state change they record."""
    if not conn.in_transaction:
        raise RuntimeError("ledger appends belong inside the caller's write transaction")
    state = after or head_state(conn)
    seq, prev, tree = state.seq, state.hash, state.tree
    cursor = _raw(conn)
    events, new_nodes = [], []
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
        new_nodes += tree.append(merkle.leaf_hash(hash_))
        events.append(event)
        prev = hash_
    cursor.executemany(INSERT_NODES, new_nodes)
    return events, Head(seq, prev, tree)


def root_at(conn: sqlite3.Connection, size: int) -> bytes:
    """The Merkle root of the first `size` events."""
    plan = merkle.root_nodes(size)
    found = nodes(conn, plan)
    return merkle.fold([found[node] for node in plan])


def inclusion_proof(conn: sqlite3.Connection, seq: int, size: int) -> list[bytes]:
    """The audit path of event `seq` in the tree of the first `size` events."""
    ranges = merkle.inclusion_ranges(seq - 1, size)
    return merkle.hashes_of(ranges, nodes(conn, merkle.nodes_for(ranges)))


def consistency_proof(conn: sqlite3.Connection, old: int, size: int) -> list[bytes]:
    """The proof that the tree of `size` events extends the tree of `old` events."""
    ranges = merkle.consistency_ranges(old, size)
    return merkle.hashes_of(ranges, nodes(conn, merkle.nodes_for(ranges)))


def rebuild_tree(conn: sqlite3.Connection) -> int:
    """Store the Merkle tree of every event (an older file has none); returns the size."""
    tree, batch, size = merkle.Frontier(), [], 0
    for row in rows(conn):
        batch += tree.append(merkle.leaf_hash(row[8]))
        size += 1
        if len(batch) >= 20_000:
            _raw(conn).executemany(INSERT_NODES, batch)
            batch = []
    _raw(conn).executemany(INSERT_NODES, batch)
    return size


def rows(
    conn: sqlite3.Connection, upto: int | None = None, since: int | None = None
) -> Iterator[tuple]:
    """Event rows in seq order (from `since`, up to `upto`, when given), fetched in batches."""
    clauses, params = [], []
    if since is not None:
        clauses.append("seq >= ?")
        params.append(since)
    if upto is not None:
        clauses.append("seq <= ?")
        params.append(upto)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    cursor = _raw(conn).execute(f"SELECT {COLUMNS} FROM events{where} ORDER BY seq", params)
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
    clauses: list[str] = ["seq > ?"]
    params: list[Any] = [after_seq]
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
    conn: sqlite3.Connection, checkpoint: Checkpoint, signature: str, public_key: str
) -> dict[str, Any]:
    """Store a signed checkpoint (the first one for a size wins; it is returned either way)."""
    _raw(conn).execute(
        "INSERT OR IGNORE INTO checkpoints"
        " (seq, head_hash, ts, signature, public_key, root_hash, note) VALUES (?,?,?,?,?,?,?)",
        (
            checkpoint.size,
            checkpoint.head,
            checkpoint.time,
            signature,
            public_key,
            checkpoint.root_hex,
            checkpoint.note(),
        ),
    )
    return checkpoint_at(conn, checkpoint.size) or {}


def checkpoint_at(conn: sqlite3.Connection, seq: int) -> dict[str, Any] | None:
    row = (
        _raw(conn)
        .execute(f"SELECT {', '.join(CHECKPOINT_COLUMNS)} FROM checkpoints WHERE seq=?", (seq,))
        .fetchone()
    )
    return dict(zip(CHECKPOINT_COLUMNS, row, strict=True)) if row else None


def sign_head(
    conn: sqlite3.Connection, institution_id: str, key: Ed25519PrivateKey, public_key: str
) -> dict[str, Any]:
    """Sign the ledger as it stands (inside a write transaction): a v2 checkpoint of the tree
    and the chain head. The one already signed for this size is returned as is."""
    seq, head_hash = head(conn)
    existing = checkpoint_at(conn, seq)
    if existing and existing["note"]:
        return existing
    checkpoint = Checkpoint(institution_id, seq, root_at(conn, seq), head_hash, utc_now())
    if existing:  # a v1 checkpoint (no tree) at this size: the v2 one states more, in its place
        _raw(conn).execute("DELETE FROM checkpoints WHERE seq=?", (seq,))
    return add_checkpoint(conn, checkpoint, checkpoint.sign(key), public_key)


def latest_checkpoint(conn: sqlite3.Connection) -> dict[str, Any] | None:
    """The newest checkpoint in the tree format (v2)."""
    row = (
        _raw(conn)
        .execute(
            f"SELECT {', '.join(CHECKPOINT_COLUMNS)} FROM checkpoints WHERE note IS NOT NULL"
            " ORDER BY seq DESC LIMIT 1"
        )
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
