"""Duplicate files: group by size, then by the hash of their first bytes, then by content.

The last step reads each file once: in a group of files of one size and first bytes, the
first one's sha256 is computed while the others are compared with it byte for byte, chunk by
chunk (hashing one and comparing the rest costs less than hashing them all); those that
differ are sorted out among themselves the same way. A group whose members the hash cache
partly knows, or too large to keep open at once, is hashed file by file instead; one whose
every sha256 it knows is not read at all. A few files of one size skip the first-bytes pass:
compared side by side, those that differ do so in their first PARTIAL_BYTES, read first
(fclones and jdupes order their work the same way, cheapest test first). Files of up to 16 KiB
are read whole by the first-bytes pass, which groups them by their sha256 at once.

The reading is dealt in units to this process and its helper processes (agent.fs.helpers), the
costliest first, in two rounds: the first bytes of files of sizes many share, with the
side-by-side compares of the few files of other sizes; then the compares of the groups the
first bytes left.

Hard links (same device and inode) are one file, never duplicates of each other. Files are
re-opened relative to the root and checked against the scanned inode, so a folder swapped for
a symlink during the scan cannot lead the hashing outside the root.
"""

import contextlib
import hashlib
import os
import stat
from array import array
from collections import defaultdict
from collections.abc import Callable
from itertools import chain
from operator import attrgetter
from typing import Any, cast

from agent.fs.hash_cache import PARTIAL_BYTES, HashCache, Keeper
from agent.fs.helpers import UNIT_FILES, Share, Work, dealt
from agent.fs.safe_root import CHUNK, DIR_FLAGS, FILE_FLAGS, SafeRoot, chunk_buffers, hash_fd
from agent.fs.scan import Entry, Files, ProgressFn, scan

MAX_COMPARED = 32  # files of one group compared side by side (each is an open descriptor)
FEW = 4  # files of one size compared side by side with no first-bytes pass before
# Files up to this size are read whole by the first-bytes pass: hashing the rest of one costs
# less than opening it again to compare it with the others (measured on real files).
WHOLE_AT_ONCE = 16 * 1024
# What a unit of work costs is counted in bytes read; opening, checking and closing a file costs
# about as much as reading 16 KiB, and hashing a byte as reading six (measured: ~10 us a file,
# 7 GB/s read from the page cache, 1.3 GB/s sha256).
OPEN_COST = 16 * 1024
HASH_COST = 6


def _open_scanned(root: SafeRoot, entry: Entry) -> tuple[int, os.stat_result] | None:
    """The file the scan saw, opened without following links; None when it is gone, or no
    longer that regular file."""
    try:
        fd = os.open(entry.path, FILE_FLAGS, dir_fd=root.fd)
    except OSError:
        return None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != (entry.dev, entry.ino):
        os.close(fd)
        return None
    return fd, st


def _hashed(root: SafeRoot, entry: Entry, cache: Keeper | None) -> tuple[str, int] | None:
    """The sha256 of all of the file (kept in `cache` when given) and its size as it was
    read; None when it is gone."""
    opened = _open_scanned(root, entry)
    if opened is None:
        return None
    fd, st = opened
    try:
        found = hash_fd(fd)
    finally:
        os.close(fd)
    if cache is not None:
        cache.put(st, found)
    return found, st.st_size


Opened = tuple[Entry, int, os.stat_result]


