"""Walk a folder inside the root without following symlinks (fd-based, like os.fwalk)."""

import os
import stat
from array import array
from collections.abc import Callable, Sequence
from typing import NamedTuple, cast

from agent.fs import FsError
from agent.fs.helpers import Share, Work
from agent.fs.safe_root import DIR_FLAGS, QUARANTINE, SafeRoot, split_relative

ProgressFn = Callable[[dict], None]
PROGRESS_EVERY = 1000


class Oddities:
    """What a scan passes over, for a person to tidy: folders with nothing in them, and
    symbolic links whose target does not exist (never followed, only looked at)."""

    def __init__(self) -> None:
        self.empty_folders: list[str] = []
        self.broken_links: list[str] = []


class Entry(NamedTuple):
    path: str  # relative to root_dir, '/'-separated
    size: int
    mtime: float
    dev: int
    ino: int
    mtime_ns: int = 0
    ctime_ns: int = 0


# Entries as they travel to and from a helper process: the paths joined by NUL (which no name
# holds), the numbers of each in arrays (pickling a list of named tuples costs four times more).
Packed = tuple[str, bytes, bytes, bytes]


class Files:
    """Entries a unit of work is given, or gives back; they are packed only when they go to or
    come from a helper process (in this process, the list itself is used)."""

    __slots__ = ("entries",)

    def __init__(self, entries: list[Entry]) -> None:
        self.entries = entries

    def __reduce__(self) -> tuple[Callable[[Packed], "Files"], tuple[Packed]]:
        return _unpacked, (pack(self.entries),)


def _unpacked(packed: Packed) -> Files:
    return Files(unpack(packed))


def pack(entries: Sequence[Entry]) -> Packed:
    if not entries:
        return "", b"", b"", b""
    paths, sizes, mtimes, devs, inos, mtimes_ns, ctimes_ns = zip(*entries, strict=True)
    return (
        "\0".join(paths),
        array("Q", devs + inos).tobytes(),  # unsigned
        array("q", sizes + mtimes_ns + ctimes_ns).tobytes(),
        array("d", mtimes).tobytes(),
    )


def unpack(packed: Packed) -> list[Entry]:
    paths, ids_bytes, numbers_bytes, mtimes_bytes = packed
    if not paths and not ids_bytes:
        return []
    ids, numbers, mtimes = array("Q"), array("q"), array("d")
    ids.frombytes(ids_bytes)
    numbers.frombytes(numbers_bytes)
    mtimes.frombytes(mtimes_bytes)
    n = len(mtimes)
    rows = zip(
        paths.split("\0"),
        numbers[:n],
        mtimes,
        ids[:n],
        ids[n:],
        numbers[n : 2 * n],
        numbers[2 * n :],
        strict=True,
    )
    return list(map(Entry._make, rows))


# Files a unit of the walk lists before it hands the folders it has not entered yet back, to be
# shared out as a few units of their own: so a tree of any shape is shared out among the job's
# helper processes, in units large enough that handing one over costs little.
UNIT_FILES = 2000
FIRST_UNIT_FILES = 200  # the first, walked alone: sooner shared
# Folders to walk, each with the names of the folders in it to walk (None: all of it).
Places = list[tuple[str, list[str] | None]]
# A unit of the walk: its places; whether to walk into folders, whether to note empty folders
# and broken links, and how many files to find before handing the rest back.
WalkUnit = tuple[Places, bool, bool, int]
# What it gives back: its files, its empty folders and broken links (when they are noted), and
# the places it left for other units.
Walked = tuple[Files, list[str], list[str], Places]


def scan(
    root: SafeRoot,
    path: object,
    *,
    recursive: bool = True,
    progress: ProgressFn | None = None,
    oddities: Oddities | None = None,
    share: Share | None = None,
) -> list[Entry]:
    """Regular files under `path`; symlinks are skipped, the quarantine folder and the root's
    private folders too. With `oddities`, empty folders and broken links are noted in it on
    the way. The walk is shared with the job's helper processes (`share`), a few thousand
    files a unit. The files come in the order of a walk alone, depth first: each unit walks a
    run of that order, the places it leaves are the rest of its run, and the runs are put
    back together by where they came from.

    Each folder is read once with scandir on its own descriptor, and entered with
    O_NOFOLLOW | O_DIRECTORY relative to its parent's (a unit's first folders: component by
    component from the root), so a folder swapped for a link while the scan runs is never
    entered."""
    if share is None:
        with Share(root, helpers=0) as alone:
            return scan(
                root,
                path,
                recursive=recursive,
                progress=progress,
                oddities=oddities,
                share=alone,
            )
    parts = split_relative(path, allow_root=True)
    os.close(root.open_dir(parts))  # a path that is no folder of the root is refused here
    noting, split = oddities is not None, 2 * (share.helpers + 1)
    first: WalkUnit = ([("/".join(parts), None)], recursive, noting, FIRST_UNIT_FILES)
    work: list[Work] = [(walked_from, first)]
    places: list[tuple[int, ...]] = [()]  # where each unit's files go in the order of all
    walked: dict[tuple[int, ...], Walked] = {}
    counter = _Counter(progress)
    for index, result in share.run(work):
        walked[places[index]] = result
        for number, rest in enumerate(_runs(result[3], split)):
            work.append((walked_from, (rest, True, noting, UNIT_FILES)))
            places.append((*places[index], number))
        counter.count(result[0].entries)
    found: list[Entry] = []
    for place in sorted(walked):
        files, empty_folders, broken_links, _ = walked[place]
        found += files.entries
        if oddities is not None:
            oddities.empty_folders += empty_folders
            oddities.broken_links += broken_links
    return found


