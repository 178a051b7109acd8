"""Ledger.verify() speed in events per second, against merely reading the same rows.

The chain is built with Ledger.append itself (the real code path), with the connection's
synchronous set to OFF while building so that it takes seconds, not minutes. Reading and verifying
alternate; the best of each is kept (the file is in the page cache for both).
"""

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import figure, goal, note, parse_args, ratio, title
from ledger.store import Ledger

GOAL = 300_000  # events/s
EVENTS = [
    ("proposal.allowed", {"action": "list_files", "params": {}, "rule": "actions.list_files"}),
    ("job.created", {"action": "list_files", "status": "queued"}),
    ("proposal.pending_approval", {"action": "delete", "params": {"path": "a.txt"}}),
    ("proposal.denied", {"action": "format_disk", "params": {}, "rule": "actions"}),
]


def build(ledger: Ledger, count: int) -> None:
    conn = ledger.db.conn()
    conn.execute("PRAGMA synchronous=OFF")
    for i in range(count):
        type_, payload = EVENTS[i % len(EVENTS)]
        ledger.append(type_, "act_bench", {**payload, "proposal_id": f"prop_{i:032x}"})
    conn.execute("PRAGMA synchronous=FULL")


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__, argv)
    count, repeats = (10_000, 1) if args.quick else (200_000, 3)
    title("ledger_verify", "Ledger.verify() vs reading all rows", args.quick)
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        ledger = Ledger(Path(tmp) / "ledger.db", "inst_bench")
        start = time.perf_counter()
        build(ledger, count)
        note(f"built {count:,} events in {time.perf_counter() - start:.1f} s")
        list(ledger.rows())  # warm the page cache
        read_s = verify_s = float("inf")
        for _ in range(repeats):
            read_s = min(read_s, timed(lambda: list(ledger.rows())))
            verify_s = min(verify_s, timed(ledger.verify))
        result = ledger.verify()
        ledger.close()
    if not (result.ok and result.events == count):
        note(f"VERIFY FAILED: {result}")
    verify_rate, read_rate = count / verify_s, count / read_s
    figure("Ledger.verify()", verify_rate, "events/s")
    figure("reference: list(ledger.rows())", read_rate, "events/s")
    ratio("ratio verify / read", verify_rate / read_rate)
    goal(f"verify >= {GOAL:,} events/s", verify_rate >= GOAL)


if __name__ == "__main__":
    main()
