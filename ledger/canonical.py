"""The ledger's chain: an event's canonical bytes and its hash."""

import hashlib
from json.encoder import encode_basestring as _quote  # what canonical_json does for a str

GENESIS_HASH = "0" * 64


def canonical_event_bytes(
    seq: int, ts: str, institution_id: str, case_id: str, type_: str, actor: str, payload_json: str
) -> bytes:
    """canonical_json of an event body, built around its already-canonical payload text."""
    return (
        f'{{"actor":{_quote(actor)},"case_id":{_quote(case_id)},'
        f'"institution_id":{_quote(institution_id)},"payload":{payload_json},'
        f'"seq":{seq:d},"ts":{_quote(ts)},"type":{_quote(type_)}}}'
    ).encode()


def chain_hash(prev_hash: str, event_bytes: bytes) -> str:
    """hash = sha256(prev_hash || canonical event)."""
    return hashlib.sha256(prev_hash.encode() + event_bytes).hexdigest()
