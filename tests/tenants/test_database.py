"""The institution file's write path on real SQLite files: a state change and the events that
record it commit together or not at all, concurrent writers share commits, failures stay
confined to the writer that failed."""

import asyncio
import sqlite3
import subprocess
import sys
import threading

import pytest

from ledger import merkle
from ledger import store as ledger_store
from tenants import InstitutionUnavailable, StorageFull, database
from tenants.database import InstitutionDB, RaiseAfterCommit, create_file
from tenants.layout import DataDir, new_institution_id
from tenants.tenant import Tenants

IID = "inst_" + "a" * 24


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "institution.db"
    create_file(path, IID, lambda tx: tx.record("institution.created", "test", {}))
    opened = InstitutionDB.open(path, IID)
    yield opened
    opened.close()


def add_actor(tx, actor_id):
    tx.execute(
        "INSERT INTO actors (id, name, role, is_agent, token_hash, created_at)"
        " VALUES (?, 'n', 'owner', 0, ?, 'now')",
        (actor_id, "hash-" + actor_id),
    )
    tx.record("actor.created", "test", {"actor_id": actor_id})
    return actor_id


def actor_ids(db):
    return [row["id"] for row in db.all("SELECT id FROM actors ORDER BY id")]


def event_types(db):
    with db.reader() as reader:
        return [event.type for event in ledger_store.events(reader.conn)]


def test_state_and_events_commit_together(db):
    assert db.write(lambda tx: add_actor(tx, "act_1")) == "act_1"
    assert actor_ids(db) == ["act_1"]
    assert event_types(db) == ["institution.created", "actor.created"]


def test_a_failing_write_leaves_neither_state_nor_events(db):
    def half_done(tx):
        add_actor(tx, "act_1")
        raise ValueError("changed my mind")

    with pytest.raises(ValueError, match="changed my mind"):
        db.write(half_done)
    assert actor_ids(db) == []
    assert event_types(db) == ["institution.created"]
    with db.reader() as reader:
        assert ledger_store.verify(reader.conn).ok


def test_raise_after_commit_keeps_what_was_recorded(db):
    def refuse(tx):
        tx.record("approval.refused", "test", {"code": "self_approval"})
        raise RaiseAfterCommit(PermissionError("refused"))

    with pytest.raises(PermissionError, match="refused"):
        db.write(refuse)
    assert event_types(db)[-1] == "approval.refused"


def test_concurrent_writers_share_one_commit_and_fail_alone(db):
    """While the leader's transaction is open, writers queue; the next leader runs them all in
    one transaction, each under its own savepoint."""
    inside, release = threading.Event(), threading.Event()

    def slow(tx):
        inside.set()
        release.wait(10)
        return add_actor(tx, "act_leader")

    threads_seen, results, errors = [], {}, {}

    def writer(n):
        def work(tx):
            threads_seen.append(threading.get_ident())
            if n == 3:
                add_actor(tx, "act_doomed")
                raise ValueError("writer 3 fails")
            return add_actor(tx, f"act_{n}")

        try:
            results[n] = db.write(work)
        except ValueError as exc:
            errors[n] = exc

    leader = threading.Thread(target=lambda: db.write(slow))
    leader.start()
    assert inside.wait(10)
    followers = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in followers:
        thread.start()
    while len(db._queue) < 8:  # every follower is queued behind the open transaction
        threading.Event().wait(0.001)
    release.set()
    for thread in [leader, *followers]:
        thread.join(10)

    assert len(set(threads_seen)) == 1, "the eight queued writers ran in one batch"
    assert set(errors) == {3} and set(results) == {0, 1, 2, 4, 5, 6, 7}
    assert "act_doomed" not in actor_ids(db)
    assert len(actor_ids(db)) == 8
    with db.reader() as reader:
        assert ledger_store.verify(reader.conn).events == 1 + 8


