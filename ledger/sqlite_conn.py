import sqlite3
from pathlib import Path


def connect(path: Path, *, durable: bool = True) -> sqlite3.Connection:
    """A WAL connection in autocommit mode; transactions are opened explicitly."""
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn
