"""Online backups of the data dir (SQLite backup API) and of the accounts store (pg_dump).

A backup is a folder `<backup_root>/<UTC stamp>/` holding `manifest.json`, `data/` (the
data dir's SQLite files and the engine's signing key, same layout: the registry and each
institution's one `institution.db`) and, when the accounts live in PostgreSQL,
`accounts.pgdump`. It is written under a `.partial` name and renamed when complete, so a crash
never leaves something that looks like a backup. Restoring a backup of the v1 layout
(`tenant.db` + `ledger.db`) migrates it, verified, as the engine would.
"""

import fcntl
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from ledger.verify import VerifyResult, verify_database
from tenants import TenantError, schema
from tenants.layout import INSTITUTION_ID, DataDir
from tenants.migration import V1_FILES, V1_LEDGER, migrate_data_dir

MANIFEST = "manifest.json"
PG_DUMP = "accounts.pgdump"
PARTIAL = ".partial"
FORMAT = "libervia-backup/2"
READABLE_FORMATS = ("libervia-backup/1", FORMAT)
# An institution folder holds institution.db, or (not yet migrated) the v1 pair.
SQLITE_FILES = (schema.FILENAME, *V1_FILES)


class BackupError(TenantError):
    pass


@dataclass(frozen=True)
class BackupResult:
    path: Path
    files: int
    institutions: int
    ledger_events: int
    pruned: list[Path]
    broken_ledgers: dict[str, str]

    @property
    def ok(self) -> bool:
        return not self.broken_ledgers


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite file: readers and writers go on meanwhile."""
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dest = sqlite3.connect(target)
    try:
        src.backup(dest)
        dest.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    finally:
        dest.close()
        src.close()
    os.chmod(target, 0o600)


def _use_wal(path: Path) -> None:
    """Backup copies are single files (rollback journal); a live institution file is WAL."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _ledger_file(folder: Path) -> Path | None:
    """Where an institution's ledger lives: its one file, else a v1 ledger.db."""
    for name in (schema.FILENAME, V1_LEDGER):
        if (folder / name).exists():
            return folder / name
    return None


def _check_ledger(path: Path) -> VerifyResult:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return verify_database(conn, path)
    finally:
        conn.close()


def _problem(result: VerifyResult) -> str:
    return f"chain broken at seq {result.first_bad_seq}: {result.reason}"


def _pg_tool(args: list[str]) -> None:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=3600)
    except FileNotFoundError as exc:
        raise BackupError(f"{args[0]} is not installed (Debian: postgresql-client)") from exc
    if done.returncode != 0:
        raise BackupError(f"{args[0]} failed: {done.stderr.strip()[:2000]}")


def create_backup(
    data_dir: Path, backup_root: Path, *, database_url: str | None = None, keep: int = 14
) -> BackupResult:
    """Back up every tenant's files, the registry, the signing key and the accounts store."""
    backup_root.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _exclusive(backup_root):
        for stale in backup_root.glob("*" + PARTIAL):
            shutil.rmtree(stale)  # left by a backup that was killed
        return _create(Path(data_dir), backup_root, database_url, keep)


