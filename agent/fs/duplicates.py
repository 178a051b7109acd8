"""Duplicate files: group by size, then by the hash of their first bytes, then by content.

The last step reads each file once: in a group of files of one size and first bytes, the
first one's sha256 is computed while the others are compared with it byte for byte, chunk by
chunk (hashing one and comparing the rest costs less than hashing them all); those that
differ are sorted out among themselves the same way. A group whose members the hash cache
partly knows, or too large to keep open at once, is hashed file by file instead; one whose
every sha256 it knows is not read at all. A few files of one size skip the first-bytes pass:
compared side by side, those that differ do so in their first PARTIAL_BYTES, read first
(fclones and jdupes order their work the same way, cheapest test first). Files of up to 16 KiB
are read whole by the first-bytes pass, which groups them by their sha256 at once. Small files
are read in the job's own thread, large ones by a pool of threads.

Hard links (same device and inode) are one file, never duplicates of each other. Files are
re-opened relative to the root and checked against the scanned inode, so a folder swapped for
a symlink during the scan cannot lead the hashing outside the root.
"""

import hashlib
import os
import stat
from array import array
from collections import defaultdict
from collections.abc import Callable
from itertools import chain
from operator import attrgetter
from typing import TYPE_CHECKING, Any, TypeVar, cast

from agent.fs.hash_cache import PARTIAL_BYTES, HashCache
from agent.fs.safe_root import CHUNK, SafeRoot, chunk_buffers, hash_fd
from agent.fs.scan import PROGRESS_EVERY, Entry, ProgressFn, scan

# Threads that read and hash whole files (hashlib and reads release the GIL): one a core.
WORKERS = max(1, min(4, os.cpu_count() or 1))
BATCHES = 64  # jobs the work of a step is dealt into
MAX_COMPARED = 32  # files of one group compared side by side (each is an open descriptor)
FEW = 4  # files of one size compared side by side with no first-bytes pass before
SMALL_FILE = 64 * 1024  # files up to this size are compared in the job's own thread
# Files up to this size are read whole by the first-bytes pass: hashing the rest of one costs
# less than opening it again to compare it with the others (measured on real files).
WHOLE_AT_ONCE = 16 * 1024
T = TypeVar("T")

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor


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
    root: SafeRoot, cache: HashCache | None = None
) -> Callable[[Entry], tuple[Entry, str | None]]:
    """Hashes one entry, all of it (kept in `cache` when given)."""

    def digest(entry: Entry) -> tuple[Entry, str | None]:
        opened = _open_scanned(root, entry)
        if opened is None:
            return entry, None
        fd, st = opened
        try:
            found = hash_fd(fd)
        finally:
            os.close(fd)
        if cache is not None:
            cache.put(st, found)
        return entry, found

    return digest


def _first_bytes(root: SafeRoot, entry: Entry, cache: HashCache | None) -> str | None:
    """The hash of the file's first PARTIAL_BYTES, or of all of a file of up to WHOLE_AT_ONCE
    bytes, read at once (a regular file's short read is its end); None when it is gone, or
    read whole and no longer of the size the scan saw."""
    opened = _open_scanned(root, entry)
    if opened is None:
        return None
    fd, st = opened
    whole = entry.size <= WHOLE_AT_ONCE
    try:
        data = os.pread(fd, entry.size + 1 if whole else PARTIAL_BYTES, 0)
    finally:
        os.close(fd)
    if whole and len(data) != entry.size:
        return None
    found = hashlib.sha256(data).hexdigest()
    if cache is not None:
        cache.put(st, found, partial=not whole)
    return found


Opened = tuple[Entry, int, os.stat_result]


def _confirmed_all(
    root: SafeRoot, groups: list[list[Entry]], cache: HashCache | None
) -> list[tuple[str, list[Entry]]]:
    return [found for group in groups for found in _confirmed(root, group, cache)]


def _confirmed(
    root: SafeRoot, group: list[Entry], cache: HashCache | None
) -> list[tuple[str, list[Entry]]]:
    """The groups of identical files among `group` (files of one size), each with its sha256;
    every file is read once, except the first bytes of those that differ from the others."""
    opened: list[Opened] = []
    for entry in group:
        if (fd_and_stat := _open_scanned(root, entry)) is not None:
            opened.append((entry, *fd_and_stat))
    found: list[tuple[str, list[Entry]]] = []
    try:
        rest = opened
        while len(rest) > 1:
            first = rest[0]
            digest, same, rest = _compare(first, rest[1:], cache)
            if same:
                members = [first, *same]
                found.append((digest, [entry for entry, _, _ in members]))
                if cache is not None:
                    for _, _, st in members:
                        cache.put(st, digest)
        if rest and cache is not None:  # like no other: what tells it apart is kept
            _, fd, st = rest[0]
            partial = st.st_size > WHOLE_AT_ONCE
            cache.put(st, hash_fd(fd, PARTIAL_BYTES if partial else None), partial=partial)
    finally:
        for _, fd, _ in opened:
            os.close(fd)
    return found


def _compare(
    first: Opened, others: list[Opened], cache: HashCache | None
) -> tuple[str, list[Opened], list[Opened]]:
    """The first file's sha256, and which of the others hold the same bytes and which not
    (when none does, its hash is not finished: nothing will name it). The first read is of
    PARTIAL_BYTES, where most files that differ already do, or of all of a file of up to
    WHOLE_AT_ONCE bytes; the hash of those bytes is what the cache keeps for each file read,
    as the first-bytes pass would."""
    mine, theirs = chunk_buffers()
    whole = first[0].size <= WHOLE_AT_ONCE
    digest, offset, wanted = hashlib.sha256(), 0, first[0].size if whole else PARTIAL_BYTES
    same, differ = others, list[Opened]()
    while same:
        got = os.preadv(first[1], [memoryview(mine)[:wanted]], offset)
        digest.update(memoryview(mine)[:got])
        still: list[Opened] = []
        for item in same:
            # At the end one byte more is asked for: a file that grew since is not the same.
            read = os.preadv(item[1], [memoryview(theirs)[: got or 1]], offset)
            equal = mine == theirs if got == CHUNK else mine[:got] == theirs[:got]
            (still if read == got and equal else differ).append(item)
        if offset == 0 and cache is not None:  # these first bytes are theirs too
            first_bytes = digest.hexdigest()
            for _, _, st in (first, *still):
                if not whole:
                    cache.put(st, first_bytes, partial=st.st_size > PARTIAL_BYTES)
                elif st.st_size == got:  # all of it, as it is now
                    cache.put(st, first_bytes)
        same, offset, wanted = still, offset + got, CHUNK
        if not got:
            break
    return digest.hexdigest(), same, differ


def _hashed_each(
    hasher: Callable[[Entry], tuple[Entry, str | None]], batch: list[Entry]
) -> list[tuple[str, list[Entry]]]:
    return [(digest, [entry]) for entry, digest in map(hasher, batch) if digest]


def _batches(items: list[T]) -> list[list[T]]:
    """At most BATCHES jobs' worth of items, big and small ones dealt out evenly."""
    return [batch for batch in (items[i::BATCHES] for i in range(BATCHES)) if batch]


Job = tuple[int, "Future[list[tuple[str, list[Entry]]]]"]  # files, their groups to come
Settled = dict[tuple[int, str], list[Entry]]  # files by size and sha256


def _compared_jobs(
    pool: "ThreadPoolExecutor",
    root: SafeRoot,
    groups: list[list[Entry]],
    cache: HashCache | None,
) -> list[Job]:
    """Groups of one size compared side by side in the pool, a batch of groups a job."""
    return [
        (sum(map(len, batch)), pool.submit(_confirmed_all, root, batch, cache))
        for batch in _batches(groups)
    ]


def _planned(
    groups: list[list[Entry]], cache: HashCache | None
) -> tuple[list[list[Entry]], list[Entry], Settled]:
    """Among groups of one size and first bytes: those to compare side by side, the files to
    hash one by one (to match what the cache knows of the others), and the files whose whole
    hash the cache knows, by size and hash."""
    by_key: Settled = defaultdict(list)
    compared: list[list[Entry]] = []
    hashed: list[Entry] = []
    for group in groups:
        known = [cache.known(e) for e in group] if cache is not None else [None] * len(group)
        if not any(known) and len(group) <= MAX_COMPARED:
            compared.append(group)
            continue
        for entry, digest in zip(group, known, strict=True):  # the others are hashed to match
            if digest is not None:
                by_key[(entry.size, digest)].append(entry)
            else:
                hashed.append(entry)
    return compared, hashed, by_key


