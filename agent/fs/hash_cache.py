"""A persistent cache of file hashes in the agent's state dir, so scanning an unchanged folder
again reads no file contents (as Czkawka and fclones keep theirs).

A hash is reused only for the same file (device and inode) with the same size, modification
time and change time, to the nanosecond. Writing a file changes its mtime and ctime, and
setting an mtime back changes the ctime, so a changed file is always hashed again. A file
modified in the last seconds is not cached at all: a write within the same timestamp tick
after hashing would otherwise look unchanged (git's "racy" files). Besides the sha256 of the
whole file, the hash of its first bytes (what duplicate detection compares first) is kept.

A report is kept too, with the fingerprint of the scan it came from (every file's path,
device, inode, size, mtime and ctime): a scan that sees exactly those files again gets the same
report without looking up a hash or opening a file. It is kept only when no file in it changed
in the last seconds, for the same reason.

The cache only speeds listings. Before a rename, move, delete or purge the agent hashes the
target again itself and compares it with the approved sha256; that check never reads here.
"""

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from agent.fs.scan import Entry

# How many first bytes the kept partial hash covers; the file records it (user_version), and a
# cache made with another size (0: the first caches, 16 KiB) forgets its partial hashes.
PARTIAL_BYTES = 4096
RACY_NS = 2_000_000_000  # files changed this recently are hashed, never cached
KEPT_SECONDS = 90 * 86400  # an entry unseen for this long is dropped
SEEN_EVERY = 86400  # an entry's "last seen" is written again at most once a day
KEPT_REPORTS = 8  # reports of the latest scopes scanned (a folder, a minimum size)
Key = tuple[int, int]  # device, inode
Facts = tuple[int, int, int, int, int]  # device, inode, size, mtime_ns, ctime_ns
Kept = tuple[int, int, int, str | None, str | None, int]
T = TypeVar("T")


def facts_of(st: os.stat_result) -> Facts:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


class Keeper(Protocol):
    """What keeps a hash just computed: the cache, or what stands for it in a helper process."""

    def put(self, st: os.stat_result, sha256: str, partial: bool = False) -> None: ...


