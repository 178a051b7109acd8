"""Duplicate files: group by size, then by the hash of their first bytes, then by content.

The last step reads each file once: in a group of files of one size and first bytes, the
first one's sha256 is computed while the others are compared with it byte for byte, chunk by
chunk (hashing one and comparing the rest costs less than hashing them all); those that
differ are sorted out among themselves the same way. A group whose members the hash cache
partly knows, or too large to keep open at once, is hashed file by file instead.

Hard links (same device and inode) are one file, never duplicates of each other. Files are
re-opened relative to the root and checked against the scanned inode, so a folder swapped for
a symlink during the scan cannot lead the hashing outside the root.
"""

import hashlib
import os
import stat
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from agent.fs.hash_cache import PARTIAL_BYTES, HashCache
from agent.fs.safe_root import CHUNK, SafeRoot, chunk_buffers, hash_fd
from agent.fs.scan import PROGRESS_EVERY, Entry, ProgressFn, scan

# Threads that read and hash whole files (hashlib and reads release the GIL): one a core.
WORKERS = max(1, min(4, os.cpu_count() or 1))
BATCHES = 64
MAX_COMPARED = 32  # files of one group compared side by side (each is an open descriptor)


def _open_scanned(root: SafeRoot, entry: Entry) -> tuple[int, os.stat_result] | None:
    """The file the scan saw, opened without following links; None when it is gone, or no
    longer that regular file."""
    try:
        fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=root.fd)
    except OSError:
        return None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != (entry.dev, entry.ino):
        os.close(fd)
        return None
    return fd, st


def _hasher(
    root: SafeRoot, limit: int | None, cache: HashCache | None = None
) -> Callable[[Entry], tuple[Entry, str | None]]:
    """Hashes one entry: its first `limit` bytes, or all of it (kept in `cache` when given)."""

    def digest(entry: Entry) -> tuple[Entry, str | None]:
        opened = _open_scanned(root, entry)
        if opened is None:
            return entry, None
        fd, st = opened
        try:
            found = hash_fd(fd, limit)
        finally:
            os.close(fd)
        if cache is not None:  # a short file's first bytes are all of it, as it is now
            cache.put(st, found, partial=limit is not None and st.st_size > limit)
        return entry, found

    return digest


Opened = tuple[Entry, int, os.stat_result]


def _confirmed(
    root: SafeRoot, group: list[Entry], cache: HashCache | None
) -> list[tuple[str, list[Entry]]]:
    """The groups of identical files among `group` (one size, the same first bytes), each with
    its sha256; every file is read once."""
    opened: list[Opened] = []
    for entry in group:
        if (fd_and_stat := _open_scanned(root, entry)) is not None:
            opened.append((entry, *fd_and_stat))
    found: list[tuple[str, list[Entry]]] = []
    try:
        rest = opened
        while len(rest) > 1:
            first = rest[0]
            digest, same, rest = _compare(first[1], rest[1:])
            if same:
                members = [first, *same]
                found.append((digest, [entry for entry, _, _ in members]))
                if cache is not None:
                    for _, _, st in members:
                        cache.put(st, digest)
    finally:
        for _, fd, _ in opened:
            os.close(fd)
    return found


def _compare(first_fd: int, others: list[Opened]) -> tuple[str, list[Opened], list[Opened]]:
    """The first file's sha256, and which of the others hold the same bytes and which not
    (when none does, its hash is not finished: nothing will name it)."""
    mine, theirs = chunk_buffers()
    digest, same, differ, offset = hashlib.sha256(), others, list[Opened](), 0
    while same:
        got = os.preadv(first_fd, [mine], offset)
        digest.update(memoryview(mine)[:got])
        still: list[Opened] = []
        for item in same:
            # At the end one byte more is asked for: a file that grew since is not the same.
            read = os.preadv(item[1], [memoryview(theirs)[: got or 1]], offset)
            equal = mine == theirs if got == CHUNK else mine[:got] == theirs[:got]
            (still if read == got and equal else differ).append(item)
        same, offset = still, offset + got
        if not got:
            break
    return digest.hexdigest(), same, differ