def _gathered(
    here: list[tuple[str, list[Entry]]],
    jobs: list[Job],
    by_key: Settled,
    progress: ProgressFn | None,
) -> list[tuple[str, list[Entry]]]:
    """The identical files found `here` and by every job, with those `by_key` holds already."""
    from concurrent.futures import as_completed

    files = {future: count for count, future in jobs}
    done = sum(len(members) for _, members in here)
    total = done + sum(files.values())
    for digest, members in here:
        by_key[(members[0].size, digest)].extend(members)
    for future in as_completed(files):
        for digest, members in future.result():
            by_key[(members[0].size, digest)].extend(members)
        done += files[future]
        if progress:
            progress({"phase": "full hash", "done": done, "total": total})
    return [(digest, group) for (_, digest), group in by_key.items() if len(group) > 1]


Sized = tuple[list[Entry], list[str | None]]  # files of one size, the hash of their first bytes


def _known(
    group: list[Entry], cache: HashCache | None
) -> tuple[list[str | None], list[str | None]]:
    """The sha256 of each file and the hash the first-bytes pass would read (the sha256 of a
    file of up to WHOLE_AT_ONCE bytes) as the cache keeps them for the file as the scan saw
    it, or None."""
    if cache is None:
        return [None] * len(group), [None] * len(group)
    kept = cache.hashes(group)
    wholes = [whole for whole, _ in kept]
    return wholes, wholes if group[0].size <= WHOLE_AT_ONCE else [first for _, first in kept]