def _confirmed(
    root: SafeRoot, group: list[Entry], cache: Keeper | None
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
    first: Opened, others: list[Opened], cache: Keeper | None
) -> tuple[str, list[Opened], list[Opened]]:
    """The first file's sha256, and which of the others hold the same bytes and which not
    (when none does, its hash is not finished: nothing will name it). The first read is of
    PARTIAL_BYTES, where most files that differ already do, or of all of a file of up to
    WHOLE_AT_ONCE bytes; the hash of those bytes is what the cache keeps for each file read,
    as the first-bytes pass would. The bytes read are compared where they lie, in the two
    buffers (`startswith` compares a prefix without copying it; a slice would be a copy)."""
    mine, theirs = chunk_buffers()
    their_bytes = memoryview(theirs)
    whole = first[0].size <= WHOLE_AT_ONCE
    digest, offset, wanted = hashlib.sha256(), 0, first[0].size if whole else PARTIAL_BYTES
    same, differ = others, list[Opened]()
    while same:
        got = os.preadv(first[1], [memoryview(mine)[:wanted]], offset)
        digest.update(memoryview(mine)[:got])
        still: list[Opened] = []
        for item in same:
            # At the end one byte more is asked for: a file that grew since is not the same.
            read = os.preadv(item[1], [their_bytes[: got or 1]], offset)
            equal = read == got and mine.startswith(their_bytes[:got])
            (still if equal else differ).append(item)
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


# The units of work, run here or by a helper process (by name: module-level functions).


def first_bytes_of(root: SafeRoot, cache: Keeper | None, files: Files) -> list[str | None]:
    """The hash of each file's first PARTIAL_BYTES, or of all of a file of up to WHOLE_AT_ONCE
    bytes, read at once (a regular file's short read is its end); None for a file that is
    gone, no longer the regular file the scan saw, or (read whole) no longer of its size.

    Files are opened by their name in their folder's descriptor, a folder opened once for its
    files in a row (the scan's order keeps them together): the system is spared the walk down
    each whole path, a quarter of the cost in a tree of real files; what is opened is checked
    against the scanned inode all the same. One loop with its names at hand: this step touches
    every file of a size another file has."""
    found: list[str | None] = []
    note = found.append
    open_, fstat, pread, close, sha256 = os.open, os.fstat, os.pread, os.close, hashlib.sha256
    is_regular, root_fd = stat.S_ISREG, root.fd
    entries = files.entries
    heads = [entry.path.rpartition("/")[0] for entry in entries]
    heads.append("")
    folder, folder_fd = "", root_fd
    try:
        for at, (path, size, _, dev, ino, _, _) in enumerate(entries):
            head = heads[at]
            if head != folder:
                if folder_fd != root_fd:
                    close(folder_fd)
                folder, folder_fd = "", root_fd
                if head and heads[at + 1] == head:  # a folder of several files in a row
                    with contextlib.suppress(OSError):  # else opened from the root by path
                        folder_fd = open_(head, DIR_FLAGS, dir_fd=root_fd)
                        folder = head
            try:
                name = path if folder_fd == root_fd else path[len(head) + 1 :]
                fd = open_(name, FILE_FLAGS, dir_fd=folder_fd)
            except OSError:
                note(None)
                continue
            try:
                st = fstat(fd)
                if not is_regular(st.st_mode) or st.st_ino != ino or st.st_dev != dev:
                    note(None)
                    continue
                whole = size <= WHOLE_AT_ONCE
                data = pread(fd, size + 1 if whole else PARTIAL_BYTES, 0)
            finally:
                close(fd)
            if whole and len(data) != size:
                note(None)
                continue
            digest = sha256(data).hexdigest()
            if cache is not None:
                cache.put(st, digest, partial=not whole)
            note(digest)
    finally:
        if folder_fd != root_fd:
            close(folder_fd)
    return found


def hashes_of(root: SafeRoot, cache: Keeper | None, files: Files) -> list[tuple[str, int] | None]:
    """The sha256 and size of each file as it is read now (None: gone since the scan)."""
    return [_hashed(root, entry, cache) for entry in files.entries]


def identical_in(
    root: SafeRoot, cache: Keeper | None, groups: list[Files]
) -> list[tuple[int, str, list[int]]]:
    """For each set of identical files found: its group's place, its sha256, its members'."""
    found = []
    for number, files in enumerate(groups):
        group = files.entries
        place = {entry: n for n, entry in enumerate(group)}
        for digest, members in _confirmed(root, group, cache):
            found.append((number, digest, [place[entry] for entry in members]))
    return found


