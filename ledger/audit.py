"""Verification against what was signed: the chain must verify, and every signed checkpoint
(those in the institution's file, and any kept elsewhere) must be true of it. A ledger shorter
than a checkpoint, or different from it at its size, fails, naming the checkpoint."""

import dataclasses
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger import LedgerError, store
from ledger import checkpoint as checkpoints
from ledger.signing import SignatureInvalid, checkpoint_message, verify_signature
from ledger.verify import VerifyResult, verify_database


def verify_signed(
    conn: sqlite3.Connection,
    institution_id: str,
    public_key: Ed25519PublicKey,
    *,
    path: Path | None = None,
    kept: Iterable[dict[str, Any]] = (),
) -> VerifyResult:
    """The chain in `conn` (one snapshot) and every checkpoint: the file's and `kept` ones."""
    chain = verify_database(conn, path, institution_id)
    if not chain.ok:
        return chain
    signed = 0
    for record in [*store.checkpoints(conn), *kept]:
        problem = _problem(conn, record, chain.events, institution_id, public_key)
        if problem is not None:
            seq, reason = problem
            return VerifyResult(False, min(chain.events, seq - 1), chain.head_hash, seq, reason)
        signed = max(signed, int(record["seq"]))
    return dataclasses.replace(chain, signed_size=signed)


def _problem(
    conn: sqlite3.Connection,
    record: dict[str, Any],
    events: int,
    institution_id: str,
    public_key: Ed25519PublicKey,
) -> tuple[int, str] | None:
    """(seq, reason) when the checkpoint is not signed by the key or not true of the ledger."""
    size = int(record["seq"])
    where = f"checkpoint at size {size}"
    try:
        if record.get("note"):
            stated = checkpoints.verify(public_key, record["note"], record["signature"])
            if stated.institution_id != institution_id or stated.size != size:
                return size, f"{where} is not about this ledger"
            head, root = stated.head, stated.root
        else:
            head, root = str(record["head_hash"]), None
            message = checkpoint_message(institution_id, size, head)
            verify_signature(public_key, message, record["signature"])
    except (checkpoints.CheckpointInvalid, SignatureInvalid) as exc:
        return size, f"{where}: {exc}"
    if size > events:
        return events + 1, f"the ledger is shorter than its {where}: {events} events"
    if size == 0:
        return None
    at = conn.execute("SELECT hash FROM events WHERE seq=?", (size,)).fetchone()
    if at is None or at[0] != head:
        return size, f"{where} does not match the chain at seq {size}"
    if root is not None:
        try:
            stored_root = store.root_at(conn, size)
        except LedgerError as exc:
            return size, f"{where}: {exc}"
        if stored_root != root:
            return size, f"{where}: the stored Merkle tree does not give its root"
    return None
