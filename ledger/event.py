import json
from dataclasses import dataclass
from typing import Any

from kernel.canonical import canonical_json
from ledger.canonical import canonical_event_bytes


@dataclass(frozen=True)
class Event:
    seq: int
    ts: str
    institution_id: str
    case_id: str
    type: str
    actor: str
    payload_json: str
    prev_hash: str
    hash: str

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> "Event":
        """The inverse of `to_dict` (as exports and proof files carry events); the values are
        taken as they are, so a wrong type shows when the event is hashed."""
        return cls(
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

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.payload_json)

    def canonical_bytes(self) -> bytes:
        """The bytes covered by this event's hash."""
        return canonical_event_bytes(
            self.seq,
            self.ts,
            self.institution_id,
            self.case_id,
            self.type,
            self.actor,
            self.payload_json,
        )

    def row(self) -> tuple[int, str, str, str, str, str, str, str, str]:
        """The event as stored: the columns of `ledger.store.COLUMNS`, in order."""
        return (
            self.seq,
            self.ts,
            self.institution_id,
            self.case_id,
            self.type,
            self.actor,
            self.payload_json,
            self.prev_hash,
            self.hash,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "ts": self.ts,
            "institution_id": self.institution_id,
            "case_id": self.case_id,
            "type": self.type,
            "actor": self.actor,
            "payload": self.payload,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }
