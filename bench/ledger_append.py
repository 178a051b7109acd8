"""Durable ledger appends per second against raw SQLite WAL commits per second.

Both write one row per transaction (BEGIN IMMEDIATE ... COMMIT) to a file in the same temporary
directory, with journal_mode=WAL and synchronous=FULL, one writer waiting for each commit. The
ledger side is the engine's write path: `InstitutionDB.write` hands the function to a committer
thread, which reads the head, builds the canonical JSON and the sha256 link and inserts the event
(with its index). The reference inserts a row of the same size into a plain table. Rounds
alternate so that disk noise hits both.

A second reference, printed without a goal, spaces the raw commits by the CPU time one ledger
append takes (measured in the same rounds, spent spinning before each commit): on some virtual
disks a durable commit that follows the previous one within a few tens of microseconds costs a
fraction of one that comes later, so back-to-back raw commits are cheaper than any commit an
application makes after doing some work. The ratio to it is what the write path itself costs.
"""

import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import figure, goal, note, parse_args, ratio, title
from bench.raw_sqlite import commit_once, raw_connection
from ledger import store as ledger_store
from tenants.database import InstitutionDB, create_file

GOAL = 0.50
PAYLOAD = {
    "proposal_id": "prop_4f1c2a9e8b7d6c5b4a39281706f5e4d3",
    "action": "list_files",
    "params": {"path": "documents/reports"},
    "role": "owner",
    "contract_ref": "personal_ops@v1.0.0",
    "rule": "personal_ops@v1.0.0 actions.list_files",
    "reason": "action 'list_files' is a read; the contract allows it without approval",
    "digest": "9f2b6c1d0e8a7f3b5c4d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b",
}


IID = "inst_" + "b" * 24


def ledger_appends(db: InstitutionDB, seconds: float) -> tuple[int, float]:
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        db.write(lambda tx: tx.record("proposal.allowed", "act_bench", PAYLOAD))
        count += 1
    return count, time.perf_counter() - start


def raw_commits(
    conn: sqlite3.Connection, body: str, seconds: float, work: float = 0.0
) -> tuple[int, float]:
    """Raw commits for `seconds`, each after `work` seconds of CPU (a spin, as a computation)."""
    count, start = 0, time.perf_counter()
    while (now := time.perf_counter()) - start < seconds:
        until = now + work
        while time.perf_counter() < until:
            pass
        commit_once(conn, body)
        count += 1
    return count, time.perf_counter() - start


def with_cpu(run: Callable[[], tuple[int, float]]) -> tuple[int, float, float]:
    """A run's count and time, with the CPU time of each of its operations on average."""
    cpu = time.process_time()
    count, elapsed = run()
    return count, elapsed, (time.process_time() - cpu) / max(count, 1)


def rate(runs: list[tuple[int, float]]) -> float:
    return sum(count for count, _ in runs) / sum(elapsed for _, elapsed in runs)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__, argv)
    rounds, seconds = (1, 0.5) if args.quick else (3, 3.0)
    title("ledger_append", "durable ledger appends vs raw SQLite WAL commits", args.quick)
    with tempfile.TemporaryDirectory(prefix="bench-append-") as tmp:
        path = Path(tmp) / "institution.db"
        create_file(path, IID, lambda tx: tx.record("proposal.allowed", "act_bench", PAYLOAD))
        db = InstitutionDB.open(path, IID)
        with db.reader() as reader:
            row_bytes = sum(len(str(column)) for column in next(ledger_store.rows(reader.conn)))
        conn = raw_connection(Path(tmp) / "raw.db")
        body = "x" * row_bytes
        ledger_runs, raw_runs, spaced_runs, cpus = [], [], [], []
        for _ in range(rounds):
            count, elapsed, cpu = with_cpu(lambda: ledger_appends(db, seconds))
            ledger_runs.append((count, elapsed))
            cpus.append(cpu)
            count, elapsed, raw_cpu = with_cpu(lambda: raw_commits(conn, body, seconds))
            raw_runs.append((count, elapsed))
            # As much CPU in all as an append: the raw commit's own, then a spin for the rest.
            spaced_runs.append(raw_commits(conn, body, seconds, max(0.0, cpu - raw_cpu)))
        db.close()
        conn.close()
    ledger_rate = rate(ledger_runs)
    raw_rate = rate(raw_runs)
    note(f"{rounds} alternating round(s) of {seconds:g} s each; rows of {row_bytes} bytes")
    figure("ledger append (synchronous=FULL)", ledger_rate, "appends/s")
    figure("reference: raw SQLite WAL commit", raw_rate, "commits/s")
    ratio("ratio ledger / raw", ledger_rate / raw_rate)
    spaced_rate = rate(spaced_runs)
    figure("CPU time of one ledger append", sum(cpus) / len(cpus) * 1e6, "us")
    figure("raw commit after as much CPU", spaced_rate, "commits/s")
    ratio("ratio ledger / raw commit after as much CPU", ledger_rate / spaced_rate)
    goal(f"ratio >= {GOAL:.0%}", ledger_rate / raw_rate >= GOAL)


if __name__ == "__main__":
    main()