def _hashed_each(
    hasher: Callable[[Entry], tuple[Entry, str | None]], batch: list[Entry]
) -> list[tuple[str, list[Entry]]]:
    return [(digest, [entry]) for entry, digest in map(hasher, batch) if digest]


def _full_groups(
    pool: ThreadPoolExecutor,
    root: SafeRoot,
    groups: list[list[Entry]],
    progress: ProgressFn | None,
    cache: HashCache | None,
) -> list[tuple[str, list[Entry]]]:
    """Groups of identical files among groups of one size and first bytes."""
    by_key: dict[tuple[int, str], list[Entry]] = defaultdict(list)
    compared: list[list[Entry]] = []
    hashed: list[Entry] = []
    for group in groups:
        known = {entry: cache.known(entry) for entry in group} if cache is not None else {}
        if not any(known.values()) and len(group) <= MAX_COMPARED:
            compared.append(group)
            continue
        for entry in group:  # some hashes known: the others are hashed to be matched with them
            if (digest := known.get(entry)) is not None:
                by_key[(entry.size, digest)].append(entry)
            else:
                hashed.append(entry)
    hasher = _hasher(root, None, cache)
    batches = [batch for batch in (hashed[i::BATCHES] for i in range(BATCHES)) if batch]
    jobs = [(len(g), partial(_confirmed, root, g, cache)) for g in compared]
    jobs += [(len(batch), partial(_hashed_each, hasher, batch)) for batch in batches]
    total, done = sum(files for files, _ in jobs), 0
    for (files, _), results in zip(jobs, pool.map(lambda job: job[1](), jobs), strict=True):
        for digest, members in results:
            by_key[(members[0].size, digest)].extend(members)
        done += files
        if progress:
            progress({"phase": "full hash", "done": done, "total": total})
    return [(digest, group) for (_, digest), group in by_key.items() if len(group) > 1]


def _first_bytes_groups(
    root: SafeRoot,
    groups: list[list[Entry]],
    progress: ProgressFn | None,
    cache: HashCache | None = None,
) -> list[tuple[str, list[Entry]]]:
    """Files of one size regrouped by the hash of their first PARTIAL_BYTES (all of a file
    that short). In this thread: reading 4 KiB costs less than handing the GIL between threads
    for each file (measured: one thread hashes them faster than four)."""
    candidates = [entry for group in groups for entry in group]
    by_key: dict[tuple[int, str], list[Entry]] = defaultdict(list)
    if cache is not None:  # hashes kept for files as the scan saw them: no file is opened
        unknown = []
        for entry in candidates:
            known = cache.known(entry, partial=entry.size > PARTIAL_BYTES)
            if known is None:
                unknown.append(entry)
            else:
                by_key[(entry.size, known)].append(entry)
        candidates = unknown
    hasher = _hasher(root, PARTIAL_BYTES, cache)
    for done, entry in enumerate(candidates, 1):
        if (digest := hasher(entry)[1]) is not None:
            by_key[(entry.size, digest)].append(entry)
        if progress and (done % PROGRESS_EVERY == 0 or done == len(candidates)):
            progress({"phase": "partial hash", "done": done, "total": len(candidates)})
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
    for entry in sorted(scan(root, path, progress=progress)):  # by path: its first field
        scanned += 1
        if entry.size < min_size or (entry.dev, entry.ino) in inodes:
            continue
        inodes.add((entry.dev, entry.ino))
        by_size[entry.size].append(entry)
    same_size = [group for group in by_size.values() if len(group) > 1]
    bytes_hashed = 0
    alike = _first_bytes_groups(root, same_size, progress, cache)
    small = [(d, g) for d, g in alike if g[0].size <= PARTIAL_BYTES]
    large = [g for d, g in alike if g[0].size > PARTIAL_BYTES]
    bytes_hashed += sum(min(e.size, PARTIAL_BYTES) for g in same_size for e in g)
    bytes_hashed += sum(e.size for g in large for e in g)
    with ThreadPoolExecutor(WORKERS) as pool:
        full = small + _full_groups(pool, root, large, progress, cache)
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
