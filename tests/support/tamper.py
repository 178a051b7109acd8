"""What an attacker with the data dir can do to an institution's file: rewrite history and
re-chain it (so the chain alone still verifies), roll it back, drop its checkpoints."""

import shutil
import sqlite3
from pathlib import Path

from ledger import store as ledger_store
from ledger.canonical import canonical_event_bytes, chain_hash


def _open(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    for trigger in ("events_no_update", "events_no_delete", "merkle_no_update", "merkle_no_delete"):
        conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    return conn


def rewrite_and_rechain(path: Path, seq: int, payload_json: str, *, drop_checkpoints: bool) -> None:
    """Replace event `seq`'s payload, recompute every hash from there and the Merkle tree."""
    conn = _open(path)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE events SET payload=? WHERE seq=?", (payload_json, seq))
    prev = conn.execute("SELECT prev_hash FROM events WHERE seq=?", (seq,)).fetchone()[0]
    rows = conn.execute(
        "SELECT seq, ts, institution_id, case_id, type, actor, payload FROM events"
        " WHERE seq >= ? ORDER BY seq",
        (seq,),
    ).fetchall()
    for row in rows:
        hash_ = chain_hash(prev, canonical_event_bytes(*row))
        conn.execute("UPDATE events SET prev_hash=?, hash=? WHERE seq=?", (prev, hash_, row[0]))
        prev = hash_
    conn.execute("DELETE FROM merkle")
    ledger_store.rebuild_tree(conn)
    if drop_checkpoints:
        conn.execute("DELETE FROM checkpoints")
    conn.execute("COMMIT")
    conn.close()


def truncate(path: Path, keep: int) -> None:
    conn = _open(path)
    conn.execute("DELETE FROM events WHERE seq > ?", (keep,))
    conn.close()


def snapshot_file(path: Path, target: Path) -> None:
    """A copy to roll back to later (SQLite's backup API: consistent while it is in use)."""
    source, copy = sqlite3.connect(path), sqlite3.connect(target)
    source.backup(copy)
    copy.close()
    source.close()


def roll_back(copy: Path, path: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    shutil.copyfile(copy, path)
