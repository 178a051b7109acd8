"""Proof files: one event, shown to an auditor without the rest of the ledger.

A proof file (JSON, format `libervia-ledger-proof/1`) holds the event, its inclusion proof
(RFC 9162) in a tree of `tree_size` events, the signed checkpoint of that tree and the public
key. Checking it needs nothing else: the event's content gives its chain hash, the hash its
leaf, the leaf and the path the tree's root, and the checkpoint's signature that root.
"""

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ledger import LedgerError, merkle
from ledger import checkpoint as checkpoints
from ledger.canonical import chain_hash
from ledger.event import Event
from ledger.signing import parse_public_key

FORMAT = "libervia-ledger-proof/1"


@dataclass(frozen=True)
class ProofReport:
    event: dict[str, Any]
    checkpoint: checkpoints.Checkpoint
    key_fingerprint: str


def build(
    rows: Iterable[tuple], seq: int, signed: dict[str, Any], public_key: str
) -> dict[str, Any]:
    """The proof file for event `seq`, from the ledger's rows (at least up to the checkpoint's
    size) and a v2 checkpoint covering it."""
    stated = checkpoints.parse(signed["note"])
    size = stated.size
    if not 1 <= seq <= size:
        raise LedgerError(f"event {seq} is not in the signed tree of {size} events")
    ranges = merkle.inclusion_ranges(seq - 1, size)
    wanted = merkle.nodes_for(ranges)
    tree, kept, event = merkle.Frontier(), {}, None
    for row in rows:
        if tree.size == size:
            break
        if row[0] == seq:
            event = Event(*row)
        for level, index, value in tree.append(merkle.leaf_hash(row[8])):
            if (level, index) in wanted:
                kept[(level, index)] = value
    if event is None or tree.size != size or tree.root() != stated.root:
        raise LedgerError(f"the ledger does not give the signed root of size {size}")
    return proof_file(event, size, merkle.hashes_of(ranges, kept), signed, public_key)


def proof_file(
    event: Event, size: int, path: list[bytes], signed: dict[str, Any], public_key: str
) -> dict[str, Any]:
    """The proof file of `event`, with its audit `path` in the tree of `size` events that the
    checkpoint `signed` states."""
    return {
        "format": FORMAT,
        "event": event.to_dict(),
        "inclusion": {
            "leaf_index": event.seq - 1,
            "tree_size": size,
            "path": [base64.b64encode(h).decode() for h in path],
        },
        "checkpoint": {"note": signed["note"], "signature": signed["signature"]},
        "public_key": public_key,
    }


def verify(proof: Any, public_key_text: str | None = None) -> ProofReport:
    """Check a proof file (parsed JSON) with the given key, or the one it carries."""
    try:
        if proof.get("format") != FORMAT:
            raise LedgerError(f"not a proof file ({FORMAT})")
        record, inclusion = proof["event"], proof["inclusion"]
        note, signature = proof["checkpoint"]["note"], proof["checkpoint"]["signature"]
        key_text = public_key_text or proof["public_key"]
        event = Event.from_dict(record)
        seq, size = int(event.seq), int(inclusion["tree_size"])
        path = [base64.b64decode(h, validate=True) for h in inclusion["path"]]
        computed = chain_hash(event.prev_hash, event.canonical_bytes())
    except (AttributeError, KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise LedgerError(f"the proof file is malformed: {exc!r}") from exc
    if computed != record["hash"]:
        raise LedgerError(f"event {seq}: its content does not give its hash")
    key = parse_public_key(key_text)
    stated = checkpoints.verify(key, note, signature)
    if stated.institution_id != record["institution_id"]:
        raise LedgerError("the checkpoint is of another institution than the event")
    if stated.size != size or int(inclusion["leaf_index"]) != seq - 1:
        raise LedgerError("the inclusion proof is not about this event in this checkpoint")
    if not merkle.verify_inclusion(merkle.leaf_hash(computed), seq - 1, size, path, stated.root):
        raise LedgerError(f"event {seq} is not in the signed tree of {size} events")
    raw = base64.b64decode(key_text) if not key_text.strip().startswith("-----") else b""
    fingerprint = hashlib.sha256(raw or key_text.encode()).hexdigest()[:16]
    return ProofReport(record, stated, fingerprint)


def load(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise LedgerError(f"the proof file is not JSON: {exc}") from exc
