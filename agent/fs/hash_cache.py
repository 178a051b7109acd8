"""A persistent cache of file hashes in the agent's state dir, so scanning an unchanged folder
again reads no file contents (as Czkawka and fclones keep theirs).

A hash is reused only for the same file (device and inode) with the same size, modification
time and change time, to the nanosecond. Writing a file changes its mtime and ctime, and
setting an mtime back changes the ctime, so a changed file is always hashed again. A file
modified in the last seconds is not cached at all: a write within the same timestamp tick
after hashing would otherwise look unchanged (git's "racy" files).

The cache only speeds listings. Before a rename, move, delete or purge the agent hashes the
target again itself and compares it with the approved sha256; that check never reads here.
"""

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

RACY_NS = 2_000_000_000  # files changed this recently are hashed, never cached
KEPT_SECONDS = 90 * 86400  # an entry unseen for this long is dropped
Key = tuple[int, int]
Facts = tuple[int, int, int]  # size, mtime_ns, ctime_ns


class HashCache:
    """Loaded once per job, consulted and filled by any thread, saved in one transaction."""

    def __init__(self, path: Path, clock: Callable[[], int] = time.time_ns) -> None:
        self.path, self.clock = path, clock
        self._lock = threading.Lock()
        self._known: dict[Key, tuple[Facts, str]] = {}
        self._fresh: dict[Key, tuple[Facts, str]] = {}
        self._seen: set[Key] = set()
        self.hits = self.misses = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as conn:
            for dev, ino, size, mtime_ns, ctime_ns, sha256 in conn.execute(
                "SELECT dev, ino, size, mtime_ns, ctime_ns, sha256 FROM hashes"
            ):
                self._known[(dev, ino)] = ((size, mtime_ns, ctime_ns), sha256)

    def _connect(self) -> sqlite3.Connection:
        new = not self.path.exists()
        conn = sqlite3.connect(self.path)
        conn.execute("PRAGMA journal_mode=WAL")
        if new:
            os.chmod(self.path, 0o600)
        conn.execute(
            "CREATE TABLE IF NOT EXISTS hashes (dev INTEGER, ino INTEGER, size INTEGER,"
            " mtime_ns INTEGER, ctime_ns INTEGER, sha256 TEXT NOT NULL, seen_at INTEGER,"
            " PRIMARY KEY (dev, ino))"
        )
        return conn

    @staticmethod
    def _facts(st: os.stat_result) -> tuple[Key, Facts]:
        return (st.st_dev, st.st_ino), (st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    def get(self, st: os.stat_result) -> str | None:
        """The sha256 of the file `st` describes (from fstat of the open file), if unchanged."""
        return self.lookup(*self._facts(st))

    def lookup(self, key: Key, facts: Facts) -> str | None:
        """The sha256 of the file (device, inode) with these size, mtime and ctime, if known."""
        with self._lock:
            self._seen.add(key)
            known = self._fresh.get(key) or self._known.get(key)
            if known is not None and known[0] == facts:
                self.hits += 1
                return known[1]
            self.misses += 1
            return None

    def put(self, st: os.stat_result, sha256: str) -> None:
        """Remember a hash just computed from the open file `st` describes."""
        key, facts = self._facts(st)
        if self.clock() - max(st.st_mtime_ns, st.st_ctime_ns) < RACY_NS:
            return
        with self._lock:
            self._fresh[key] = (facts, sha256)

    def save(self) -> None:
        """Write what this job learned and saw (one transaction), drop long-unseen entries."""
        now = int(time.time())
        with self._lock:
            fresh, seen = dict(self._fresh), set(self._seen)
        with closing(self._connect()) as conn, conn:
            conn.executemany(
                "INSERT OR REPLACE INTO hashes VALUES (?,?,?,?,?,?,?)",
                [(*key, *facts, sha256, now) for key, (facts, sha256) in fresh.items()],
            )
            conn.executemany(
                "UPDATE hashes SET seen_at=? WHERE dev=? AND ino=?",
                [(now, *key) for key in seen - fresh.keys()],
            )
            conn.execute("DELETE FROM hashes WHERE seen_at < ?", (now - KEPT_SECONDS,))
