"""Migrating a data dir from layout v1 (`tenant.db` + `ledger.db` per institution) to v2 (one
`institution.db`): idempotent, resumable after a crash at any point, verified before and after.

For one institution, under a lock file in its folder:
1. the v1 ledger must verify (a broken chain is not carried over: the institution stays on v1,
   unavailable, with the seq that failed);
2. everything is copied into `institution.db.migrating`, while both v1 files are held with a
   write lock (nothing changes them meanwhile);
3. the copy must hold the same rows and a chain that verifies to the same head;
4. only then is it made durable and renamed to `institution.db`, and the v1 files removed.
A crash before 4 leaves v1 untouched (the partial copy is discarded next time); a crash after
the rename finds both layouts, checks that the new file carries the old chain, and removes v1.
"""

import fcntl
import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from ledger import store as ledger_store
from ledger.verify import VerifyResult, verify_rows
from tenants import InstitutionUnavailable, schema
from tenants.database import connect, fsync_dir

V1_STATE, V1_LEDGER = "tenant.db", "ledger.db"
V1_FILES = (V1_STATE, V1_LEDGER)
PARTIAL = schema.FILENAME + ".migrating"
LOCK = ".migration.lock"

log = logging.getLogger("libervia.migration")


@dataclass(frozen=True)
class Migrated:
    institution_id: str
    outcome: str  # "migrated", "finished" (v1 leftovers removed), "current", "failed"
    events: int = 0
    problem: str | None = None


def has_v1_files(directory: Path) -> bool:
    return any((directory / name).exists() for name in V1_FILES)


def migrate_data_dir(root: Path) -> list[Migrated]:
    """Every institution of the data dir (those already on v2 cost one stat each)."""
    from tenants.layout import DataDir

    data_dir, results = DataDir(root), []
    for institution_id in data_dir.institution_ids():
        directory = data_dir.institution_dir(institution_id)
        if not has_v1_files(directory):
            results.append(Migrated(institution_id, "current"))
            continue
        try:
            results.append(migrate_institution(directory, institution_id))
        except InstitutionUnavailable as exc:
            log.error(
                "institution not migrated",
                extra={"fields": {"institution_id": institution_id, "problem": exc.reason}},
            )
            results.append(Migrated(institution_id, "failed", problem=exc.reason))
    return results


def migrate_institution(directory: Path, institution_id: str) -> Migrated:
    """Bring one institution folder to v2; raises InstitutionUnavailable when it cannot."""
    with _locked(directory):
        target = directory / schema.FILENAME
        if target.exists():
            if not has_v1_files(directory):
                return Migrated(institution_id, "current")
            events = _check_carried_over(directory, target, institution_id)
            _remove_v1(directory)
            log.info("v1 files removed", extra={"fields": {"institution_id": institution_id}})
            return Migrated(institution_id, "finished", events)
        missing = [name for name in V1_FILES if not (directory / name).exists()]
        if missing:
            raise InstitutionUnavailable(
                institution_id, f"v1 layout is incomplete: {', '.join(missing)} missing"
            )
        events = _copy(directory, institution_id)
        _remove_v1(directory)
        log.info(
            "institution migrated to one file",
            extra={"fields": {"institution_id": institution_id, "events": events}},
        )
        return Migrated(institution_id, "migrated", events)


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """One migrator per institution, across processes (engine, clock, operator CLI)."""
    with (directory / LOCK).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _tables(conn: sqlite3.Connection) -> sqlite_utils.Database:
    """sqlite-utils over one of our connections, for introspection (columns, counts)."""
    return sqlite_utils.Database(conn, recursive_triggers=False, execute_plugins=False)


def _counts(conn: sqlite3.Connection, tables: tuple[str, ...]) -> dict[str, int]:
    db = _tables(conn)
    return {table: db[table].count if db[table].exists() else 0 for table in tables}


