"""Verify an exported ledger file with nothing but the engine's public key.

The chain must verify from seq 1, and every checkpoint in the file must be signed by the key and
agree with the events: its size no more than the events there are, its head the chain hash at
that size and (v2) its root the Merkle root of the first `size` events. A ledger shorter than,
or different from, a checkpoint it carries is refused, naming the checkpoint.
"""

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger import LedgerError, merkle
from ledger import checkpoint as checkpoints
from ledger.event import Event
from ledger.signing import checkpoint_message, parse_public_key, verify_signature
from ledger.verify import VerifyResult, verify_rows

Row = tuple[int, str, str, str, str, str, str, str, str]


@dataclass(frozen=True)
class OfflineReport:
    chain: VerifyResult
    signed_seq: int
    institution_id: str

    @property
    def ok(self) -> bool:
        return self.chain.ok and self.signed_seq == self.chain.events


def _rows_from_jsonl(path: Path) -> tuple[list[Row], list[dict], str]:
    rows: list[Row] = []
    found: list[dict] = []
    institution_id = ""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise LedgerError(f"line {number} is not JSON") from exc
            if not isinstance(record, dict):
                raise LedgerError(f"line {number} is not a JSON object")
            if "format" in record:
                institution_id = str(record.get("institution_id", ""))
            elif "checkpoint" in record:
                found.append(record["checkpoint"])
            else:
                try:
                    rows.append(Event.from_dict(record).row())
                except (KeyError, TypeError, ValueError) as exc:
                    raise LedgerError(f"line {number} is not a ledger event ({exc})") from exc
    return rows, found, institution_id


def _rows_from_sqlite(path: Path) -> tuple[list[Row], list[dict], str]:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute(
                "SELECT seq, ts, institution_id, case_id, type, actor, payload, prev_hash, hash"
                " FROM events ORDER BY seq"
            ).fetchall()
            columns = [c[1] for c in conn.execute("PRAGMA table_info(checkpoints)")]
            found = [
                dict(zip(columns, row, strict=True))
                for row in conn.execute("SELECT * FROM checkpoints ORDER BY seq")
            ]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise LedgerError(f"{path} is not a ledger database: {exc}") from exc
    return rows, found, rows[0][2] if rows else ""


def _roots(rows: list[Row], sizes: set[int]) -> dict[int, bytes]:
    """The Merkle root at each of `sizes`, in one pass over the events."""
    tree, roots = merkle.Frontier(), {}
    if 0 in sizes:
        roots[0] = merkle.EMPTY_ROOT
    for row in rows:
        try:
            tree.append(merkle.leaf_hash(row[8]))
        except (ValueError, TypeError):  # not a hex hash: the chain check has named it
            break
        if tree.size in sizes:
            roots[tree.size] = tree.root()
    return roots


def check_checkpoints(
    rows: list[Row], found: list[dict[str, Any]], institution_id: str, public_key: Any
) -> int:
    """Every checkpoint signed by the key and true of these events; the largest size signed."""
    hashes = {row[0]: row[8] for row in rows}
    events = len(rows)
    v2: list[checkpoints.Checkpoint] = []
    signed = 0
    for record in found:
        if not isinstance(record, dict):
            raise LedgerError("a checkpoint is not an object")
        if record.get("note"):
            try:
                stated = checkpoints.verify(public_key, record["note"], record["signature"])
            except (checkpoints.CheckpointInvalid, KeyError) as exc:
                raise LedgerError(str(exc)) from exc
            if stated.institution_id != institution_id:
                raise LedgerError(f"checkpoint at size {stated.size} is of another institution")
            size, head = stated.size, stated.head
            v2.append(stated)
        else:  # a checkpoint signed before the tree existed: chain head only
            try:
                size, head = int(record["seq"]), str(record["head_hash"])
                verify_signature(
                    public_key,
                    checkpoint_message(institution_id, size, head),
                    record["signature"],
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise LedgerError(f"checkpoint {record.get('seq')!r} is malformed") from exc
        if size > events:
            raise LedgerError(
                f"the ledger is shorter than its checkpoint at size {size}: {events} events"
            )
        if size and hashes.get(size) != head:
            raise LedgerError(f"checkpoint at size {size} does not match the chain at seq {size}")
        signed = max(signed, size)
    roots = _roots(rows, {c.size for c in v2})
    for stated in v2:
        if roots.get(stated.size) != stated.root:
            raise LedgerError(f"checkpoint at size {stated.size}: its Merkle root differs")
    return signed


def read_export(path: Path) -> tuple[list[Row], list[dict], str]:
    """(events, checkpoints, institution id) of an exported JSONL or SQLite file."""
    path = Path(path)
    if not path.is_file():
        raise LedgerError(f"{path}: no such file")
    with path.open("rb") as handle:
        is_sqlite = handle.read(16) == b"SQLite format 3\x00"
    return _rows_from_sqlite(path) if is_sqlite else _rows_from_jsonl(path)


def verify_file(path: Path, public_key_text: str) -> OfflineReport:
    return verify_export(*read_export(path), public_key_text)


def verify_export(
    rows: list[Row], found: list[dict], institution_id: str, public_key_text: str
) -> OfflineReport:
    """The chain of an export read by `read_export`, and every checkpoint it carries."""
    public_key = parse_public_key(public_key_text)
    chain = verify_rows(rows)
    if not chain.ok:
        return OfflineReport(chain, 0, institution_id)
    signed = check_checkpoints(rows, found, institution_id, public_key)
    return OfflineReport(chain, signed, institution_id)
