"""Walk a folder inside the root without following symlinks (fd-based, like os.fwalk)."""

import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from agent.fs.safe_root import QUARANTINE, SafeRoot, split_relative

ProgressFn = Callable[[dict], None]
PROGRESS_EVERY = 1000


@dataclass(frozen=True)
class Entry:
    path: str  # relative to root_dir, '/'-separated
    size: int
    mtime: float
    dev: int
    ino: int


def scan(
    root: SafeRoot, path: object, *, recursive: bool = True, progress: ProgressFn | None = None
) -> Iterator[Entry]:
    """Regular files under `path`; symlinks are skipped, the quarantine folder too."""
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
            if not recursive:
                dirnames.clear()
            for name in filenames:
                try:
                    st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if not stat.S_ISREG(st.st_mode):
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
                )
    finally:
        os.close(start)
