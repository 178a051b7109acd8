"""Walk a folder inside the root without following symlinks (fd-based, like os.fwalk)."""

import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from agent.fs.safe_root import QUARANTINE, SafeRoot, split_relative

ProgressFn = Callable[[dict], None]
PROGRESS_EVERY = 1000


@dataclass
class Oddities:
    """What a scan passes over, for a person to tidy: folders with nothing in them, and
    symbolic links whose target does not exist (never followed, only looked at)."""

    empty_folders: list[str] = field(default_factory=list)
    broken_links: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Entry:
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
    """Regular files under `path`; symlinks are skipped, the quarantine folder too. With
    `oddities`, empty folders and broken links are noted in it on the way."""
    parts = split_relative(path, allow_root=True)
    start = root.open_dir(parts)
    prefix = "/".join(parts)
    seen = seen_bytes = 0
    try:
        for dirpath, dirnames, filenames, dirfd in os.fwalk(
            ".", dir_fd=start, follow_symlinks=False
        ):
            below = dirpath[2:] if dirpath.startswith("./") else ""
            relative_dir = "/".join(part for part in (prefix, below) if part)
            if not relative_dir and QUARANTINE in dirnames:
                dirnames.remove(QUARANTINE)
            if oddities is not None and not dirnames and not filenames and relative_dir:
                oddities.empty_folders.append(relative_dir)
            if not recursive:
                dirnames.clear()
            for name in filenames:
                try:
                    st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if not stat.S_ISREG(st.st_mode):
                    if oddities is not None and stat.S_ISLNK(st.st_mode):
                        _note_link(oddities, relative_dir, name, dirfd)
                    continue
                seen += 1
                seen_bytes += st.st_size
                if progress and seen % PROGRESS_EVERY == 0:
                    progress({"phase": "scanning", "done": seen, "bytes": seen_bytes})
                yield Entry(
                    f"{relative_dir}/{name}" if relative_dir else name,
                    st.st_size,
                    st.st_mtime,
                    st.st_dev,
                    st.st_ino,
                    st.st_mtime_ns,
                    st.st_ctime_ns,
                )
    finally:
        os.close(start)


def _note_link(oddities: Oddities, folder: str, name: str, dirfd: int) -> None:
    """A link among the files (fwalk files a link to a folder among the folders, and one to
    nothing among the files): broken when nothing is where it points."""
    try:
        os.stat(name, dir_fd=dirfd)  # where it points: only whether something is there
    except FileNotFoundError:
        oddities.broken_links.append(f"{folder}/{name}" if folder else name)
    except OSError:
        pass
