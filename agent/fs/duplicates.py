"""Duplicate files: group by size, then by a partial hash, then by the full sha256.

Hard links (same device and inode) are one file, never duplicates of each other. Files are
re-opened relative to the root and checked against the scanned inode, so a folder swapped for
a symlink during the scan cannot lead the hashing outside the root.
"""

import os
import stat
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from agent.fs.hash_cache import HashCache
from agent.fs.safe_root import SafeRoot, hash_fd
from agent.fs.scan import Entry, ProgressFn, scan

PARTIAL_BYTES = 16 * 1024
WORKERS = 4
BATCHES = 64


def _hasher(
    root: SafeRoot, limit: int | None, cache: HashCache | None = None
) -> Callable[[Entry], tuple[Entry, str | None]]:
    """Hashes one entry: its first `limit` bytes, or all of it (kept in `cache` when given)."""

    def digest(entry: Entry) -> tuple[Entry, str | None]:
        try:
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=root.fd)
        except OSError:
            return entry, None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != (entry.dev, entry.ino):
                return entry, None
            found = hash_fd(fd, limit)
            if cache is not None:  # a short file's first bytes are all of it, as it is now
                cache.put(st, found, partial=limit is not None and st.st_size > limit)
            return entry, found
        finally:
            os.close(fd)

    return digest


def _regroup(
    pool: ThreadPoolExecutor,
    groups: list[list[Entry]],
    hasher,
    progress: ProgressFn | None,
    phase: str,
    cache: HashCache | None = None,
    limit: int | None = None,
) -> list[tuple[str, list[Entry]]]:
    candidates = [entry for group in groups for entry in group]
    by_key: dict[tuple[int, str], list[Entry]] = defaultdict(list)
    if cache is not None:  # hashes kept for files as the scan saw them: no file is opened
        unknown = []
        for entry in candidates:
            known = cache.known(entry, partial=limit is not None and entry.size > limit)
            if known is None:
                unknown.append(entry)
            else:
                by_key[(entry.size, known)].append(entry)
        candidates = unknown
    # A few large batches: one future per file would cost more than hashing small files.
    batches = [candidates[i::BATCHES] for i in range(BATCHES)]
    done = 0
    for results in pool.map(lambda batch: [hasher(entry) for entry in batch], batches):
        for entry, digest in results:
            if digest is not None:
                by_key[(entry.size, digest)].append(entry)
        done += len(results)
        if progress:
            progress({"phase": phase, "done": done, "total": len(candidates)})
    return [(digest, group) for (_, digest), group in by_key.items() if len(group) > 1]


def find_duplicates(
    root: SafeRoot,
    path: object = ".",
    min_size: int = 1,
    progress: ProgressFn | None = None,
    cache: HashCache | None = None,
) -> dict[str, Any]:
    """Groups of identical files. With `cache`, the partial and full hashes of files unchanged
    since they were kept are taken from it, so a second scan of an unchanged folder opens no
    file."""
    by_size: dict[int, list[Entry]] = defaultdict(list)
    inodes: set[tuple[int, int]] = set()
    scanned = 0
    for entry in sorted(scan(root, path, progress=progress), key=lambda e: e.path):
        scanned += 1
        if entry.size < min_size or (entry.dev, entry.ino) in inodes:
            continue
        inodes.add((entry.dev, entry.ino))
        by_size[entry.size].append(entry)
    same_size = [group for group in by_size.values() if len(group) > 1]
    bytes_hashed = 0
    with ThreadPoolExecutor(WORKERS) as pool:
        partial = _regroup(
            pool,
            same_size,
            _hasher(root, PARTIAL_BYTES, cache),
            progress,
            "partial hash",
            cache,
            PARTIAL_BYTES,
        )
        small = [(d, g) for d, g in partial if g[0].size <= PARTIAL_BYTES]
        large = [g for d, g in partial if g[0].size > PARTIAL_BYTES]
        bytes_hashed += sum(min(e.size, PARTIAL_BYTES) for g in same_size for e in g)
        bytes_hashed += sum(e.size for g in large for e in g)
        full = small + _regroup(
            pool, large, _hasher(root, None, cache), progress, "full hash", cache
        )
    groups: list[dict[str, Any]] = sorted(
        (
            {"sha256": digest, "size": members[0].size, "paths": sorted(e.path for e in members)}
            for digest, members in full
        ),
        key=lambda g: (-g["size"], g["paths"][0]),
    )
    return {
        "groups": groups,
        "files_scanned": scanned,
        "bytes_hashed": bytes_hashed,
        "wasted_bytes": sum(g["size"] * (len(g["paths"]) - 1) for g in groups),
    }