def test_writers_in_two_processes_keep_one_chain_and_one_tree(db):
    """Each process remembers the ledger head its last commit left, so as not to read the Merkle
    frontier again; appends by another process in between (here: a second instance, as a
    second engine worker holds) and a rolled-back write are seen, never built over."""
    other = InstitutionDB.open(db.path, IID)

    def doomed(tx):
        add_actor(tx, "act_doomed")
        raise ValueError("rolled back")

    try:
        for n in range(30):
            (other if n % 3 == 0 else db).write(lambda tx, n=n: add_actor(tx, f"act_{n}"))
            if n % 7 == 0:
                with pytest.raises(ValueError):
                    db.write(doomed)
    finally:
        other.close()
    with db.reader() as reader:
        assert ledger_store.verify(reader.conn).events == 1 + 30
        tree, made = merkle.Frontier(), set()
        for row in ledger_store.rows(reader.conn):
            made.update(tree.append(merkle.leaf_hash(row[8])))
        stored = {
            (level, idx, bytes(h))
            for level, idx, h in reader.conn.execute("SELECT level, idx, hash FROM merkle")
        }
        assert stored == made
        assert ledger_store.root_at(reader.conn, 31) == tree.root()


def test_a_commit_that_cannot_be_written_fails_the_whole_batch(db):
    """A full database (here: SQLite's page limit, the same SQLITE_FULL as a full disk) makes
    the batch fail with StorageFull; nothing of it is kept."""
    pages = db.write(lambda tx: tx.conn.execute("PRAGMA page_count").fetchone()[0])
    db.write(lambda tx: tx.conn.execute(f"PRAGMA max_page_count={pages}"))

    def big(tx):
        tx.execute("INSERT INTO meta (key, value) VALUES ('big', ?)", ("x" * 200_000,))
        tx.record("test.big", "test", {})

    with pytest.raises(StorageFull, match="disk is full"):
        db.write(big)
    assert db.meta("big") is None
    assert event_types(db) == ["institution.created"]
    db.close()  # a fresh connection has no page limit: writing works again
    reopened = InstitutionDB.open(db.path, IID)
    reopened.write(lambda tx: add_actor(tx, "act_after"))
    with reopened.reader() as reader:
        assert ledger_store.verify(reader.conn).ok
    reopened.close()


def test_a_write_function_cannot_start_another_write(db):
    with pytest.raises(RuntimeError, match="cannot start another write"):
        db.write(lambda tx: db.write(lambda inner: None))


def test_snapshot_sees_one_state_while_writers_commit(db):
    db.write(lambda tx: add_actor(tx, "act_1"))
    with db.snapshot() as snapshot:
        before = snapshot.one("SELECT count(*) AS n FROM actors")["n"]
        db.write(lambda tx: add_actor(tx, "act_2"))
        assert snapshot.one("SELECT count(*) AS n FROM actors")["n"] == before
    assert len(actor_ids(db)) == 2


def test_a_half_created_file_is_never_left(tmp_path):
    path = tmp_path / "institution.db"

    def fails(tx):
        tx.record("institution.created", "test", {})
        raise OSError("crash while creating")

    with pytest.raises(OSError, match="crash while creating"):
        create_file(path, IID, fails)
    assert list(tmp_path.iterdir()) == []


def test_files_are_private(db):
    assert db.path.stat().st_mode & 0o077 == 0


def test_closed_instance_still_works_and_keeps_nothing_open(db):
    db.close()
    db.write(lambda tx: add_actor(tx, "act_1"))
    assert actor_ids(db) == ["act_1"]
    assert db.open_connections == 0


def test_reading_a_file_that_is_not_a_database_is_unavailable(tmp_path):
    path = tmp_path / "institution.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(InstitutionUnavailable, match="not a database"):
        InstitutionDB.open(path, IID)


def test_a_file_from_a_newer_engine_is_refused(db, tmp_path):
    conn = sqlite3.connect(db.path)
    conn.execute("PRAGMA user_version=99")
    conn.close()
    with pytest.raises(InstitutionUnavailable, match="schema version 99"):
        InstitutionDB.open(db.path, IID)


