"""The reference for durable writes: raw SQLite commits (WAL, synchronous=FULL), one row per
transaction (BEGIN IMMEDIATE, INSERT, COMMIT), as fast as Python's sqlite3 goes."""

import sqlite3
import threading
import time
from pathlib import Path


def raw_connection(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS rows (seq INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    return conn


def commit_once(conn: sqlite3.Connection, body: str) -> None:
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO rows (body) VALUES (?)", (body,))
    conn.execute("COMMIT")


def concurrent_commits(folder: str, files: int, seconds: float, row_bytes: int) -> float:
    """Commits per second of `files` threads, each committing to its own file in `folder`."""
    body = "x" * row_bytes
    conns = [raw_connection(Path(folder) / f"raw-{n}.db") for n in range(files)]
    counts = [0] * files
    start = threading.Barrier(files + 1)
    stop_at = [0.0]

    def writer(n: int) -> None:
        start.wait()
        while time.perf_counter() < stop_at[0]:
            commit_once(conns[n], body)
            counts[n] += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(files)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    for conn in conns:
        conn.close()
    return sum(counts) / elapsed
