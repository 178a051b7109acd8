"""Durable ledger appends per second against raw SQLite WAL commits per second.

Both write one row per transaction (BEGIN IMMEDIATE ... COMMIT) to a file in the same temporary
directory, with journal_mode=WAL and synchronous=FULL, one writer waiting for each commit. The
ledger side is the engine's write path: `InstitutionDB.write` hands the function to a committer
thread, which reads the head, builds the canonical JSON and the sha256 link and inserts the event
(with its index). The reference inserts a row of the same size into a plain table. Rounds
alternate so that disk noise hits both.
"""

import sqlite3
import tempfile
import time
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


def raw_commits(conn: sqlite3.Connection, body: str, seconds: float) -> tuple[int, float]:
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        commit_once(conn, body)
        count += 1
    return count, time.perf_counter() - start


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
        ledger_runs, raw_runs = [], []
        for _ in range(rounds):
            ledger_runs.append(ledger_appends(db, seconds))
            raw_runs.append(raw_commits(conn, "x" * row_bytes, seconds))
        db.close()
        conn.close()
    ledger_rate = rate(ledger_runs)
    raw_rate = rate(raw_runs)
    note(f"{rounds} alternating round(s) of {seconds:g} s each; rows of {row_bytes} bytes")
    figure("ledger append (synchronous=FULL)", ledger_rate, "appends/s")
    figure("reference: raw SQLite WAL commit", raw_rate, "commits/s")
    ratio("ratio ledger / raw", ledger_rate / raw_rate)
    goal(f"ratio >= {GOAL:.0%}", ledger_rate / raw_rate >= GOAL)


if __name__ == "__main__":
    main()