def test_tenants_keep_at_most_max_open(tmp_path):
    tenants = Tenants(DataDir(tmp_path), max_open=3)
    ids = [new_institution_id() for _ in range(10)]
    for institution_id in ids:
        tenant = tenants.create(institution_id, lambda tx: tx.record("x", "t", {}))
        tenant.db.write(lambda tx: tx.record("y", "t", {}))
    assert len(tenants) == 3 and tenants.open_ids() == ids[-3:]
    first = tenants.get(ids[0])  # reopened on demand, evicting the least recently used
    assert first.db.meta("anything") is None
    assert tenants.open_ids() == [*ids[-2:], ids[0]]
    tenants.close()
    assert len(tenants) == 0


def test_a_caller_cancelled_before_its_turn_is_skipped_and_the_committers_live_on(db):
    inside, release = threading.Event(), threading.Event()

    def slow(tx):
        inside.set()
        release.wait(10)
        return add_actor(tx, "act_slow")

    async def scenario():
        blocker = asyncio.ensure_future(db.write_async(slow))
        await asyncio.get_running_loop().run_in_executor(None, inside.wait, 10)
        gone = asyncio.ensure_future(db.write_async(lambda tx: add_actor(tx, "act_gone")))
        kept = asyncio.ensure_future(db.write_async(lambda tx: add_actor(tx, "act_kept")))
        await asyncio.sleep(0)
        gone.cancel()
        release.set()
        assert await blocker == "act_slow" and await kept == "act_kept"
        with pytest.raises(asyncio.CancelledError):
            await gone
        for n in range(3):  # every committer thread still serves
            await db.write_async(lambda tx, n=n: add_actor(tx, f"act_after_{n}"))

    asyncio.run(scenario())
    assert "act_gone" not in actor_ids(db)
    assert {"act_slow", "act_kept", "act_after_2"} <= set(actor_ids(db))


HOLD_LOCK = """
import fcntl, sys
with open(sys.argv[1], "a") as handle:
    fcntl.flock(handle, fcntl.LOCK_EX)
    print("held", flush=True)
    sys.stdin.readline()
"""


def hold_writer_lock(path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path.with_name("writer.lock"))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_lock_held_by_another_process_delays_only_its_institution(db, tmp_path, monkeypatch):
    other_path = tmp_path / "other" / "institution.db"
    other_path.parent.mkdir()
    create_file(other_path, IID, lambda tx: tx.record("institution.created", "test", {}))
    other = InstitutionDB.open(other_path, IID)
    holder = hold_writer_lock(db.path)

    async def scenario():
        waiting = asyncio.ensure_future(db.write_async(lambda tx: add_actor(tx, "act_waits")))
        refused = db.write_async(lambda tx: add_actor(tx, "act_never"), check=lambda reader: 1 / 0)
        with pytest.raises(ZeroDivisionError):  # a refused check never waits for the lock
            await asyncio.wait_for(refused, 5)
        for n in range(3):  # the other institution is served meanwhile
            await asyncio.wait_for(other.write_async(lambda tx, n=n: add_actor(tx, f"a{n}")), 5)
        assert not waiting.done()
        holder.stdin.write("\n")
        holder.stdin.flush()
        return await asyncio.wait_for(waiting, 10)

    try:
        assert asyncio.run(scenario()) == "act_waits"
    finally:
        holder.kill()
        holder.communicate()
        other.close()
    assert "act_never" not in actor_ids(db)

    monkeypatch.setattr(database, "BUSY_TIMEOUT_SECONDS", 0.3)
    holder = hold_writer_lock(db.path)
    try:
        with pytest.raises(InstitutionUnavailable, match="writer lock"):
            db.write(lambda tx: add_actor(tx, "act_timeout"))
    finally:
        holder.kill()
        holder.communicate()
