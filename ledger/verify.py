from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ledger.canonical import GENESIS_HASH, canonical_event_bytes, chain_hash

# (seq, ts, institution_id, case_id, type, actor, payload_json, prev_hash, hash)
Row = tuple[int, str, str, str, str, str, str, str, str]


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    events: int
    head_hash: str
    first_bad_seq: int | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "head_hash": self.head_hash,
            "first_bad_seq": self.first_bad_seq,
            "reason": self.reason,
        }


def verify_rows(rows: Iterable[Row]) -> VerifyResult:
    """Re-walk the chain; name the first seq whose link or content is wrong."""
    prev = GENESIS_HASH
    expected = 1
    for seq, ts, iid, case_id, type_, actor, payload_json, prev_hash, hash_ in rows:
        if seq != expected:
            return VerifyResult(False, expected - 1, prev, expected, f"seq {expected} is missing")
        if prev_hash != prev:
            return VerifyResult(False, seq - 1, prev, seq, "prev_hash does not link to seq before")
        body = canonical_event_bytes(seq, ts, iid, case_id, type_, actor, payload_json)
        if chain_hash(prev, body) != hash_:
            return VerifyResult(False, seq - 1, prev, seq, "hash does not match event content")
        prev = hash_
        expected += 1
    return VerifyResult(True, expected - 1, prev)
