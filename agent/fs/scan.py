"""Walk a folder inside the root without following symlinks (fd-based, like os.fwalk)."""

import os
import stat
from collections.abc import Callable, Iterator
from typing import NamedTuple

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


def scan(
    root: SafeRoot,
    path: object,
    *,
    recursive: bool = True,
    progress: ProgressFn | None = None,
    oddities: Oddities | None = None,
) -> Iterator[Entry]:
    """Regular files under `path`; symlinks are skipped, the quarantine folder and the root's
    private folders too. With `oddities`, empty folders and broken links are noted in it on
    the way.

    Each folder is read once with scandir on its own descriptor, and entered with
    O_NOFOLLOW | O_DIRECTORY relative to its parent's, so a folder swapped for a link while
    the scan runs is never entered."""
    parts = split_relative(path, allow_root=True)
    start = root.open_dir(parts)
    found: list[Entry] = []
    try:
        walk = _Walk(_Counter(progress), oddities, found, root.private)
        walk.folder(start, "/".join(parts), recursive)
    finally:
        os.close(start)
    yield from found


class _Counter:
    def __init__(self, progress: ProgressFn | None) -> None:
        self.progress, self.seen, self.seen_bytes = progress, 0, 0

    def count(self, files: int, size: int) -> None:
        """A folder's files counted; told every PROGRESS_EVERY files or so."""
        before, self.seen = self.seen, self.seen + files
        self.seen_bytes += size
        if self.progress and self.seen // PROGRESS_EVERY > before // PROGRESS_EVERY:
            self.progress({"phase": "scanning", "done": self.seen, "bytes": self.seen_bytes})


class _Walk:
    def __init__(
        self,
        counter: _Counter,
        oddities: Oddities | None,
        found: list[Entry],
        private: frozenset[tuple[int, int]],
    ) -> None:
        self.counter, self.oddities, self.found, self.private = counter, oddities, found, private
        self.private_inodes = {ino for _, ino in private}

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
        oddities, found, listed, size = self.oddities, self.found, len(self.found), 0
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
            size += st.st_size
            found.append(
                Entry(
                    prefix + name,
                    st.st_size,
                    st.st_mtime,
                    st.st_dev,
                    st.st_ino,
                    st.st_mtime_ns,
                    st.st_ctime_ns,
                )
            )
        self.counter.count(len(found) - listed, size)
        if oddities is not None and not entries and folder:
            oddities.empty_folders.append(folder)
        if not recursive:
            return
        for name in subfolders:
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