class HashCache:
    """Loaded once per job (when first consulted), consulted and filled by any thread, saved in
    one transaction."""

    def __init__(self, path: Path, clock: Callable[[], int] = time.time_ns) -> None:
        self.path, self.clock = path, clock
        self._lock = threading.Lock()
        # size, mtime_ns, ctime_ns, sha256 of the whole file, of its first bytes, last seen
        self._entries: dict[Key, Kept] | None = None
        self._report: tuple[str, str, str] | None = None  # scope, fingerprint, report to keep
        self._fresh: set[Key] = set()
        self._seen: list[Key] = []
        self.hits = self.misses = 0
        self._stale = clock() // 1_000_000_000 - SEEN_EVERY  # seen before this: note it again
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as conn:
            if conn.execute("PRAGMA user_version").fetchone()[0] != PARTIAL_BYTES:
                with conn:
                    conn.execute("UPDATE hashes SET partial=NULL")
                    conn.execute(f"PRAGMA user_version={PARTIAL_BYTES}")

    def _kept(self) -> dict[Key, Kept]:
        if self._entries is None:
            with self._lock:
                if self._entries is None:
                    self._entries = self._read()
        return self._entries

    def _read(self) -> dict[Key, Kept]:
        try:
            with closing(self._connect()) as conn:
                rows = conn.execute(
                    "SELECT dev, ino, size, mtime_ns, ctime_ns, sha256, partial,"
                    " coalesce(seen_at, 0) FROM hashes"
                ).fetchall()
        except sqlite3.Error:  # locked, or broken since it was opened: a listing goes on
            return {}
        return {(row[0], row[1]): row[2:] for row in rows}

    def _connect(self) -> sqlite3.Connection:
        new = not self.path.exists()
        conn = sqlite3.connect(self.path)
        if new:
            os.chmod(self.path, 0o600)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS hashes (dev INTEGER, ino INTEGER, size INTEGER,"
            " mtime_ns INTEGER, ctime_ns INTEGER, sha256 TEXT, partial TEXT, seen_at INTEGER,"
            " PRIMARY KEY (dev, ino))"
        )
        conn.execute(
            "CREATE TABLE IF NOT EXISTS reports (scope TEXT PRIMARY KEY, fingerprint TEXT,"
            " report TEXT, made_at INTEGER)"
        )
        return conn

    def report(self, scope: str, fingerprint: str) -> dict[str, Any] | None:
        """The report kept for `scope` when its scan had this fingerprint, or None. One made
        over a day ago is made again (from the kept hashes), which notes its files as seen."""
        try:
            with closing(self._connect()) as conn:
                row = conn.execute(
                    "SELECT report FROM reports WHERE scope=? AND fingerprint=? AND made_at>=?",
                    (scope, fingerprint, self._stale),
                ).fetchone()
            kept = json.loads(row[0]) if row else None
        except (sqlite3.Error, ValueError):  # unreadable: made again
            return None
        return kept if isinstance(kept, dict) else None

    def keep_report(
        self, scope: str, fingerprint: str, report: dict[str, Any], newest_ns: int
    ) -> None:
        """Keep `report` (written by save) unless a file it covers changed at `newest_ns`, in the
        last seconds."""
        if self.clock() - newest_ns >= RACY_NS:
            self._report = (scope, fingerprint, json.dumps(report))

    def known(self, entry: "Entry", partial: bool = False) -> str | None:
        """The hash of the file as the scan saw it (device, inode, size, mtime, ctime), if it is
        unchanged since it was kept (with `partial`, of its first bytes)."""
        kept = self._unchanged(entry)
        if kept is None or (digest := kept[4] if partial else kept[3]) is None:
            self.misses += 1
            return None
        return self._hit(entry, kept, digest)

    def hashes(self, entries: "Sequence[Entry]") -> list[tuple[str | None, str | None]]:
        """Both hashes kept for each file as the scan saw it, whole and of its first bytes
        (each None if not kept): one lookup a file, for many files at once."""
        found: list[tuple[str | None, str | None]] = []
        for entry in entries:
            kept = self._unchanged(entry)
            if kept is None or kept[3] is kept[4] is None:
                self.misses += 1
                found.append((None, None))
            else:
                found.append(self._hit(entry, kept, (kept[3], kept[4])))
        return found

    def _unchanged(self, entry: "Entry") -> Kept | None:
        kept = self._kept().get((entry.dev, entry.ino))  # a dict read is atomic: no lock
        if kept is None or kept[:3] != (entry.size, entry.mtime_ns, entry.ctime_ns):
            return None
        return kept

    def _hit(self, entry: "Entry", kept: Kept, found: T) -> T:
        self.hits += 1
        if kept[5] < self._stale:
            self._seen.append((entry.dev, entry.ino))
        return found

    def put(self, st: os.stat_result, sha256: str, partial: bool = False) -> None:
        """Remember a hash just computed from the open file `st` describes (with `partial`,
        of its first bytes)."""
        self.keep(facts_of(st), sha256, partial)

    def keep(self, facts_of_file: Facts, sha256: str, partial: bool = False) -> None:
        """`put`, for the file as `facts_of` describes it."""
        dev, ino, size, mtime_ns, ctime_ns = facts_of_file
        if self.clock() - max(mtime_ns, ctime_ns) < RACY_NS:
            return
        key, facts = (dev, ino), (size, mtime_ns, ctime_ns)
        entries = self._kept()
        with self._lock:
            kept = entries.get(key)
            whole, first = (kept[3], kept[4]) if kept and kept[:3] == facts else (None, None)
            if partial:
                first = sha256
            else:
                whole = sha256
            entries[key] = (*facts, whole, first, 0)
            self._fresh.add(key)

    def save(self) -> None:
        """Write what this job learned (one transaction), note what it saw, drop long-unseen
        entries. A rescan of an unchanged folder writes nothing."""
        now = self.clock() // 1_000_000_000
        with self._lock:
            fresh = {key: self._entries[key] for key in self._fresh} if self._entries else {}
            seen = set(self._seen) - fresh.keys()
        if not fresh and not seen and self._report is None:
            return
        with closing(self._connect()) as conn, conn:
            conn.executemany(
                "INSERT OR REPLACE INTO hashes VALUES (?,?,?,?,?,?,?,?)",
                [(*key, *kept[:5], now) for key, kept in fresh.items()],
            )
            conn.executemany(
                "UPDATE hashes SET seen_at=? WHERE dev=? AND ino=?",
                [(now, *key) for key in seen],
            )
            conn.execute("DELETE FROM hashes WHERE seen_at < ?", (now - KEPT_SECONDS,))
            if self._report is not None:
                conn.execute(
                    "INSERT OR REPLACE INTO reports VALUES (?,?,?,?)", (*self._report, now)
                )
                conn.execute(
                    "DELETE FROM reports WHERE scope NOT IN"
                    " (SELECT scope FROM reports ORDER BY made_at DESC LIMIT ?)",
                    (KEPT_REPORTS,),
                )