def whole_cost(entry: Entry) -> int:
    """What hashing all of a file costs (see OPEN_COST)."""
    return OPEN_COST + HASH_COST * entry.size


def _group_cost(group: list[Entry]) -> int:
    """Each file opened and read, one of them hashed."""
    return len(group) * (OPEN_COST + group[0].size) + HASH_COST * group[0].size


Settled = dict[tuple[int, str], list[Entry]]  # files by size and sha256


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


class _Round:
    """One round of units: files whose first bytes are to be hashed, files to hash whole, and
    groups of files of one size to compare side by side, dealt into units."""

    def __init__(self, share: Share, progress: ProgressFn | None, phase: str) -> None:
        self.share, self.progress, self.phase = share, progress, phase
        self.parts = share.parts
        self.work: list[Work] = []
        self.files: list[list[Entry]] = []  # of each unit of first bytes or whole hashes
        self.groups: list[list[list[Entry]]] = []  # of each unit of compares
        self.costs: list[int] = []

    def first_bytes(self, entries: list[Entry]) -> None:
        """In the order given (the scan's: a folder's files together), a few hundred a unit;
        each costs about the same (a small read)."""
        step = min(UNIT_FILES, max(1, -(-len(entries) // self.parts)))
        for start in range(0, len(entries), step):
            files = entries[start : start + step]
            self._add(first_bytes_of, files, len(files) * (OPEN_COST + HASH_COST * PARTIAL_BYTES))

    def hashes(self, entries: list[Entry]) -> None:
        for files, unit_cost in dealt(entries, whole_cost, self.parts):
            self._add(hashes_of, files, unit_cost)

    def _add(self, task: Callable[..., Any], files: list[Entry], cost: int) -> None:
        self.work.append((task, Files(files)))
        self.files.append(files)
        self.groups.append([])
        self.costs.append(cost)

    def compares(self, groups: list[list[Entry]]) -> None:
        for unit, unit_cost in dealt(groups, _group_cost, self.parts):
            self.work.append((identical_in, [Files(group) for group in unit]))
            self.files.append([])
            self.groups.append(unit)
            self.costs.append(unit_cost)

    def run(self, by_key: Settled) -> list[tuple[str, list[Entry]]]:
        """Files by size and hash (into `by_key`), and the groups of identical files found."""
        found: list[tuple[str, list[Entry]]] = []
        total = sum(map(len, self.files)) + sum(len(g) for unit in self.groups for g in unit)
        done = 0
        for index, result in self.share.run(self.work, self.costs):
            files, groups = self.files[index], self.groups[index]
            for entry, found_here in zip(files, result if files else (), strict=True):
                if found_here is not None:  # a hash, or a hash and the size read (hashes_of)
                    digest = found_here if isinstance(found_here, str) else found_here[0]
                    by_key[(entry.size, digest)].append(entry)
            for number, sha256, members in result if groups else ():
                found.append((sha256, [groups[number][member] for member in members]))
            done += len(files) + sum(map(len, groups))
            if self.progress:
                self.progress({"phase": self.phase, "done": done, "total": total})
        return found


def find_duplicates(
    root: SafeRoot,
    path: object = ".",
    min_size: int = 1,
    progress: ProgressFn | None = None,
    cache: HashCache | None = None,
    share: Share | None = None,
) -> dict[str, Any]:
    """Groups of identical files. With `cache`, the partial and full hashes of files unchanged
    since they were kept are taken from it, so a second scan of an unchanged folder opens no
    file; when the scan sees exactly the files of a report the cache keeps (same paths, inodes,
    sizes and times), that report is the answer. `share` is the job's helper processes (made
    here when not given)."""
    if share is None:
        with Share(root, cache) as made:
            return find_duplicates(root, path, min_size, progress, cache, made)
    entries = scan(root, path, progress=progress, share=share)
    if cache is None:
        return _duplicates(share, entries, min_size, progress)
    scope, fingerprint = f"duplicates {path!r} {min_size!r}", _fingerprint(entries)
    if (kept := cache.report(scope, fingerprint)) is not None:
        return kept
    report = _duplicates(share, entries, min_size, progress)
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
    """The files of at least `min_size` bytes of the sizes more than one file has; hard links
    are one file (of its first path)."""
    by_size: dict[int, list[Entry]] = defaultdict(list)
    for entry in entries:
        by_size[entry.size].append(entry)
    shared: dict[int, list[Entry]] = {}
    for size, group in by_size.items():
        if len(group) < 2 or size < min_size:
            continue
        if len({(entry.dev, entry.ino) for entry in group}) < len(group):
            files: dict[tuple[int, int], Entry] = {}
            for entry in sorted(group, key=attrgetter("path"), reverse=True):
                files[(entry.dev, entry.ino)] = entry
            group = list(files.values())
        if len(group) > 1:
            shared[size] = group
    return shared


def _triaged(
    by_size: dict[int, list[Entry]], cache: HashCache | None
) -> tuple[Settled, list[list[Entry]], list[Sized]]:
    """Files of one size whose every sha256 the cache knows; groups of a few files to compare
    side by side (but files the first-bytes pass reads whole); the others, with the hash of
    their first bytes where the cache knows it."""
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
        elif len(group) <= FEW and None in firsts and group[0].size > WHOLE_AT_ONCE:
            few.append(group)
        else:
            many.append((group, firsts))
    return settled, few, many


def _duplicates(
    share: Share, entries: list[Entry], min_size: int, progress: ProgressFn | None
) -> dict[str, Any]:
    """The groups of identical files of at least `min_size` bytes among `entries` (the
    scan's)."""
    cache = share.cache
    settled, few, many = _triaged(_by_size(entries, min_size), cache)
    # Round 1: the first bytes the cache does not know, and the few files of a size compared.
    by_first: Settled = defaultdict(list)
    unknown: set[int] = set()  # files, by id, whose first bytes are to be read
    for group, digests in many:
        for entry, digest in zip(group, digests, strict=True):
            if digest is None:
                unknown.add(id(entry))
            else:
                by_first[(entry.size, digest)].append(entry)
    first = _Round(share, progress, "partial hash")
    first.first_bytes([entry for entry in entries if id(entry) in unknown])  # a folder's together
    first.compares(few)
    found = first.run(by_first)
    # Round 2: the groups the first bytes left (those read whole are found already).
    large = [g for g in by_first.values() if len(g) > 1 and g[0].size > WHOLE_AT_ONCE]
    compared, hashed, known = _planned(large, cache)
    second = _Round(share, progress, "full hash")
    second.compares(compared)
    second.hashes(hashed)
    found += second.run(known)
    by_key: Settled = defaultdict(list)
    for (size, digest), group in by_first.items():
        if size <= WHOLE_AT_ONCE:
            by_key[(size, digest)] += group
    for digest, members in found:
        by_key[(members[0].size, digest)] += members
    for key, group in chain(known.items(), settled.items()):
        by_key[key] += group
    groups: list[dict[str, Any]] = sorted(
        (
            {"sha256": digest, "size": size, "paths": sorted(e.path for e in members)}
            for (size, digest), members in by_key.items()
            if len(members) > 1
        ),
        key=lambda g: (-g["size"], g["paths"][0]),
    )
    bytes_hashed = sum(len(g) * _first_read(g[0].size) for g, _ in many)
    bytes_hashed += sum(len(g) * g[0].size for g in (*few, *large))
    return {
        "groups": groups,
        "files_scanned": len(entries),
        "bytes_hashed": bytes_hashed,
        "wasted_bytes": sum(g["size"] * (len(g["paths"]) - 1) for g in groups),
    }


def _first_read(size: int) -> int:
    """What the first-bytes pass reads of a file of this size."""
    return size if size <= WHOLE_AT_ONCE else PARTIAL_BYTES
