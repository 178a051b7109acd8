"""Deleted files go to root_dir/.libervia-quarantine/<id>/<original path>, with a journal.

Everything in the quarantine is reached without following links. The journal must be a plain
file with one link (a hard link would make every delete write to a file outside the root); it
is opened and checked before a file is moved in, and when its record cannot be written the
file goes back where it was, so a quarantined file never lacks its record. Ids are checked
against their one format; a restore re-confines the path the journal names.
"""

import json
import os
import re
import stat
from datetime import UTC, datetime
from typing import Any

from agent.fs import FsError
from agent.fs.safe_root import (
    QUARANTINE,
    SafeRoot,
    hash_file,
    place_without_overwrite,
    split_relative,
)

JOURNAL = "journal.jsonl"
QUARANTINE_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{8}")
JOURNAL_FLAGS = os.O_NOFOLLOW | os.O_CLOEXEC


def new_quarantine_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + os.urandom(4).hex()


def _journal(root: SafeRoot, *, write: bool) -> int | None:
    """The journal, opened without following a link and checked: a plain file with one link
    (None when there is none yet and `write` is off)."""
    try:
        qfd = root.open_dir([QUARANTINE], create=write)
    except FsError as exc:
        if exc.code == "not_found" and not write:
            return None
        raise FsError(
            "quarantine_unsafe", f"the quarantine folder is unusable: {exc.message}"
        ) from exc
    flags = JOURNAL_FLAGS | (os.O_WRONLY | os.O_CREAT | os.O_APPEND if write else os.O_RDONLY)
    try:
        fd = os.open(JOURNAL, flags, 0o600, dir_fd=qfd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise FsError(
            "quarantine_unsafe", f"the quarantine journal cannot be opened safely: {exc.strerror}"
        ) from exc
    finally:
        os.close(qfd)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
        os.close(fd)
        raise FsError(
            "quarantine_unsafe",
            "the quarantine journal is not a plain file with one link; nothing is done",
        )
    return fd


def _write(fd: int, record: dict[str, Any]) -> None:
    os.write(fd, (json.dumps(record) + "\n").encode())
    os.fsync(fd)


def quarantine(
    root: SafeRoot, dir_fd: int, name: str, original: str, sha256: str, size: int
) -> str:
    """Move the file in; returns its path relative to root_dir."""
    qid = new_quarantine_id()
    parts = split_relative(original)
    journal = _journal(root, write=True)
    assert journal is not None
    try:
        target_fd = root.open_dir([QUARANTINE, qid, *parts[:-1]], create=True)
        try:
            place_without_overwrite(dir_fd, name, target_fd, parts[-1])
            os.fsync(target_fd)
            record = {
                "id": qid,
                "original_path": original,
                "sha256": sha256,
                "size": size,
                "quarantined_at": datetime.now(UTC).isoformat(),
            }
            try:
                _write(journal, record)
            except OSError:
                place_without_overwrite(target_fd, parts[-1], dir_fd, name)  # put it back
                raise
        finally:
            os.close(target_fd)
    finally:
        os.close(journal)
    return "/".join([QUARANTINE, qid, *parts])


def entries(root: SafeRoot) -> list[dict[str, Any]]:
    fd = _journal(root, write=False)
    if fd is None:
        return []
    with os.fdopen(fd) as handle:
        found = []
        for line in handle:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a torn last line: the file it named was put back
            if isinstance(record, dict) and QUARANTINE_ID.fullmatch(str(record.get("id", ""))):
                found.append(record)
        return found


def _open_entry(records: list[dict[str, Any]], quarantine_id: str) -> dict[str, Any]:
    """The journal's record of a file still in the quarantine (not restored, not purged)."""
    if not isinstance(quarantine_id, str) or not QUARANTINE_ID.fullmatch(quarantine_id):
        raise FsError("path_refused", f"{quarantine_id!r} is not a quarantine id")
    closed = {e["id"] for e in records if e.get("restored_at") or e.get("purged_at")}
    matches = [e for e in records if e["id"] == quarantine_id]
    if not matches or quarantine_id in closed:
        raise FsError("not_found", f"no quarantined file {quarantine_id!r}")
    return matches[0]


def restore(root_dir: str | os.PathLike, quarantine_id: str) -> dict[str, Any]:
    with SafeRoot(root_dir) as root:
        return restore_in(root, quarantine_id)


def restore_in(root: SafeRoot, quarantine_id: str) -> dict[str, Any]:
    """Put a quarantined file back where it was; never over an existing file."""
    entry = _open_entry(entries(root), quarantine_id)
    parts = split_relative(entry.get("original_path"))
    if parts[0] == QUARANTINE:
        raise FsError("path_refused", "a file is never restored into the quarantine")
    journal = _journal(root, write=True)
    assert journal is not None
    try:
        source_fd = root.open_dir([QUARANTINE, quarantine_id, *parts[:-1]])
        target_fd = root.open_dir(parts[:-1], create=True)
        try:
            place_without_overwrite(source_fd, parts[-1], target_fd, parts[-1])
            _write(journal, {**entry, "restored_at": datetime.now(UTC).isoformat()})
        finally:
            os.close(source_fd)
            os.close(target_fd)
    finally:
        os.close(journal)
    return {
        "restored": entry["original_path"],
        "quarantine_id": quarantine_id,
        "sha256": entry["sha256"],
        "size": entry["size"],
    }


def split_quarantine_path(path: str) -> tuple[str, list[str]]:
    """`.libervia-quarantine/<id>/<original path>` -> (id, original path parts)."""
    parts = split_relative(path)
    if len(parts) < 3 or parts[0] != QUARANTINE or not QUARANTINE_ID.fullmatch(parts[1]):
        raise FsError("path_refused", f"{path!r} is not a file in the quarantine")
    return parts[1], parts[2:]


def purge_in(root: SafeRoot, path: str, sha256: str) -> dict[str, Any]:
    """Erase one quarantined file for good, when it is still the content that was approved."""
    quarantine_id, original = split_quarantine_path(path)
    entry = _open_entry(entries(root), quarantine_id)
    if split_relative(entry.get("original_path")) != original:
        raise FsError("not_found", f"{path!r} is not what quarantine {quarantine_id} holds")
    journal = _journal(root, write=True)
    assert journal is not None
    try:
        folder = root.open_dir([QUARANTINE, quarantine_id, *original[:-1]])
        try:
            found, size = hash_file(folder, original[-1])
            if found != sha256:
                raise FsError(
                    "hash_mismatch",
                    f"{path!r} is not the content that was approved (sha256 {found[:12]}…);"
                    " nothing was erased",
                )
            os.unlink(original[-1], dir_fd=folder)
            _write(journal, {**entry, "purged_at": datetime.now(UTC).isoformat()})
        finally:
            os.close(folder)
    finally:
        os.close(journal)
    return {"path": path, "quarantine_id": quarantine_id, "sha256": sha256, "size": size}
