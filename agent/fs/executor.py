import contextlib
import gc
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from agent.fs import FsError, operations
from agent.fs.hash_cache import HashCache
from agent.fs.helpers import Share
from agent.fs.safe_root import SafeRoot
from agent.fs.scan import ProgressFn

# Each takes (root, params, progress), the reads below also the hash cache and the job's helper
# processes (agent.fs.helpers).
ACTIONS: dict[str, Callable[..., dict[str, Any]]] = {
    "list_files": operations.list_files,
    "detect_duplicates": operations.detect_duplicates,
    "suggest_cleanup": operations.suggest_cleanup,
    "rename": operations.rename,
    "move": operations.move,
    "quarantine_files": operations.quarantine_files,
    "restore": operations.restore,
    "purge": operations.purge,
}


# What only reads may take file hashes from the cache; what changes files hashes them itself.
READS = {"list_files", "detect_duplicates", "suggest_cleanup"}


# The hash cache a listing left saving (execute with save_later): jobs run one at a time.
_saving: threading.Thread | None = None


def wait_for_cache() -> None:
    """Until the hash cache a listing left saving is written (a no-op when none is)."""
    if _saving is not None:
        _saving.join()


def _save(cache: HashCache) -> None:
    with contextlib.suppress(sqlite3.Error, OSError):  # faster next time, or not
        cache.save()


def _save_later(cache: HashCache) -> None:
    """Saved in a thread of its own while the report goes out (on 165,000 files, a second of
    writing); not a daemon, so a process that ends waits for it."""
    global _saving
    _saving = threading.Thread(target=_save, args=(cache,), name="hash-cache-save")
    _saving.start()


@contextlib.contextmanager
def _uncollected() -> Iterator[None]:
    """No garbage collection while a scan runs: what it makes (an entry for every file) lives
    until it ends, so collecting midway frees nothing and costs a few per cent of the scan."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _open_cache(path: Path, clock: Callable[[], int]) -> HashCache | None:
    """The hash cache, once the previous listing's save is written; one that cannot be read
    (corrupt, locked) is started afresh, and a listing goes on without one rather than fail."""
    wait_for_cache()
    for attempt in range(2):
        try:
            return HashCache(path, clock)
        except sqlite3.Error:
            if attempt == 0:
                with contextlib.suppress(OSError):
                    path.unlink()
        except OSError:
            break
    return None


def execute(
    root_dir: Path,
    action: str,
    params: dict[str, Any],
    options: dict[str, Any],
    progress: ProgressFn | None = None,
    hash_cache: Path | None = None,
    private: Sequence[Path] = (),
    *,
    save_later: bool = False,
    cache_clock: Callable[[], int] = time.time_ns,
) -> dict[str, Any]:
    """Run one authorized action inside root_dir; FsError when it is refused. A listing uses
    (and fills) the hash cache file `hash_cache` when given, saved before it returns, or with
    `save_later` while the caller sends the report (the next listing waits for it). The
    folder that holds it (the agent's state: its journal and cache change with every job) and
    the `private` files (its configuration) are never listed, nor touched."""
    # Opened first: it makes its folder, which the root's scans must know to leave out.
    cache = None
    if hash_cache is not None and action in READS:
        cache = _open_cache(hash_cache, cache_clock)
    own = [hash_cache.parent, *private] if hash_cache else private
    with SafeRoot(root_dir, private=own) as root:
        if action == "delete":
            return operations.delete(
                root, params, progress, mode=options.get("delete_mode", "quarantine")
            )
        if action in READS:
            with Share(root, cache) as share, _uncollected():
                report = ACTIONS[action](root, params, progress, cache, share)
            if cache is not None:
                (_save_later if save_later else _save)(cache)
            return report
        if action not in ACTIONS:
            raise FsError("unknown_action", f"this agent does not know {action!r}")
        return ACTIONS[action](root, params, progress)
