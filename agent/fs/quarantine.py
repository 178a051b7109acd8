"""Deleted files go to root_dir/.libervia-quarantine/<id>/<original path>, with a journal."""

import json
import os
import secrets
from datetime import UTC, datetime
from typing import Any

from agent.fs import FsError
from agent.fs.safe_root import QUARANTINE, SafeRoot, place_without_overwrite, split_relative

JOURNAL = "journal.jsonl"


def new_quarantine_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(4)


def quarantine(
    root: SafeRoot, dir_fd: int, name: str, original: str, sha256: str, size: int
) -> str:
    """Move the file in; returns its path relative to root_dir."""
    qid = new_quarantine_id()
    parts = split_relative(original)
    target_fd = root.open_dir([QUARANTINE, qid, *parts[:-1]], create=True)
    try:
        place_without_overwrite(dir_fd, name, target_fd, parts[-1])
        os.fsync(target_fd)
    finally:
        os.close(target_fd)
    record = {
        "id": qid,
        "original_path": original,
        "sha256": sha256,
        "size": size,
        "quarantined_at": datetime.now(UTC).isoformat(),
    }
    _append(root, record)
    return "/".join([QUARANTINE, qid, *parts])


def _append(root: SafeRoot, record: dict[str, Any]) -> None:
    qfd = root.open_dir([QUARANTINE], create=True)
    try:
        fd = os.open(
            JOURNAL, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600, dir_fd=qfd
        )
        try:
            os.write(fd, (json.dumps(record) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
    finally:
        os.close(qfd)


def entries(root: SafeRoot) -> list[dict[str, Any]]:
    try:
        qfd = root.open_dir([QUARANTINE])
    except FsError:
        return []
    try:
        fd = os.open(JOURNAL, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=qfd)
    except FileNotFoundError:
        return []
    finally:
        os.close(qfd)
    with os.fdopen(fd) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def restore(root_dir: str | os.PathLike, quarantine_id: str) -> dict[str, Any]:
    """Put a quarantined file back where it was; never over an existing file."""
    with SafeRoot(root_dir) as root:
        matches = [e for e in entries(root) if e["id"] == quarantine_id and "restored_at" not in e]
        restored = {e["id"] for e in entries(root) if e.get("restored_at")}
        if not matches or quarantine_id in restored:
            raise FsError("not_found", f"no quarantined file {quarantine_id!r} to restore")
        entry = matches[0]
        parts = split_relative(entry["original_path"])
        source_fd = root.open_dir([QUARANTINE, quarantine_id, *parts[:-1]])
        target_fd = root.open_dir(parts[:-1], create=True)
        try:
            place_without_overwrite(source_fd, parts[-1], target_fd, parts[-1])
        finally:
            os.close(source_fd)
            os.close(target_fd)
        _append(root, {**entry, "restored_at": datetime.now(UTC).isoformat()})
        return {"restored": entry["original_path"], "sha256": entry["sha256"]}