@contextmanager
def _exclusive(backup_root: Path) -> Iterator[None]:
    """One backup at a time per backup folder (the clock and an operator may both run one)."""
    with (backup_root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _create(data_dir: Path, backup_root: Path, database_url: str | None, keep: int) -> BackupResult:
    name = _stamp()
    work = backup_root / (name + PARTIAL)
    work.mkdir(mode=0o700)
    try:
        files: list[Path] = []
        layout = DataDir(data_dir)
        if layout.registry_path.exists():
            copy_sqlite(layout.registry_path, work / "data" / "registry.db")
            files.append(Path("data/registry.db"))
        if layout.signing_key_path.exists():
            key_copy = work / "data" / layout.signing_key_path.name
            key_copy.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            shutil.copyfile(layout.signing_key_path, key_copy)
            os.chmod(key_copy, 0o600)
            files.append(Path("data") / layout.signing_key_path.name)
        institutions, events, broken = layout.institution_ids(), 0, {}
        for institution_id in institutions:
            for filename in SQLITE_FILES:
                source = data_dir / "institutions" / institution_id / filename
                if source.exists():
                    relative = Path("data/institutions") / institution_id / filename
                    copy_sqlite(source, work / relative)
                    files.append(relative)
            ledger_copy = _ledger_file(work / "data/institutions" / institution_id)
            if ledger_copy is not None:
                # A broken chain is still backed up (it is evidence), and reported.
                checked = _check_ledger(ledger_copy)
                events += checked.events
                if not checked.ok:
                    broken[institution_id] = _problem(checked)
        if database_url:
            _pg_tool(["pg_dump", "--format=custom", f"--file={work / PG_DUMP}", database_url])
            os.chmod(work / PG_DUMP, 0o600)
            files.append(Path(PG_DUMP))
        elif (data_dir / "accounts.db").exists():
            copy_sqlite(data_dir / "accounts.db", work / "data" / "accounts.db")
            files.append(Path("data/accounts.db"))
        manifest = {
            "format": FORMAT,
            "created_at": datetime.now(UTC).isoformat(),
            "institutions": institutions,
            "ledger_events": events,
            "broken_ledgers": broken,
            "accounts": "postgres" if database_url else "sqlite",
            "files": {
                str(f): {"sha256": _sha256(work / f), "bytes": (work / f).stat().st_size}
                for f in files
            },
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
        final = backup_root / name
        work.rename(final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    pruned = prune(backup_root, keep)
    return BackupResult(final, len(files), len(institutions), events, pruned, broken)


def list_backups(backup_root: Path) -> list[Path]:
    """Complete backups, oldest first."""
    if not backup_root.is_dir():
        return []
    return sorted(
        p
        for p in backup_root.iterdir()
        if p.is_dir() and not p.name.endswith(PARTIAL) and (p / MANIFEST).is_file()
    )


def prune(backup_root: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` complete backups; returns what was removed."""
    if keep < 1:
        raise BackupError("retention must keep at least one backup")
    doomed = list_backups(backup_root)[:-keep]
    for path in doomed:
        shutil.rmtree(path)
    return doomed


def read_manifest(backup: Path) -> dict:
    try:
        manifest = json.loads((backup / MANIFEST).read_text())
    except FileNotFoundError as exc:
        raise BackupError(f"{backup} is not a backup: no {MANIFEST}") from exc
    except json.JSONDecodeError as exc:
        raise BackupError(f"{backup / MANIFEST} is not valid JSON") from exc
    if not isinstance(manifest, dict) or manifest.get("format") not in READABLE_FORMATS:
        found = manifest.get("format") if isinstance(manifest, dict) else manifest
        raise BackupError(f"{backup} has an unknown backup format {found!r}")
    institutions, files = manifest.get("institutions"), manifest.get("files")
    if not isinstance(institutions, list) or not isinstance(files, dict):
        raise BackupError(f"{backup / MANIFEST} lacks its institutions or files")
    for iid in institutions:
        if not isinstance(iid, str) or not INSTITUTION_ID.fullmatch(iid):
            raise BackupError(f"{backup / MANIFEST} names a malformed institution id {iid!r}")
    for relative in files:
        parts = PurePosixPath(relative).parts
        if relative.startswith("/") or ".." in parts or not parts:
            raise BackupError(f"{backup / MANIFEST} lists a path outside the backup: {relative!r}")
    return manifest


def check_backup(backup: Path) -> dict:
    """Every file the manifest lists is present and unchanged."""
    manifest = read_manifest(backup)
    for relative, expected in manifest["files"].items():
        path = backup / relative
        if not path.is_file():
            raise BackupError(f"backup is incomplete: {relative} is missing")
        if _sha256(path) != expected["sha256"]:
            raise BackupError(f"backup is damaged: {relative} does not match its sha256")
    return manifest


def restore_backup(
    backup: Path, data_dir: Path, *, database_url: str | None = None, force: bool = False
) -> dict:
    """Put a backup back into `data_dir` (services stopped) and verify every ledger."""
    manifest = check_backup(backup)
    data_dir = Path(data_dir)
    if (data_dir / "registry.db").exists() and not force:
        raise BackupError(
            f"{data_dir} already holds a data dir; stop the services and pass --force to replace it"
        )
    if manifest["accounts"] == "postgres" and not database_url:
        raise BackupError("this backup holds a PostgreSQL dump: give --database-url to restore it")
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    for iid in manifest["institutions"]:
        # What is restored replaces what was there: nothing of a newer layout may linger
        # beside the files of the backup (the migration would read the two as one history).
        shutil.rmtree(data_dir / "institutions" / iid, ignore_errors=True)
    for relative in manifest["files"]:
        if not relative.startswith("data/"):
            continue
        target = data_dir / Path(relative).relative_to("data")
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        for stale in (
            target.with_name(target.name + "-wal"),
            target.with_name(target.name + "-shm"),
        ):
            stale.unlink(missing_ok=True)
        temporary = target.with_name(target.name + ".restoring")
        shutil.copyfile(backup / relative, temporary)
        os.chmod(temporary, 0o600)
        os.replace(temporary, target)
        if target.name == schema.FILENAME:
            _use_wal(target)
    events = 0
    for iid in manifest["institutions"]:
        path = _ledger_file(data_dir / "institutions" / iid)
        if path is not None:
            checked = _check_ledger(path)
            if not checked.ok:
                raise BackupError(f"restored ledger of {iid} does not verify: {_problem(checked)}")
            events += checked.events
    failed = [m for m in migrate_data_dir(data_dir) if m.outcome == "failed"]
    if failed:
        raise BackupError(
            "restored data could not be migrated: "
            + "; ".join(f"{m.institution_id}: {m.problem}" for m in failed)
        )
    if manifest["accounts"] == "postgres":
        _pg_tool(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--exit-on-error",
                f"--dbname={database_url}",
                str(backup / PG_DUMP),
            ]
        )
    return {"institutions": len(manifest["institutions"]), "ledger_events": events}
