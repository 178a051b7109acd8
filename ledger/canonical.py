import hashlib
import json
from json.encoder import encode_basestring as _quote  # what _dumps does for a str
from typing import Any

GENESIS_HASH = "0" * 64

_dumps = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def canonical_json(value: Any) -> bytes:
    """One byte string per value: sorted keys, no spaces, UTF-8."""
    return _dumps(value).encode()


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
