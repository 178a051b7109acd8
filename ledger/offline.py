"""Verify an exported ledger file with nothing but the engine's public key."""

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from ledger import LedgerError
from ledger.canonical import canonical_json
from ledger.signing import checkpoint_message, parse_public_key, verify_signature
from ledger.verify import VerifyResult, verify_rows


@dataclass(frozen=True)
class OfflineReport:
    chain: VerifyResult
    signed_seq: int
    institution_id: str

    @property
    def ok(self) -> bool:
        return self.chain.ok and self.signed_seq == self.chain.events


def _rows_from_jsonl(path: Path) -> tuple[list[tuple], list[dict], str]:
    rows, checkpoints, institution_id = [], [], ""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise LedgerError(f"line {number} is not JSON") from exc
            if "format" in record:
                institution_id = record.get("institution_id", "")
            elif "checkpoint" in record:
                checkpoints.append(record["checkpoint"])
            else:
                try:
                    rows.append(
                        (
                            record["seq"],
                            record["ts"],
                            record["institution_id"],
                            record["case_id"],
                            record["type"],
                            record["actor"],
                            canonical_json(record["payload"]).decode(),
                            record["prev_hash"],
                            record["hash"],
                        )
                    )
                except KeyError as exc:
                    raise LedgerError(f"line {number} lacks field {exc}") from exc
    return rows, checkpoints, institution_id


def _rows_from_sqlite(path: Path) -> tuple[list[tuple], list[dict], str]:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        rows = conn.execute(
            "SELECT seq, ts, institution_id, case_id, type, actor, payload, prev_hash, hash"
            " FROM events ORDER BY seq"
        ).fetchall()
        keys = ("seq", "head_hash", "ts", "signature", "public_key")
        checkpoints = [
            dict(zip(keys, row, strict=True))
            for row in conn.execute(
                "SELECT seq, head_hash, ts, signature, public_key FROM checkpoints ORDER BY seq"
            )
        ]
        conn.close()
    except sqlite3.DatabaseError as exc:
        raise LedgerError(f"{path} is not a ledger database: {exc}") from exc
    return rows, checkpoints, rows[0][2] if rows else ""


def verify_file(path: Path, public_key_text: str) -> OfflineReport:
    path = Path(path)
    if not path.is_file():
        raise LedgerError(f"{path}: no such file")
    public_key = parse_public_key(public_key_text)
    with path.open("rb") as handle:
        is_sqlite = handle.read(16) == b"SQLite format 3\x00"
    rows, checkpoints, institution_id = (
        _rows_from_sqlite(path) if is_sqlite else _rows_from_jsonl(path)
    )
    chain = verify_rows(rows)
    hashes = {row[0]: row[8] for row in rows}
    signed_seq = 0
    for checkpoint in checkpoints:
        seq, head = checkpoint["seq"], checkpoint["head_hash"]
        if hashes.get(seq) != head:
            raise LedgerError(f"checkpoint at seq {seq} does not match the chain")
        verify_signature(
            public_key, checkpoint_message(institution_id, seq, head), checkpoint["signature"]
        )
        signed_seq = max(signed_seq, seq)
    return OfflineReport(chain, signed_seq, institution_id)