def _first_bytes_groups(
    root: SafeRoot, groups: list[Sized], progress: ProgressFn | None, cache: HashCache | None
) -> list[tuple[str, list[Entry]]]:
    """Files of one size regrouped by the hash of their first PARTIAL_BYTES (all of the
    shortest: see WHOLE_AT_ONCE), known or read.
    In this thread: reading 4 KiB costs less than handing the GIL between threads for each
    file (measured: one thread hashes them faster than two, even on two cores)."""
    by_key: dict[tuple[int, str], list[Entry]] = defaultdict(list)
    unknown = []
    for group, digests in groups:
        for entry, digest in zip(group, digests, strict=True):
            if digest is None:
                unknown.append(entry)
            else:
                by_key[(entry.size, digest)].append(entry)
    for done, entry in enumerate(unknown, 1):
        if (found := _first_bytes(root, entry, cache)) is not None:
            by_key[(entry.size, found)].append(entry)
        if progress and (done % PROGRESS_EVERY == 0 or done == len(unknown)):
            progress({"phase": "partial hash", "done": done, "total": len(unknown)})
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
    file; when the scan sees exactly the files of a report the cache keeps (same paths, inodes,
    sizes and times), that report is the answer."""
    entries = list(scan(root, path, progress=progress))
    if cache is None:
        return _duplicates(root, entries, min_size, progress, None)
    scope, fingerprint = f"duplicates {path!r} {min_size!r}", _fingerprint(entries)
    if (kept := cache.report(scope, fingerprint)) is not None:
        return kept
    report = _duplicates(root, entries, min_size, progress, cache)
    newest = max((max(e.mtime_ns, e.ctime_ns) for e in entries), default=0)
    cache.keep_report(scope, fingerprint, report, newest)
    return report


def _fingerprint(entries: list[Entry]) -> str:
    """What a scan saw, every file's path, size, device, inode and times, in one hash: the
    paths joined by NUL (which no name holds), the numbers at a fixed width."""
    names = "\0".join(map(attrgetter("path"), entries))
    digest = hashlib.sha256(names.encode("utf-8", "surrogateescape"))
    digest.update(array("Q", chain.from_iterable(map(attrgetter("size", "dev", "ino"), entries))))
    digest.update(array("q", chain.from_iterable(map(attrgetter("mtime_ns", "ctime_ns"), entries))))
    return digest.hexdigest()


def _by_size(entries: list[Entry], min_size: int) -> dict[int, list[Entry]]:
    """The files of at least `min_size` bytes by size, hard links one file (of its first path)."""
    files: dict[tuple[int, int], Entry] = {}
    for entry in entries:
        if entry.size < min_size:
            continue
        other = files.setdefault((entry.dev, entry.ino), entry)
        if entry.path < other.path:
            files[(entry.dev, entry.ino)] = entry
    by_size: dict[int, list[Entry]] = defaultdict(list)
    for entry in files.values():
        by_size[entry.size].append(entry)
    return by_size


def _triaged(
    by_size: dict[int, list[Entry]], cache: HashCache | None
) -> tuple[Settled, list[list[Entry]], list[Sized]]:
    """Files of one size whose every sha256 the cache knows; groups of a few files to compare
    side by side; the others, with the hash of their first bytes where the cache knows it."""
    settled: Settled = defaultdict(list)
    few: list[list[Entry]] = []
    many: list[Sized] = []
    for group in by_size.values():
        if len(group) < 2:
            continue
        wholes, firsts = _known(group, cache)
        if None not in wholes:
            for entry, sha256 in zip(group, wholes, strict=True):
                settled[(entry.size, cast(str, sha256))].append(entry)
        elif len(group) <= FEW and None in firsts:
            few.append(group)
        else:
            many.append((group, firsts))
    return settled, few, many


def _identical(
    root: SafeRoot,
    compared: list[list[Entry]],
    hashed: list[Entry],
    by_key: Settled,
    progress: ProgressFn | None,
    cache: HashCache | None,
) -> list[tuple[str, list[Entry]]]:
    """The identical files among groups compared side by side and files hashed one by one
    (to match those `by_key` holds). Small files are read in this thread, before the pool
    starts: reading one costs less than handing the GIL between threads (measured: this step
    a third faster on a tree of real files)."""
    hasher = _hasher(root, cache)
    here = _confirmed_all(root, [g for g in compared if g[0].size <= SMALL_FILE], cache)
    here += _hashed_each(hasher, [e for e in hashed if e.size <= SMALL_FILE])
    from concurrent.futures import ThreadPoolExecutor  # not for a scan its kept report answers

    with ThreadPoolExecutor(WORKERS) as pool:
        jobs = _compared_jobs(pool, root, [g for g in compared if g[0].size > SMALL_FILE], cache)
        jobs += [
            (len(batch), pool.submit(_hashed_each, hasher, batch))
            for batch in _batches([e for e in hashed if e.size > SMALL_FILE])
        ]
        return _gathered(here, jobs, by_key, progress)


def _duplicates(
    root: SafeRoot,
    entries: list[Entry],
    min_size: int,
    progress: ProgressFn | None,
    cache: HashCache | None,
) -> dict[str, Any]:
    settled, few, many = _triaged(_by_size(entries, min_size), cache)
    alike = _first_bytes_groups(root, many, progress, cache)
    large = [g for _, g in alike if g[0].size > WHOLE_AT_ONCE]
    compared, hashed, by_key = _planned(large, cache)
    full = [(d, g) for d, g in alike if g[0].size <= WHOLE_AT_ONCE]  # read whole
    full += _identical(root, compared + few, hashed, by_key, progress, cache)
    full += [(digest, group) for (_, digest), group in settled.items() if len(group) > 1]
    groups: list[dict[str, Any]] = sorted(
        (
            {"sha256": digest, "size": members[0].size, "paths": sorted(e.path for e in members)}
            for digest, members in full
        ),
        key=lambda g: (-g["size"], g["paths"][0]),
    )
    bytes_hashed = sum(
        e.size if e.size <= WHOLE_AT_ONCE else PARTIAL_BYTES for g, _ in many for e in g
    )
    bytes_hashed += sum(e.size for g in (*few, *large) for e in g)
    return {
        "groups": groups,
        "files_scanned": len(entries),
        "bytes_hashed": bytes_hashed,
        "wasted_bytes": sum(g["size"] * (len(g["paths"]) - 1) for g in groups),
    }