def _copy(directory: Path, institution_id: str) -> int:
    partial = directory / PARTIAL
    for stale in (partial, partial.with_name(PARTIAL + "-journal")):
        stale.unlink(missing_ok=True)
    old_state, old_ledger = _open_v1(directory / V1_STATE), _open_v1(directory / V1_LEDGER)
    conn = connect(partial, create=True)
    os.chmod(partial, 0o600)
    try:
        # Write locks on both v1 files: no v1 writer can change them while they are copied.
        old_state.execute("BEGIN IMMEDIATE")
        old_ledger.execute("BEGIN IMMEDIATE")
        before = verify_rows(ledger_store.rows(old_ledger))
        if not before.ok:
            raise InstitutionUnavailable(
                institution_id,
                f"its v1 ledger does not verify (seq {before.first_bad_seq}: {before.reason});"
                " it was left as it is",
            )
        conn.execute("PRAGMA journal_mode=DELETE")  # one self-contained file until it is done
        conn.execute("ATTACH DATABASE ? AS v1_state", (str(directory / V1_STATE),))
        conn.execute("ATTACH DATABASE ? AS v1_ledger", (str(directory / V1_LEDGER),))
        conn.execute("BEGIN")  # IMMEDIATE would lock the attached v1 files too: they are held
        schema.create(conn)
        _copy_tables(conn, old_state, "v1_state", schema.STATE_TABLES)
        _copy_tables(conn, old_ledger, "v1_ledger", schema.LEDGER_TABLES)
        ledger_store.rebuild_tree(conn)  # v1 had no Merkle tree
        conn.execute("COMMIT")
        expected = {
            **_counts(old_state, schema.STATE_TABLES),
            **_counts(old_ledger, schema.LEDGER_TABLES),
        }
        copied = _counts(conn, schema.STATE_TABLES + schema.LEDGER_TABLES)
        after = verify_rows(ledger_store.rows(conn))
        _require_same(institution_id, before, after, expected, copied)
        conn.execute("DETACH DATABASE v1_state")
        conn.execute("DETACH DATABASE v1_ledger")
        conn.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error as exc:
        raise InstitutionUnavailable(institution_id, f"migration failed: {exc}") from exc
    finally:
        conn.close()
        old_state.close()  # ends (rolls back) the locking transactions
        old_ledger.close()
    with partial.open("rb+") as handle:
        os.fsync(handle.fileno())
    partial.rename(directory / schema.FILENAME)
    fsync_dir(directory)
    return before.events


def _open_v1(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=30, isolation_level=None)


def _copy_tables(
    conn: sqlite3.Connection, old: sqlite3.Connection, attached: str, tables: tuple[str, ...]
) -> None:
    """Copy each table's rows by the columns both sides have (older v1 files lack some)."""
    old_db, new_db = _tables(old), _tables(conn)
    for table in tables:
        if not old_db[table].exists():
            continue
        wanted = new_db[table].columns_dict
        columns = ", ".join(c for c in old_db[table].columns_dict if c in wanted)
        conn.execute(
            f"INSERT INTO main.{table} ({columns}) SELECT {columns} FROM {attached}.{table}"
        )


def _require_same(
    institution_id: str,
    before: VerifyResult,
    after: VerifyResult,
    expected: dict[str, int],
    copied: dict[str, int],
) -> None:
    if copied != expected:
        raise InstitutionUnavailable(
            institution_id, f"migration copied {copied} rows, v1 holds {expected}"
        )
    if not after.ok or (after.events, after.head_hash) != (before.events, before.head_hash):
        raise InstitutionUnavailable(
            institution_id,
            f"migrated ledger does not match v1: {after.events} events, head {after.head_hash},"
            f" v1 {before.events} events, head {before.head_hash}",
        )


def _check_carried_over(directory: Path, target: Path, institution_id: str) -> int:
    """After a crash between rename and cleanup: the new file verifies and starts with the
    v1 chain (it may have grown since)."""
    conn = connect(target)
    old = _open_v1(directory / V1_LEDGER) if (directory / V1_LEDGER).exists() else None
    try:
        after = ledger_store.verify(conn)
        if not after.ok:
            raise InstitutionUnavailable(
                institution_id,
                f"its ledger does not verify (seq {after.first_bad_seq}: {after.reason})",
            )
        if old is None:
            return after.events
        before = verify_rows(ledger_store.rows(old))
        carried = conn.execute("SELECT hash FROM events WHERE seq=?", (before.events,)).fetchone()
        if before.events and (carried is None or carried[0] != before.head_hash):
            raise InstitutionUnavailable(
                institution_id,
                f"{schema.FILENAME} does not carry the v1 chain; both layouts were kept",
            )
        return after.events
    finally:
        conn.close()
        if old is not None:
            old.close()


def _remove_v1(directory: Path) -> None:
    for name in V1_FILES:
        for suffix in ("-wal", "-shm", "-journal", ""):
            (directory / (name + suffix)).unlink(missing_ok=True)
    fsync_dir(directory)
