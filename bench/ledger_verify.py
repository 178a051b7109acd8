"""Ledger verification speed in events per second, against merely reading the same rows.

The chain is built in an institution file with the engine's own write path (`Tx.record`), in
one transaction so that building takes seconds. Verification is `ledger.store.verify` as the
engine runs it (ranges of a long ledger checked by one process per core). Reading and verifying
alternate; the best of each is kept (the file is in the page cache for both).
"""

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import figure, goal, note, parse_args, ratio, title
from ledger import store as ledger_store
from tenants.database import InstitutionDB, Tx, create_file

GOAL = 500_000  # events/s
IID = "inst_" + "b" * 24
EVENTS: list[tuple[str, dict[str, Any]]] = [
    ("proposal.allowed", {"action": "list_files", "params": {}, "rule": "actions.list_files"}),
    ("job.created", {"action": "list_files", "status": "queued"}),
    ("proposal.pending_approval", {"action": "delete", "params": {"path": "a.txt"}}),
    ("proposal.denied", {"action": "format_disk", "params": {}, "rule": "actions"}),
]


def build(tx: Tx, count: int) -> None:
    for i in range(count):
        type_, payload = EVENTS[i % len(EVENTS)]
        tx.record(type_, "act_bench", {**payload, "proposal_id": f"prop_{i:032x}"})


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__, argv)
    count, repeats = (60_000, 1) if args.quick else (200_000, 3)
    title("ledger_verify", "ledger verification vs reading all rows", args.quick)
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        path = Path(tmp) / "institution.db"
        create_file(path, IID, lambda tx: tx.record("institution.created", "bench", {}))
        db = InstitutionDB.open(path, IID)
        start = time.perf_counter()
        db.write(lambda tx: build(tx, count - 1))
        note(f"built {count:,} events in {time.perf_counter() - start:.1f} s")
        with db.snapshot() as snapshot:
            conn = snapshot.conn
            list(ledger_store.rows(conn))  # warm the page cache
            ledger_store.verify(conn, path)  # and start the verifier processes
            read_s = verify_s = float("inf")
            for _ in range(repeats):
                read_s = min(read_s, timed(lambda: list(ledger_store.rows(conn))))
                verify_s = min(verify_s, timed(lambda: ledger_store.verify(conn, path)))
            result = ledger_store.verify(conn, path)
        db.close()
    if not (result.ok and result.events == count):
        note(f"VERIFY FAILED: {result}")
    verify_rate, read_rate = count / verify_s, count / read_s
    figure("ledger verify", verify_rate, "events/s")
    figure("reference: reading every row", read_rate, "events/s")
    ratio("ratio verify / read", verify_rate / read_rate)
    goal(f"verify >= {GOAL:,} events/s", verify_rate >= GOAL)


if __name__ == "__main__":
    main()
