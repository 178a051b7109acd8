"""Re-walking a hash chain and naming the first seq that is wrong.

Each row stores its `prev_hash`, so every event's hash can be checked on its own and only the
links need order: a long ledger is split into ranges checked by several processes at once, and
the result is the same as one walk (the first bad seq, the events before it, the head there).
"""

import gc
import multiprocessing
import os
import sqlite3
import threading
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from hashlib import sha256
from json.encoder import encode_basestring as quote  # canonical_json's own string encoder
from pathlib import Path
from typing import Any
from urllib.parse import quote as quote_path

from ledger.canonical import GENESIS_HASH

# (seq, ts, institution_id, case_id, type, actor, payload_json, prev_hash, hash)
Row = tuple[int, str, str, str, str, str, str, str, str]
PARALLEL_FROM = 50_000  # events; below this, one walk is faster than starting workers


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    events: int
    head_hash: str
    first_bad_seq: int | None = None
    reason: str | None = None
    signed_size: int | None = None  # the largest signed checkpoint checked against the chain

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "head_hash": self.head_hash,
            "first_bad_seq": self.first_bad_seq,
            "reason": self.reason,
            "signed_size": self.signed_size,
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


def _walk_range(
    conn: sqlite3.Connection, institution_id: str, low: int, high: int, start_prev: str
) -> VerifyResult:
    """`verify_rows` for the rows [low, high] of a database, leaner: SQLite itself finds the
    first broken link and the first row naming another institution (in C, by the primary key),
    so the loop reads seven columns and hashes. The same first bad seq as one walk."""
    broken_link = conn.execute(
        "SELECT min(b.seq) FROM events a JOIN events b ON b.seq = a.seq + 1"
        " WHERE b.seq BETWEEN ? AND ? AND b.prev_hash IS NOT a.hash",
        (low + 1, high),
    ).fetchone()[0]
    foreign = conn.execute(
        "SELECT min(seq) FROM events WHERE seq BETWEEN ? AND ? AND institution_id IS NOT ?",
        (low, high, institution_id),
    ).fetchone()[0]
    stop = min(s for s in (broken_link, foreign, high + 1) if s is not None)
    cursor = conn.cursor()
    cursor.row_factory = None
    cursor.execute(
        "SELECT seq, ts, case_id, type, actor, payload, hash FROM events"
        " WHERE seq BETWEEN ? AND ? ORDER BY seq",
        (low, high),
    )
    prev, expected, iid = start_prev, low, quote(institution_id)
    collecting = gc.isenabled()
    gc.disable()  # millions of short-lived tuples; nothing here makes a cycle
    try:
        while batch := cursor.fetchmany(10_000):
            for seq, ts, case_id, type_, actor, payload_json, hash_ in batch:
                if seq != expected:
                    break
                if seq == stop:
                    reason = (
                        "prev_hash does not link to seq before"
                        if seq == broken_link
                        else f"event names another institution than {institution_id}"
                    )
                    return VerifyResult(False, seq - 1, prev, seq, reason)
                try:
                    body = (
                        f'{prev}{{"actor":{quote(actor)},"case_id":{quote(case_id)},'
                        f'"institution_id":{iid},"payload":{payload_json},'
                        f'"seq":{seq:d},"ts":{quote(ts)},"type":{quote(type_)}}}'
                    )
                except TypeError:
                    body = ""
                if sha256(body.encode()).hexdigest() != hash_:
                    return VerifyResult(
                        False, seq - 1, prev, seq, "hash does not match event content"
                    )
                prev = hash_
                expected += 1
            else:
                continue
            break
    finally:
        if collecting:
            gc.enable()
    if expected <= high:
        return VerifyResult(False, expected - 1, prev, expected, f"seq {expected} is missing")
    return VerifyResult(True, high, prev)


@dataclass(frozen=True)
class _Range:
    low: int
    result: VerifyResult  # of the range alone, trusting its first prev_hash
    first_prev: str | None  # the first row's stored prev_hash (None: no row at `low`)


def _verify_range(path: str, institution_id: str, low: int, high: int) -> _Range:
    """In a worker process: the range [low, high], its first link taken as stored."""
    conn = sqlite3.connect(f"file:{quote_path(path)}?mode=ro", uri=True)
    try:
        first = conn.execute("SELECT prev_hash FROM events WHERE seq=?", (low,)).fetchone()
        start_prev = first[0] if first else ""
        result = _walk_range(conn, institution_id, low, high, start_prev)
        return _Range(low, result, first[0] if first else None)
    finally:
        conn.close()


def verify_database(
    conn: sqlite3.Connection, path: Path | None = None, institution_id: str | None = None
) -> VerifyResult:
    """The chain in `conn` (one read snapshot): one institution's events (`institution_id`,
    else the one the first event names). With the file's `path`, a long ledger is checked in
    ranges by one process per core; rows up to the snapshot's head never change
    (append-only), so each may read them on its own."""
    low, head = conn.execute("SELECT min(seq), max(seq) FROM events").fetchone()
    if head is None:
        return verify_rows(())
    if low != 1:
        return VerifyResult(False, 0, GENESIS_HASH, 1, "seq 1 is missing")
    first = conn.execute("SELECT institution_id, prev_hash FROM events WHERE seq=1").fetchone()
    if institution_id is None:
        institution_id = first[0] if isinstance(first[0], str) else ""
    if first[1] != GENESIS_HASH:
        return VerifyResult(False, 0, GENESIS_HASH, 1, "prev_hash does not link to seq before")
    workers = os.cpu_count() or 1
    if path is None or head < PARALLEL_FROM or workers < 2:
        return _walk_range(conn, institution_id, 1, head, GENESIS_HASH)
    step = -(-head // workers)
    bounds = [(low, min(low + step - 1, head)) for low in range(1, head + 1, step)]
    try:
        ranges = list(
            _pool().map(
                _verify_range,
                [str(path)] * len(bounds),
                [institution_id] * len(bounds),
                *zip(*bounds, strict=True),
            )
        )
    except BrokenProcessPool:  # a worker died (memory?): start afresh next time, walk here now
        _reset_pool()
        return _walk_range(conn, institution_id, 1, head, GENESIS_HASH)
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


def _reset_pool() -> None:
    global _executor
    with _executor_lock:
        broken, _executor = _executor, None
    if broken is not None:
        broken.shutdown(wait=False, cancel_futures=True)


def _pool() -> ProcessPoolExecutor:
    """Worker processes forked from a clean server process (never from a threaded parent)."""
    global _executor
    with _executor_lock:
        if _executor is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["ledger.verify"])
            _executor = ProcessPoolExecutor(os.cpu_count() or 1, mp_context=context)
        return _executor
