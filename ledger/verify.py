"""Re-walking a hash chain and naming the first seq that is wrong.

Each row stores its `prev_hash`, so every event's hash can be checked on its own and only the
links need order: a long ledger is split into ranges checked by several processes at once, and
the result is the same as one walk (the first bad seq, the events before it, the head there).
"""

import multiprocessing
import os
import sqlite3
import threading
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from hashlib import sha256
from json.encoder import encode_basestring as quote  # canonical_json's own string encoder
from pathlib import Path
from typing import Any

from ledger.canonical import GENESIS_HASH

# (seq, ts, institution_id, case_id, type, actor, payload_json, prev_hash, hash)
Row = tuple[int, str, str, str, str, str, str, str, str]
COLUMNS = "seq, ts, institution_id, case_id, type, actor, payload, prev_hash, hash"
PARALLEL_FROM = 50_000  # events; below this, one walk is faster than starting workers


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


def verify_rows(
    rows: Iterable[Row], start_seq: int = 1, start_prev: str = GENESIS_HASH
) -> VerifyResult:
    """Re-walk the chain from `start_seq` (whose prev_hash must be `start_prev`); name the first
    seq whose link or content is wrong. `events` counts the good events from seq 1."""
    prev = start_prev
    expected = start_seq
    for seq, ts, iid, case_id, type_, actor, payload_json, prev_hash, hash_ in rows:
        if seq != expected:
            return VerifyResult(False, expected - 1, prev, expected, f"seq {expected} is missing")
        if prev_hash != prev:
            return VerifyResult(False, seq - 1, prev, seq, "prev_hash does not link to seq before")
        try:
            # canonical_event_bytes, inlined: this loop is the verifier's whole cost
            body = (
                f'{prev}{{"actor":{quote(actor)},"case_id":{quote(case_id)},'
                f'"institution_id":{quote(iid)},"payload":{payload_json},'
                f'"seq":{seq:d},"ts":{quote(ts)},"type":{quote(type_)}}}'
            )
        except TypeError:  # a column holds something other than text
            return VerifyResult(False, seq - 1, prev, seq, "hash does not match event content")
        if sha256(body.encode()).hexdigest() != hash_:
            return VerifyResult(False, seq - 1, prev, seq, "hash does not match event content")
        prev = hash_
        expected += 1
    return VerifyResult(True, expected - 1, prev)


def _fetch(conn: sqlite3.Connection, low: int, high: int) -> Iterable[Row]:
    cursor = conn.cursor()
    cursor.row_factory = None
    cursor.execute(
        f"SELECT {COLUMNS} FROM events WHERE seq BETWEEN ? AND ? ORDER BY seq", (low, high)
    )
    while batch := cursor.fetchmany(10_000):
        yield from batch


@dataclass(frozen=True)
class _Range:
    low: int
    result: VerifyResult  # of the range alone, trusting its first prev_hash
    first_prev: str | None  # the first row's stored prev_hash (None: no row at `low`)


def _verify_range(path: str, low: int, high: int) -> _Range:
    """In a worker process: the range [low, high], its first link taken as stored."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA query_only=ON")
        first = conn.execute("SELECT prev_hash FROM events WHERE seq=?", (low,)).fetchone()
        result = verify_rows(_fetch(conn, low, high), low, first[0] if first else "")
        if result.ok and result.events != high:  # the range ends early: its next seq is gone
            missing = result.events + 1
            result = VerifyResult(
                False, result.events, result.head_hash, missing, f"seq {missing} is missing"
            )
        return _Range(low, result, first[0] if first else None)
    finally:
        conn.close()


def verify_database(conn: sqlite3.Connection, path: Path | None = None) -> VerifyResult:
    """The chain in `conn` (one read snapshot). With the file's `path`, a long ledger is
    checked by several processes; rows up to the snapshot's head never change (append-only),
    so each process may read them from its own connection."""
    low, head = conn.execute("SELECT min(seq), max(seq) FROM events").fetchone()
    if head is None:
        return verify_rows(())
    workers = os.cpu_count() or 1
    if path is None or head < PARALLEL_FROM or workers < 2 or low < 1:
        return verify_rows(_fetch(conn, min(low, 1), head))
    step = -(-head // workers)
    bounds = [(low, min(low + step - 1, head)) for low in range(1, head + 1, step)]
    ranges = list(_pool().map(_verify_range, [str(path)] * len(bounds), *zip(*bounds, strict=True)))
    return _combine(ranges)


def _combine(ranges: list[_Range]) -> VerifyResult:
    """The one-walk answer from ranges checked apart: the first failure in seq order."""
    events, prev = 0, GENESIS_HASH
    for part in ranges:
        if part.first_prev is None:
            return VerifyResult(False, events, prev, part.low, f"seq {part.low} is missing")
        if part.first_prev != prev:
            return VerifyResult(
                False, events, prev, part.low, "prev_hash does not link to seq before"
            )
        if not part.result.ok:
            return part.result
        events, prev = part.result.events, part.result.head_hash
    return VerifyResult(True, events, prev)


_executor: ProcessPoolExecutor | None = None
_executor_lock = threading.Lock()


def _pool() -> ProcessPoolExecutor:
    """Worker processes forked from a clean server process (never from a threaded parent)."""
    global _executor
    with _executor_lock:
        if _executor is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["ledger.verify"])
            _executor = ProcessPoolExecutor(os.cpu_count() or 1, mp_context=context)
        return _executor
