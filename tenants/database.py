"""One institution's database file: a small pool of connections and group-committed writes.

Every write is a function run inside one durable transaction (WAL, synchronous=FULL). Writes
are queued per institution and run by a few committer threads: one batch per institution at a
time, several institutions at once (their fsyncs overlap). Functions queued while a batch runs
share the next transaction and its one fsync (group commit); each runs under its own SAVEPOINT,
so one function's failure rolls back only its own changes. A function's result is delivered
only after the commit that made it durable; when the commit fails, every function of the batch
fails. Other processes (the clock, the operator CLI) meet SQLite's file lock and busy timeout.
"""

import asyncio
import fcntl
import json
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from ledger import store as ledger_store
from ledger.event import Event
from tenants import InstitutionUnavailable, StorageFull, TenantError, schema

T = TypeVar("T")
log = logging.getLogger("libervia.storage")

BUSY_TIMEOUT_SECONDS = 30
MAX_BATCH = 64
WRITER_LOCK = "writer.lock"
LOCK_RETRY_SECONDS = 0.0005
CACHE_KIB = 1024
JSON_COLUMNS = frozenset({"params", "result", "manifest", "options", "progress"})
_BROKEN = {
    sqlite3.SQLITE_CORRUPT,
    sqlite3.SQLITE_NOTADB,
    sqlite3.SQLITE_CANTOPEN,
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_READONLY,
}
_writing = threading.local()


def row_dict(cursor: sqlite3.Cursor, row: tuple) -> dict[str, Any]:
    record = {}
    for column, value in zip(cursor.description, row, strict=True):
        name = column[0]
        record[name] = json.loads(value) if name in JSON_COLUMNS and value is not None else value
    return record


def storage_error(exc: sqlite3.Error, institution_id: str) -> Exception:
    """SQLite's failures in the storage vocabulary; anything else is a bug and stays as is."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary == sqlite3.SQLITE_FULL:
        return StorageFull(f"the disk is full; nothing was written ({exc})")
    if primary in _BROKEN:
        return InstitutionUnavailable(institution_id, f"its database cannot be used: {exc}")
    return exc


class RaiseAfterCommit(Exception):  # noqa: N818 - a control-flow signal, not an error name
    """Raised by a write function to keep what it wrote (a recorded refusal, say) and still
    raise `error` to its caller once that is committed."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class Reader:
    """Queries on one connection; rows come back as dicts with JSON columns decoded."""

    def __init__(self, conn: sqlite3.Connection, institution_id: str) -> None:
        self.conn = conn
        self.institution_id = institution_id

    def _cursor(self) -> sqlite3.Cursor:
        cursor = self.conn.cursor()
        cursor.row_factory = row_dict
        return cursor

    def one(self, sql: str, params: tuple = ()) -> dict[str, Any] | None:
        return self._cursor().execute(sql, params).fetchone()

    def all(self, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
        return self._cursor().execute(sql, params).fetchall()

    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None


class Tx(Reader):
    """Inside a write transaction: state changes and the ledger events that record them."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        institution_id: str,
        known: ledger_store.Head | None = None,
    ) -> None:
        super().__init__(conn, institution_id)
        self._head: ledger_store.Head | None = None  # the ledger head, once read in this tx
        # The head this process's last commit left: taken when the file's is still that one.
        self._known = known

    def execute(self, sql: str, params: tuple = ()) -> int:
        return self.conn.execute(sql, params).rowcount

    def record(
        self, type_: str, actor: str, payload: dict[str, Any], case_id: str | None = None
    ) -> Event:
        return self.record_many([(type_, actor, payload, case_id)])[0]

    def record_many(self, items: list[ledger_store.EventItem]) -> list[Event]:
        if self._head is None and self._known is not None:
            self._head = ledger_store.head_if_unchanged(self.conn, self._known)
        events, self._head = ledger_store.append(self.conn, self.institution_id, items, self._head)
        return events

    @property
    def head(self) -> ledger_store.Head | None:
        """The ledger head after this transaction's events (None: none recorded, or unsure)."""
        return self._head

    def forget_head(self) -> None:
        """After a rollback to a savepoint the head may be older than we remember."""
        self._head = None


class _Work:
    __slots__ = ("fn", "check", "future", "started")

    def __init__(
        self, fn: Callable[["Tx"], Any], check: Callable[["Reader"], object] | None = None
    ) -> None:
        self.fn = fn
        self.check = check
        self.future: Future[Any] = Future()
        self.started = False

    def start(self) -> bool:
        """Claim the work for a batch; False when its caller gave up (cancelled) first."""
        self.started = self.future.set_running_or_notify_cancel()
        return self.started


class Committer:
    """The threads that run write batches. One per process (see `committer()`)."""

    def __init__(self, threads: int) -> None:
        self._ready: queue.SimpleQueue[InstitutionDB] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._run, name=f"committer-{n}", daemon=True)
            for n in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    def schedule(self, db: "InstitutionDB") -> None:
        self._ready.put(db)

    def _run(self) -> None:
        _writing.active = True
        while True:
            db = self._ready.get()
            try:
                if not db._run_batch(wait=False):
                    time.sleep(LOCK_RETRY_SECONDS)  # its writer lock is held elsewhere
            except Exception:  # a committer thread must outlive any one batch
                log.exception("committer batch failed", extra={"fields": {"path": str(db.path)}})


