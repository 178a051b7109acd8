"""The contract's actions on files. Each returns a JSON-serializable report."""

import os
import re
from typing import Any

from agent.fs import FsError
from agent.fs.duplicates import find_duplicates, hashes_of, whole_cost
from agent.fs.hash_cache import HashCache
from agent.fs.helpers import Share, Work, dealt
from agent.fs.quarantine import purge_in, quarantine, restore_in, split_quarantine_path
from agent.fs.safe_root import (
    QUARANTINE,
    SafeRoot,
    hash_file,
    place_without_overwrite,
    regular_file,
    split_relative,
)
from agent.fs.scan import Files, Oddities, ProgressFn, scan

JUNK = re.compile(
    r"^(\.DS_Store|Thumbs\.db|desktop\.ini|~\$.*|.*\.(tmp|crdownload|part))$", re.IGNORECASE
)
FOLDERS_BY_EXTENSION = {
    "Documents": {"pdf", "doc", "docx", "odt", "txt", "rtf", "xls", "xlsx", "ods", "ppt", "pptx"},
    "Pictures": {"jpg", "jpeg", "png", "gif", "heic", "webp", "bmp"},
    "Music": {"mp3", "flac", "ogg", "wav", "m4a"},
    "Videos": {"mp4", "mov", "mkv", "avi", "webm"},
    "Archives": {"zip", "tar", "gz", "7z", "rar"},
}


def list_files(
    root: SafeRoot,
    params: dict[str, Any],
    progress: ProgressFn | None,
    cache: HashCache | None = None,
    share: Share | None = None,
) -> dict:
    """Every file with its size and sha256: from the hash cache when the file is unchanged
    since it was kept, else read, by this process and its helpers (`share`), the largest
    first."""
    if share is None:
        with Share(root, cache) as made:
            return list_files(root, params, progress, cache, made)
    oddities = Oddities()
    entries = sorted(
        scan(
            root,
            params.get("path", "."),
            recursive=params.get("recursive", True),
            progress=progress,
            oddities=oddities,
            share=share,
        ),
        key=lambda e: e.path,
    )
    found: dict[int, tuple[str, int] | None] = {}  # by the entry's id
    for entry in entries:
        if cache is not None and (known := cache.known(entry)) is not None:
            found[id(entry)] = known, entry.size  # unchanged since it was hashed
    units = dealt([e for e in entries if id(e) not in found], whole_cost, share.parts)
    work: list[Work] = [(hashes_of, Files(files)) for files, _ in units]
    done = hashed = 0
    for index, result in share.run(work, [unit_cost for _, unit_cost in units]):
        for entry, sized in zip(units[index][0], result, strict=True):
            found[id(entry)] = sized  # None: vanished or replaced while listing
            hashed += sized[1] if sized else 0
        done += len(units[index][0])
        if progress:
            progress({"phase": "hashing", "done": done, "total": len(entries), "bytes": hashed})
    files = [
        {"path": entry.path, "size": sized[1], "sha256": sized[0], "mtime": entry.mtime}
        for entry in entries
        if (sized := found[id(entry)]) is not None
    ]
    return {
        "files": files,
        "count": len(files),
        "total_bytes": sum(f["size"] for f in files),
        "empty_folders": sorted(oddities.empty_folders),
        "broken_links": sorted(oddities.broken_links),
    }


def detect_duplicates(
    root: SafeRoot,
    params: dict[str, Any],
    progress: ProgressFn | None,
    cache: HashCache | None = None,
    share: Share | None = None,
) -> dict:
    return find_duplicates(
        root, params.get("path", "."), params.get("min_size", 1), progress, cache, share
    )


def suggest_cleanup(
    root: SafeRoot,
    params: dict[str, Any],
    progress: ProgressFn | None,
    cache: HashCache | None = None,
    share: Share | None = None,
) -> dict:
    """Concrete proposals (action + params + reason); the Engine decides on each one."""
    path = params.get("path", ".")
    suggestions: list[dict[str, Any]] = []
    duplicates = find_duplicates(root, path, 1, progress, cache, share)
    for group in duplicates["groups"]:
        keep, *extra = sorted(group["paths"], key=lambda p: (p.count("/"), len(p), p))
        for copy in extra:
            suggestions.append(
                {
                    "action": "delete",
                    "params": {"path": copy, "sha256": group["sha256"]},
                    "reason": f"same content as {keep} ({group['size']} bytes)",
                }
            )
    suggested = {s["params"]["path"] for s in suggestions}
    for entry in sorted(scan(root, path, share=share), key=lambda e: e.path):
        if entry.path in suggested:
            continue
        name = entry.path.rsplit("/", 1)[-1]
        if JUNK.match(name) or entry.size == 0:
            with root.parent(entry.path) as (dir_fd, leaf):
                sha256, _ = hash_file(dir_fd, leaf)
            reason = "empty file" if entry.size == 0 else "temporary or system junk file"
            suggestions.append(
                {
                    "action": "delete",
                    "params": {"path": entry.path, "sha256": sha256},
                    "reason": reason,
                }
            )
        elif "/" not in entry.path:
            extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
            folder = next(
                (f for f, exts in FOLDERS_BY_EXTENSION.items() if extension in exts), None
            )
            if folder:
                with root.parent(entry.path) as (dir_fd, leaf):
                    sha256, _ = hash_file(dir_fd, leaf)
                suggestions.append(
                    {
                        "action": "move",
                        "params": {"path": entry.path, "destination": folder, "sha256": sha256},
                        "reason": f"loose .{extension} file in the top folder",
                    }
                )
    return {"suggestions": suggestions, "count": len(suggestions)}


