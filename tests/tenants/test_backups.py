import hashlib
import json
import shutil
import sqlite3
import threading

import pytest

from ledger import store as ledger_store
from portal.accounts import sign_up
from portal.db import PostgresDatabase, SQLiteDatabase
from portal.migrations import migrate
from tenants.backups import BackupError, check_backup, create_backup, list_backups, restore_backup
from tenants.layout import DataDir, new_institution_id
from tenants.registry import Registry
from tenants.tenant import Tenants
from tests.support.cli import libervia
from tests.support.databases import postgres_database
from tests.support.v1_data import unpack_v1


def make_institution(data_dir, name="Ana"):
    """A registered institution with its file (first event: institution.created)."""
    layout = DataDir(data_dir)
    institution_id = new_institution_id()
    tenants = Tenants(layout)
    tenants.create(institution_id, lambda tx: tx.record("institution.created", "test", {}))
    tenants.close()
    registry = Registry(layout.registry_path)
    registry.add(institution_id, f"ext-{name}", name)
    registry.db.close()
    return institution_id


def append(tenant, type_, payload):
    tenant.db.write(lambda tx: tx.record(type_, "writer", payload))


def institution_with_events(data_dir, events):
    """An institution whose ledger holds `events` events after its first; returns its id."""
    institution_id = make_institution(data_dir)
    tenants = Tenants(DataDir(data_dir))
    tenant = tenants.get(institution_id)
    for n in range(events):
        append(tenant, "test.event", {"n": n})
    tenants.close()
    return institution_id


def ledger_seqs(path):
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT seq FROM events ORDER BY seq")]


def institution_file(data_dir, institution_id):
    return data_dir / "institutions" / institution_id / "institution.db"


def test_backup_taken_while_writing_restores_and_verifies(tmp_path):
    data_dir = tmp_path / "data"
    institution_id = make_institution(data_dir)
    tenants = Tenants(DataDir(data_dir))
    tenant = tenants.get(institution_id)
    for n in range(50):
        append(tenant, "test.before", {"n": n})
    stop = threading.Event()

    def keep_writing():
        n = 0
        while not stop.is_set():
            append(tenant, "test.during", {"n": n})
            n += 1

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        result = create_backup(data_dir, tmp_path / "backups")
    finally:
        stop.set()
        writer.join()
    tenants.close()

    assert result.institutions == 1 and result.ledger_events >= 50
    manifest = check_backup(result.path)
    assert f"data/institutions/{institution_id}/institution.db" in manifest["files"]
    assert "data/registry.db" in manifest["files"]

    restored = tmp_path / "restored"
    summary = restore_backup(result.path, restored)
    assert summary == {"institutions": 1, "ledger_events": result.ledger_events}
    seqs = ledger_seqs(institution_file(restored, institution_id))
    assert seqs == list(range(1, result.ledger_events + 1))
    # The restored data dir opens and the chain goes on from where the backup ended.
    tenants = Tenants(DataDir(restored))
    tenant = tenants.get(institution_id)
    append(tenant, "test.after_restore", {})
    with tenant.db.reader() as reader:
        assert ledger_store.verify(reader.conn).ok
    tenants.close()


def test_restore_refuses_a_damaged_backup_and_an_existing_data_dir(tmp_path):
    data_dir = tmp_path / "data"
    institution_id = institution_with_events(data_dir, 1)
    backup = create_backup(data_dir, tmp_path / "backups").path

    with pytest.raises(BackupError, match="already holds a data dir"):
        restore_backup(backup, data_dir)

    ledger_copy = backup / "data" / "institutions" / institution_id / "institution.db"
    ledger_copy.write_bytes(ledger_copy.read_bytes()[:-10] + b"x" * 10)
    with pytest.raises(BackupError, match="does not match its sha256"):
        restore_backup(backup, tmp_path / "elsewhere")
    assert not (tmp_path / "elsewhere" / "registry.db").exists()


def test_a_tampered_ledger_is_backed_up_as_evidence_and_reported(tmp_path):
    data_dir = tmp_path / "data"
    institution_id = institution_with_events(data_dir, 3)
    ledger_path = institution_file(data_dir, institution_id)
    with sqlite3.connect(ledger_path) as conn:
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'"):
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute("UPDATE events SET payload='{\"n\":99}' WHERE seq=2")

    result = create_backup(data_dir, tmp_path / "backups")
    assert not result.ok
    assert "seq 2" in result.broken_ledgers[institution_id]
    manifest = json.loads((result.path / "manifest.json").read_text())
    assert "seq 2" in manifest["broken_ledgers"][institution_id]
    with pytest.raises(
        BackupError, match=f"{institution_id} does not verify: chain broken at seq 2"
    ):
        restore_backup(result.path, tmp_path / "restored")


def test_retention_keeps_the_newest_and_ignores_partial_backups(tmp_path):
    data_dir = tmp_path / "data"
    make_institution(data_dir)
    root = tmp_path / "backups"
    (root / "20000101T000000000000Z.partial").mkdir(parents=True)
    taken = [create_backup(data_dir, root, keep=2).path for _ in range(4)]
    assert list_backups(root) == taken[-2:]
    assert not taken[0].exists() and not taken[1].exists()
    assert not (root / "20000101T000000000000Z.partial").exists()