def _runs(left: Places, parts: int) -> list[Places]:
    """The places a unit left, in order, in at most `parts` runs of about as many folders."""
    folders = [(folder, name) for folder, names in left for name in names or ()]
    step = max(1, -(-len(folders) // parts))
    runs: list[Places] = []
    for start in range(0, len(folders), step):
        run: Places = []
        for folder, name in folders[start : start + step]:
            if run and run[-1][0] == folder:
                cast(list[str], run[-1][1]).append(name)
            else:
                run.append((folder, [name]))
        runs.append(run)
    return runs


def walked_from(root: SafeRoot, cache: object, unit: WalkUnit) -> Walked:
    """A unit of the walk (run here or by a helper): the files under its places, until the
    unit's number of files is found; the places not walked by then are given back."""
    places, recursive, noting, budget = unit
    oddities = Oddities() if noting else None
    found: list[Entry] = []
    walk = _Walk(oddities, found, root.private, budget)
    for at, (folder, names) in enumerate(places):
        if len(found) >= budget:
            walk.left += places[at:]
            break
        try:
            fd = root.open_dir(folder.split("/") if folder else [])
        except (FsError, OSError):  # gone, or now a link, since its parent was read
            continue
        try:
            if names is None:
                walk.folder(fd, folder, recursive)
            else:
                walk.subfolders(fd, folder, names)
        finally:
            os.close(fd)
    empty, broken = (oddities.empty_folders, oddities.broken_links) if oddities else ([], [])
    return Files(found), empty, broken, walk.left


class _Counter:
    def __init__(self, progress: ProgressFn | None) -> None:
        self.progress, self.seen, self.seen_bytes = progress, 0, 0

    def count(self, files: list[Entry]) -> None:
        """A unit's files counted; told every PROGRESS_EVERY files or so."""
        before, self.seen = self.seen, self.seen + len(files)
        self.seen_bytes += sum(entry.size for entry in files)
        if self.progress and self.seen // PROGRESS_EVERY > before // PROGRESS_EVERY:
            self.progress({"phase": "scanning", "done": self.seen, "bytes": self.seen_bytes})


class _Walk:
    def __init__(
        self,
        oddities: Oddities | None,
        found: list[Entry],
        private: frozenset[tuple[int, int]],
        budget: int = UNIT_FILES,
    ) -> None:
        self.oddities, self.found, self.private, self.budget = oddities, found, private, budget
        self.private_inodes = {ino for _, ino in private}
        # Folders not entered, by the folder they are in: `budget` files were found before.
        self.left: Places = []

    def _is_private(self, entry: os.DirEntry[str]) -> bool:
        if entry.inode() not in self.private_inodes:  # read with the listing: no system call
            return False
        return (entry.stat(follow_symlinks=False).st_dev, entry.inode()) in self.private

    def folder(self, dirfd: int, folder: str, recursive: bool) -> None:
        try:
            with os.scandir(dirfd) as listing:
                entries = list(listing)
        except OSError:  # unreadable, or gone since: nothing to list there
            return
        subfolders = []
        prefix = f"{folder}/" if folder else ""
        oddities, found = self.oddities, self.found
        make = Entry._make  # no Python call to build each record: about 100 ns an entry less
        for entry in entries:
            name = entry.name
            try:
                if entry.is_file(follow_symlinks=False):  # the file type from the listing itself
                    st = entry.stat(follow_symlinks=False)
                elif entry.is_dir(follow_symlinks=False):
                    if (folder or name != QUARANTINE) and not self._is_private(entry):
                        subfolders.append(name)
                    continue
                elif entry.is_symlink():
                    # A link to a folder is passed over; one to nothing is a broken link.
                    if oddities is not None and not _to_folder(entry):
                        _note_link(oddities, folder, name, dirfd)
                    continue
                else:
                    continue  # a device, a socket, a pipe
            except OSError:  # gone since the folder was read, or not ours to look at
                continue
            if not stat.S_ISREG(st.st_mode):  # replaced since the folder was read
                continue
            if st.st_ino in self.private_inodes and (st.st_dev, st.st_ino) in self.private:
                continue
            found.append(
                make(
                    (
                        prefix + name,
                        st.st_size,
                        st.st_mtime,
                        st.st_dev,
                        st.st_ino,
                        st.st_mtime_ns,
                        st.st_ctime_ns,
                    )
                )
            )
        if oddities is not None and not entries and folder:
            oddities.empty_folders.append(folder)
        if recursive:
            self.subfolders(dirfd, folder, subfolders)

    def subfolders(self, dirfd: int, folder: str, names: list[str]) -> None:
        """Walk the folders `names` of `folder`, until `budget` files are found."""
        for at, name in enumerate(names):
            if len(self.found) >= self.budget:
                self.left.append((folder, names[at:]))
                return
            try:
                child = os.open(name, DIR_FLAGS, dir_fd=dirfd)
            except OSError:  # gone, unreadable, or now a link: not entered
                continue
            try:
                self.folder(child, f"{folder}/{name}" if folder else name, True)
            finally:
                os.close(child)


def _to_folder(link: os.DirEntry[str]) -> bool:
    try:
        return link.is_dir()
    except OSError:  # a loop, or a place it may not look into
        return False


def _note_link(oddities: Oddities, folder: str, name: str, dirfd: int) -> None:
    """A link that is not to a folder: broken when nothing is where it points."""
    try:
        os.stat(name, dir_fd=dirfd)  # where it points: only whether something is there
    except FileNotFoundError:
        oddities.broken_links.append(f"{folder}/{name}" if folder else name)
    except OSError:
        pass