def _checked_target(dir_fd: int, name: str, expected: str | None) -> tuple[str, int]:
    """Re-hash the target right before acting; refuse when it is not what was approved."""
    regular_file(dir_fd, name)
    sha256, size = hash_file(dir_fd, name)
    if expected is not None and sha256 != expected:
        raise FsError(
            "hash_mismatch",
            f"{name!r} changed since approval (sha256 {sha256[:12]}…, approved "
            f"{expected[:12]}…); nothing was done",
        )
    return sha256, size


def _touched(
    path: str, new_path: str | None, before: tuple[str, int], after: tuple[str, int] | None
) -> dict[str, Any]:
    return {
        "path": path,
        "new_path": new_path,
        "sha256_before": before[0],
        "size_before": before[1],
        "sha256_after": after[0] if after else None,
        "size_after": after[1] if after else None,
    }


def rename(root: SafeRoot, params: dict[str, Any], progress: ProgressFn | None) -> dict:
    new_name = params["new_name"]
    if split_relative(new_name) != [new_name] or new_name == QUARANTINE:
        raise FsError("path_refused", f"{new_name!r} must be a plain file name")
    path = _normal(params["path"])
    with root.parent(path) as (dir_fd, name):
        before = _checked_target(dir_fd, name, params.get("sha256"))
        place_without_overwrite(dir_fd, name, dir_fd, new_name)
        after = hash_file(dir_fd, new_name)
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    new_path = f"{parent}/{new_name}" if parent else new_name
    return {"files": [_touched(path, new_path, before, after)]}


def _normal(path: object) -> str:
    """A path as reports name it: `./docs//a.txt` is `docs/a.txt` (refused as ever if bad)."""
    return "/".join(split_relative(path))


def move(root: SafeRoot, params: dict[str, Any], progress: ProgressFn | None) -> dict:
    destination = split_relative(params["destination"], allow_root=True)
    if destination and destination[0] == QUARANTINE:
        raise FsError("path_refused", f"{QUARANTINE} is managed by the agent")
    new_name = params.get("new_name")
    if new_name is not None and (split_relative(new_name) != [new_name] or new_name == QUARANTINE):
        raise FsError("path_refused", f"{new_name!r} must be a plain file name")
    path = _normal(params["path"])
    with root.parent(path) as (dir_fd, name):
        before = _checked_target(dir_fd, name, params.get("sha256"))
        target_fd = root.open_dir(destination, create=True)
        placed = new_name or name
        try:
            place_without_overwrite(dir_fd, name, target_fd, placed)
            after = hash_file(target_fd, placed)
        finally:
            os.close(target_fd)
    new_path = "/".join([*destination, placed])
    return {"files": [_touched(path, new_path, before, after)]}


def delete(
    root: SafeRoot, params: dict[str, Any], progress: ProgressFn | None, mode: str = "quarantine"
) -> dict:
    path = _normal(params["path"])
    with root.parent(path) as (dir_fd, name):
        before = _checked_target(dir_fd, name, params.get("sha256"))
        if mode == "hard":
            os.unlink(name, dir_fd=dir_fd)
            return {"files": [_touched(path, None, before, None)], "quarantine_path": None}
        where = quarantine(root, dir_fd, name, path, *before)
    return {
        "files": [_touched(path, where, before, before)],
        "quarantine_path": where,
        "quarantine_id": split_quarantine_path(where)[0],
    }


def _each(
    files: list[dict[str, Any]], progress: ProgressFn | None, act: Any, verb: str
) -> dict[str, Any]:
    """Run `act` on every file of an approved set, on its own: one that changed or vanished is
    left alone and reported; the others go. When none could be done the job is refused."""
    outcomes: list[dict[str, Any]] = []
    done_bytes = 0
    for n, item in enumerate(files):
        if progress:
            progress({"phase": "hashing", "done": n, "total": len(files), "bytes": done_bytes})
        try:
            outcome = act(item)
        except FsError as exc:
            error = {"code": exc.code, "message": exc.message}
            outcomes.append({"path": item["path"], "status": "refused", "error": error})
            continue
        done_bytes += item["size"]
        outcomes.append({**outcome, "status": verb})
    refused = [o for o in outcomes if o["status"] == "refused"]
    if len(refused) == len(outcomes):
        first = refused[0]["error"]
        raise FsError(
            first["code"], f"none of the {len(files)} files was {verb}; {first['message']}"
        )
    return {
        "files": outcomes,
        verb: len(outcomes) - len(refused),
        "refused": len(refused),
        "bytes": done_bytes,
    }


def quarantine_files(root: SafeRoot, params: dict[str, Any], progress: ProgressFn | None) -> dict:
    def one(item: dict[str, Any]) -> dict[str, Any]:
        with root.parent(item["path"]) as (dir_fd, name):
            before = _checked_target(dir_fd, name, item["sha256"])
            where = quarantine(root, dir_fd, name, item["path"], *before)
        return {
            **_touched(item["path"], where, before, before),
            "quarantine_path": where,
            "quarantine_id": split_quarantine_path(where)[0],
        }

    return _each(params["files"], progress, one, "quarantined")


def restore(root: SafeRoot, params: dict[str, Any], progress: ProgressFn | None) -> dict:
    return restore_in(root, params["quarantine_id"])


def purge(root: SafeRoot, params: dict[str, Any], progress: ProgressFn | None) -> dict:
    def one(item: dict[str, Any]) -> dict[str, Any]:
        return purge_in(root, item["path"], item["sha256"])

    return _each(params["files"], progress, one, "purged")