_committer: Committer | None = None
_committer_lock = threading.Lock()
COMMIT_THREADS = 2


def _forget_committer() -> None:
    """In a forked child: the parent's committer threads do not exist here."""
    global _committer, _committer_lock
    _committer, _committer_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_committer)


def committer() -> Committer:
    """This process's committer, started on first use. (An InstitutionDB must not cross a
    fork: its locks and connections belong to the process that made it.)"""
    global _committer
    if _committer is None:
        with _committer_lock:
            if _committer is None:
                _committer = Committer(COMMIT_THREADS)
    return _committer


# Idle connections kept per open institution: enough for the concurrent reads of a busy one (an
# agent's polls, a person's pages) to find one ready instead of opening a file each time;
# ENGINE_OPEN_TENANTS bounds how many institutions keep theirs.
IDLE_CONNECTIONS = 4


def connect(path: Path, *, create: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), durable commits.
    Without `create`, a missing file is an error, never a new empty database."""
    mode = "rwc" if create else "rw"
    conn = sqlite3.connect(
        f"file:{quote(str(path))}?mode={mode}",
        uri=True,
        timeout=BUSY_TIMEOUT_SECONDS,
        isolation_level=None,
        check_same_thread=False,
    )
    try:
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    except BaseException:
        conn.close()
        raise
    return conn


class InstitutionDB:
    """The connections to one institution file. `close()` closes idle connections at once and
    the others when they come back; a closed instance still works (each use then opens and
    closes its own connection), so whoever still holds it is never broken by an eviction."""

    def __init__(
        self, path: Path, institution_id: str, *, max_idle: int = IDLE_CONNECTIONS
    ) -> None:
        self.path = Path(path)
        self.institution_id = institution_id
        self.max_idle = max_idle
        self._idle: list[sqlite3.Connection] = []
        self._pool_lock = threading.Lock()
        self._closed = False
        self._queue: list[_Work] = []
        self._queue_lock = threading.Lock()
        self._scheduled = False
        self._busy_since: float | None = None
        self._last_head: ledger_store.Head | None = None  # after this process's last commit
        # Counts this process's write transactions, bumped once each has ended: what was read
        # before a bump may be out of date (see governance.idle_polls).
        self.generation = 0

    @classmethod
    def open(cls, path: Path, institution_id: str) -> "InstitutionDB":
        """Open an existing institution file, checking that this engine can read it."""
        db = cls(path, institution_id)
        conn = db._checkout()
        try:
            found = schema.version(conn)
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                # A file put back from a backup copy: without WAL, readers would block writers.
                conn.execute("PRAGMA journal_mode=WAL")
            if 0 < found < schema.SCHEMA_VERSION:
                schema.upgrade(conn)
                found = schema.version(conn)
        except sqlite3.Error as exc:
            conn.close()
            error = storage_error(exc, institution_id)
            if isinstance(error, sqlite3.Error):
                error = InstitutionUnavailable(institution_id, f"its file cannot be read: {exc}")
            raise error from exc
        if found != schema.SCHEMA_VERSION:
            conn.close()
            raise InstitutionUnavailable(
                institution_id,
                f"its file has schema version {found}; this engine reads {schema.SCHEMA_VERSION}",
            )
        db._checkin(conn)
        return db

    # --- connections -------------------------------------------------------------------

    def _checkout(self) -> sqlite3.Connection:
        with self._pool_lock:
            if self._idle:
                return self._idle.pop()
        try:
            return connect(self.path)
        except sqlite3.Error as exc:
            raise storage_error(exc, self.institution_id) from exc

    def _checkin(self, conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            conn.rollback()
        with self._pool_lock:
            if not self._closed and len(self._idle) < self.max_idle:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._pool_lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    @property
    def open_connections(self) -> int:
        return len(self._idle)

    # --- reads ---------------------------------------------------------------------------

    @contextmanager
    def reader(self) -> Iterator[Reader]:
        """One pooled connection in autocommit: each statement sees the latest commit."""
        conn = self._checkout()
        try:
            yield Reader(conn, self.institution_id)
        except sqlite3.Error as exc:
            raise storage_error(exc, self.institution_id) from exc
        finally:
            self._checkin(conn)

    @contextmanager
    def snapshot(self) -> Iterator[Reader]:
        """One read transaction: every statement sees the same committed state, while writers
        go on (WAL readers never block writers)."""
        with self.reader() as reader:
            reader.conn.execute("BEGIN")
            try:
                yield reader
            finally:
                if reader.conn.in_transaction:
                    reader.conn.execute("COMMIT")

    def one(self, sql: str, params: tuple = ()) -> dict[str, Any] | None:
        with self.reader() as reader:
            return reader.one(sql, params)

    def all(self, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
        with self.reader() as reader:
            return reader.all(sql, params)

    def meta(self, key: str) -> str | None:
        with self.reader() as reader:
            return reader.meta(key)

    # --- writes --------------------------------------------------------------------------

    def submit(
        self, fn: Callable[[Tx], T], check: Callable[[Reader], object] | None = None
    ) -> "Future[T]":
        """Queue `fn` for the next transaction of this institution; the future resolves once
        that transaction is durable (or failed). `check`, when given, runs first on a plain
        read (raise to refuse): a refused request never takes the write lock."""
        work, schedule = self._enqueue(fn, check)
        if schedule:
            committer().schedule(self)
        return work.future

    def _enqueue(
        self, fn: Callable[[Tx], Any], check: Callable[[Reader], object] | None = None
    ) -> tuple[_Work, bool]:
        """Queue `fn`; True when nothing runs this institution's batches yet (the caller must
        run or schedule one)."""
        work = _Work(fn, check)
        with self._queue_lock:
            self._queue.append(work)
            idle = not self._scheduled
            self._scheduled = True
        return work, idle

    def write(self, fn: Callable[[Tx], T]) -> T:
        """Run `fn` in a durable write transaction, shared with concurrent writers. A thread
        that finds no batch running runs this one itself (no hand-off to wait for)."""
        if getattr(_writing, "active", False):
            raise RuntimeError("a write function cannot start another write")
        work, idle = self._enqueue(fn)
        if idle:
            _writing.active = True
            try:
                self._run_batch(wait=True)
            finally:
                _writing.active = False
        return work.future.result()

    async def write_async(
        self, fn: Callable[[Tx], T], check: Callable[[Reader], object] | None = None
    ) -> T:
        """`write` for the event loop: nothing blocks it while the transaction runs. A caller
        cancelled before its turn is skipped; after, the write stands (and is recorded)."""
        return await asyncio.wrap_future(self.submit(fn, check))

    def _run_batch(self, *, wait: bool) -> bool:
        """One transaction for what is queued, then hand back. Checks run first, on a plain
        read. False (nothing written) when the writer lock is held by another process and
        `wait` is off: the work goes back to the head of the line and a committer thread
        serves other institutions meanwhile."""
        with self._queue_lock:
            taken = self._queue[:MAX_BATCH]
            del self._queue[:MAX_BATCH]
        batch = [work for work in taken if work.started or work.start()]
        outcomes: dict[_Work, tuple[Any, BaseException | None]] = {}
        try:
            conn = self._checkout()
        except BaseException as exc:
            outcomes = {work: (None, self._translated(exc)) for work in batch}
            return self._finish(batch, outcomes)
        try:
            for work in batch:
                if work.check is not None:
                    try:
                        work.check(Reader(conn, self.institution_id))
                    except Exception as exc:
                        outcomes[work] = (None, self._translated(exc))
                    work.check = None  # checked once, even if the batch waits for the lock
            pending = [work for work in batch if work not in outcomes]
            if pending:
                lock = self._writer_lock(wait)
                if lock is None:
                    with self._queue_lock:
                        self._queue[:0] = pending
                    committer().schedule(self)
                    self._deliver(outcomes)
                    return False
                if isinstance(lock, BaseException):
                    outcomes.update((work, (None, lock)) for work in pending)
                else:
                    try:
                        outcomes.update(zip(pending, self._transaction(conn, pending), strict=True))
                    except BaseException as exc:  # never leave a caller waiting
                        outcomes.update((work, (None, exc)) for work in pending)
                    finally:
                        os.close(lock)  # releases the lock
        finally:
            self._checkin(conn)
        return self._finish(batch, outcomes)

    def _finish(self, batch: list[_Work], outcomes: dict[_Work, Any]) -> bool:
        with self._queue_lock:
            again = bool(self._queue)
            self._scheduled = again
        if again:
            committer().schedule(self)
        self._deliver(outcomes)
        return True

    @staticmethod
    def _deliver(outcomes: dict[_Work, tuple[Any, BaseException | None]]) -> None:
        for work, (result, error) in outcomes.items():
            if work.future.done():
                continue
            if error is None:
                work.future.set_result(result)
            else:
                work.future.set_exception(error)

    def _writer_lock(self, wait: bool) -> int | BaseException | None:
        """The institution's writer lock, shared with other processes (more engine workers,
        the clock): a descriptor holding it; None when busy and not waiting; the error when
        it cannot be had (busy past BUSY_TIMEOUT_SECONDS: the batch then fails with it)."""
        try:
            fd = os.open(self.path.with_name(WRITER_LOCK), os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            return exc
        delay = LOCK_RETRY_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._busy_since = None
                return fd
            except BlockingIOError:
                pass
            now = time.monotonic()
            self._busy_since = self._busy_since or now
            if now - self._busy_since > BUSY_TIMEOUT_SECONDS:
                os.close(fd)
                self._busy_since = None
                return InstitutionUnavailable(
                    self.institution_id, "its writer lock is held elsewhere for too long"
                )
            if not wait:
                os.close(fd)
                return None
            time.sleep(delay)
            delay = min(delay * 2, 0.01)

    def _transaction(
        self, conn: sqlite3.Connection, batch: list[_Work]
    ) -> list[tuple[Any, BaseException | None]]:
        tx = Tx(conn, self.institution_id, self._last_head)
        outcomes: list[tuple[Any, BaseException | None]] = []
        alone = len(batch) == 1  # a lone function needs no savepoint: the transaction is its own
        try:
            conn.execute("BEGIN IMMEDIATE")
            for work in batch:
                if not alone:
                    conn.execute("SAVEPOINT work")
                try:
                    outcomes.append((work.fn(tx), None))
                except RaiseAfterCommit as signal:
                    outcomes.append((None, signal.error))
                except BaseException as exc:
                    outcomes.append((None, self._translated(exc)))
                    if not conn.in_transaction:
                        raise  # SQLite rolled the whole transaction back (full disk, I/O)
                    conn.execute("ROLLBACK" if alone else "ROLLBACK TO work")
                    tx.forget_head()
                    if alone:
                        return outcomes
                if not alone:
                    conn.execute("RELEASE work")
            conn.execute("COMMIT")
            self._last_head = tx.head or self._last_head
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            return [(None, self._translated(exc))] * len(batch)
        finally:
            self.generation += 1
        return outcomes

    def _translated(self, exc: BaseException) -> BaseException:
        if isinstance(exc, sqlite3.Error):
            return storage_error(exc, self.institution_id)
        return exc


def create_file(path: Path, institution_id: str, first: Callable[[Tx], object]) -> None:
    """Create an institution file whole: schema and `first` writes in a temporary file, made
    durable, then renamed into place. A crash leaves either nothing or a complete file."""
    if path.exists():
        raise TenantError(f"{path} already exists")
    temporary = path.with_name(path.name + ".creating")
    for stale in (temporary, temporary.with_name(temporary.name + "-journal")):
        stale.unlink(missing_ok=True)
    conn = connect(temporary, create=True)
    os.chmod(temporary, 0o600)
    try:
        conn.execute("BEGIN IMMEDIATE")
        schema.create(conn)
        first(Tx(conn, institution_id))
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error as exc:
        conn.close()
        temporary.unlink(missing_ok=True)
        raise storage_error(exc, institution_id) from exc
    except BaseException:
        conn.close()
        temporary.unlink(missing_ok=True)
        raise
    conn.close()
    temporary.rename(path)
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