def test_embedded_accounts_file_is_backed_up(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    db = SQLiteDatabase(data_dir / "accounts.db")
    migrate(db)
    sign_up(db, "ana@example.org", "correct horse battery staple")
    db.close()
    backup = create_backup(data_dir, tmp_path / "backups").path
    restore_backup(backup, tmp_path / "restored")
    with sqlite3.connect(tmp_path / "restored" / "accounts.db") as conn:
        assert conn.execute("SELECT email FROM users").fetchall() == [("ana@example.org",)]


def test_postgres_accounts_are_dumped_and_restored(tmp_path):
    data_dir = tmp_path / "data"
    make_institution(data_dir)
    with postgres_database() as source_url:
        db = PostgresDatabase(source_url, max_size=2)
        migrate(db)
        sign_up(db, "bo@example.org", "correct horse battery staple")
        db.close()
        backup = create_backup(data_dir, tmp_path / "backups", database_url=source_url).path
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["accounts"] == "postgres" and "accounts.pgdump" in manifest["files"]

    with pytest.raises(BackupError, match="--database-url"):
        restore_backup(backup, tmp_path / "nowhere")
    with postgres_database() as target_url:
        restore_backup(backup, tmp_path / "restored", database_url=target_url)
        db = PostgresDatabase(target_url, max_size=2)
        with db.transaction() as tx:
            assert [r["email"] for r in tx.all("SELECT email FROM users")] == ["bo@example.org"]
        db.close()


def test_cli_backs_up_restores_and_verifies(tmp_path):
    data_dir = tmp_path / "data"
    institution_with_events(data_dir, 7)
    backups = tmp_path / "backups"

    made = libervia("backup", "create", "--data-dir", str(data_dir), "--backup-dir", str(backups))
    assert made.returncode == 0, made.stderr
    assert "8 ledger events verified" in made.stdout
    listed = libervia("backup", "list", "--backup-dir", str(backups))
    backup = listed.stdout.split()[0]

    restored = libervia("backup", "restore", backup, "--data-dir", str(tmp_path / "new"))
    assert restored.returncode == 0, restored.stderr
    assert "8 ledger events verified" in restored.stdout
    again = libervia("backup", "restore", backup, "--data-dir", str(tmp_path / "new"))
    assert again.returncode == 1 and "--force" in again.stderr
    missing = libervia("backup", "restore", str(tmp_path), "--data-dir", str(tmp_path / "x"))
    assert missing.returncode == 1 and "not a backup" in missing.stderr


def v1_backup(tmp_path):
    """A backup as the v1 engine wrote it (manifest libervia-backup/1, tenant.db + ledger.db)."""
    v1 = unpack_v1(tmp_path / "v1")
    backup = tmp_path / "backups" / "20260101T000000000000Z"
    files = {}
    for path in sorted(p for p in v1.root.rglob("*") if p.is_file()):
        relative = "data/" + str(path.relative_to(v1.root))
        (backup / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, backup / relative)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        files[relative] = {"sha256": digest, "bytes": path.stat().st_size}
    manifest = {
        "format": "libervia-backup/1",
        "created_at": "2026-01-01T00:00:00+00:00",
        "institutions": v1.institution_ids,
        "ledger_events": sum(c["events"] for c in v1.credentials.values()),
        "broken_ledgers": {},
        "accounts": "sqlite",
        "files": files,
    }
    (backup / "manifest.json").write_text(json.dumps(manifest))
    return v1, backup, manifest


def test_a_backup_of_the_v1_layout_restores_into_one_file_per_institution(tmp_path):
    v1, backup, manifest = v1_backup(tmp_path)
    restored = tmp_path / "restored"
    summary = restore_backup(backup, restored)
    assert summary["ledger_events"] == manifest["ledger_events"]
    for institution_id, expected in v1.credentials.items():
        folder = restored / "institutions" / institution_id
        assert not (folder / "ledger.db").exists()
        assert ledger_seqs(folder / "institution.db")[-1] == expected["events"]
        with sqlite3.connect(folder / "institution.db") as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_forcing_an_older_backup_over_a_newer_data_dir_restores_the_backup(tmp_path):
    v1, backup, _ = v1_backup(tmp_path)
    data_dir = tmp_path / "live"
    restore_backup(backup, data_dir)
    institution_id = v1.institution_ids[0]
    tenants = Tenants(DataDir(data_dir))
    for n in range(5):  # the live institution moves on past the backup
        append(tenants.get(institution_id), "test.later", {"n": n})
    tenants.close()
    restore_backup(backup, data_dir, force=True)
    restored = ledger_seqs(institution_file(data_dir, institution_id))
    assert restored[-1] == v1.credentials[institution_id]["events"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"institutions": ["../../etc"]}, "malformed institution id"),
        ({"files": {"data/../../outside": {"sha256": "0", "bytes": 1}}}, "outside the backup"),
        ({"files": {"/etc/passwd": {"sha256": "0", "bytes": 1}}}, "outside the backup"),
        ({"files": []}, "lacks its institutions or files"),
    ],
)
def test_a_manifest_cannot_reach_outside(tmp_path, change, message):
    data_dir = tmp_path / "data"
    make_institution(data_dir)
    backup = create_backup(data_dir, tmp_path / "backups").path
    manifest = json.loads((backup / "manifest.json").read_text())
    (backup / "manifest.json").write_text(json.dumps({**manifest, **change}))
    with pytest.raises(BackupError, match=message):
        restore_backup(backup, tmp_path / "restored")
