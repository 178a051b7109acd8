"""Migrating real v1 data dirs (written by the last v1 engine) to one file per institution."""

import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import httpx
import pytest

from governance.consistency import check_data_dir
from harness.engine_api import SEEN, auth
from harness.servers import ROOT, engine_process, json_lines
from ledger import store as ledger_store
from tenants import InstitutionUnavailable
from tenants.migration import migrate_data_dir, migrate_institution
from tests.support.cli import libervia
from tests.support.v1_data import unpack_v1


@pytest.fixture
def v1(tmp_path):
    return unpack_v1(tmp_path / "v1")


def chain_of(path):
    conn = sqlite3.connect(path)
    try:
        result = ledger_store.verify(conn)
    finally:
        conn.close()
    return result.ok, result.events, result.head_hash


def assert_carried_over(v1, institution_id):
    folder = v1.folder(institution_id)
    expected = v1.credentials[institution_id]
    assert chain_of(folder / "institution.db") == (True, expected["events"], expected["head_hash"])
    assert not (folder / "tenant.db").exists() and not (folder / "ledger.db").exists()


def test_every_institution_is_carried_over_verified_and_consistent(v1):
    results = migrate_data_dir(v1.root)
    assert {r.outcome for r in results} == {"migrated"}
    assert sorted(r.institution_id for r in results) == v1.institution_ids
    for institution_id in v1.institution_ids:
        assert_carried_over(v1, institution_id)
    assert {r.outcome for r in migrate_data_dir(v1.root)} == {"current"}  # idempotent
    checked = list(check_data_dir(v1.root))
    assert len(checked) == 24 and all(c.ok for c in checked), [
        str(m) for c in checked for m in (c.report.mismatches if c.report else [])
    ]


def test_the_engine_migrates_at_start_and_serves_the_migrated_institutions(v1, tmp_path):
    with engine_process(v1.root, tmp_path / "engine.log") as base:
        for institution_id in v1.institution_ids[:3]:
            tokens = v1.credentials[institution_id]["tokens"]
            url = f"{base}/v1/institutions/{institution_id}"
            verified = httpx.get(f"{url}/ledger/verify", headers=auth(tokens["owner"])).json()
            assert verified["ok"] is True
            assert verified["events"] == v1.credentials[institution_id]["events"]
            proposed = httpx.post(
                f"{url}/proposals",
                json={
                    "action": "delete",
                    "params": {"path": "after-migration.txt", "sha256": SEEN},
                },
                headers=auth(tokens["agent"]),
            )
            assert proposed.status_code == 201, proposed.text
            approved = httpx.post(
                f"{url}/proposals/{proposed.json()['proposal_id']}/approve",
                json={"digest": proposed.json()["digest"]},
                headers=auth(tokens["owner"]),
            )
            assert approved.status_code == 200, approved.text
    for institution_id in v1.institution_ids:
        assert not (v1.folder(institution_id) / "ledger.db").exists()
    checked = libervia("check", "--data-dir", str(v1.root))
    assert checked.returncode == 0, checked.stdout
    assert "24 ok" in checked.stdout


def test_a_partial_copy_left_by_a_crash_is_discarded(v1):
    institution_id = v1.institution_ids[0]
    (v1.folder(institution_id) / "institution.db.migrating").write_bytes(b"half a file")
    assert migrate_institution(v1.folder(institution_id), institution_id).outcome == "migrated"
    assert_carried_over(v1, institution_id)
    assert not (v1.folder(institution_id) / "institution.db.migrating").exists()


def test_a_crash_between_rename_and_cleanup_is_finished(v1, tmp_path):
    institution_id = v1.institution_ids[1]
    folder = v1.folder(institution_id)
    for name in ("tenant.db", "ledger.db"):
        shutil.copy(folder / name, tmp_path / name)
    migrate_institution(folder, institution_id)
    for name in ("tenant.db", "ledger.db"):  # as if the process died before removing them
        shutil.copy(tmp_path / name, folder / name)
    assert migrate_institution(folder, institution_id).outcome == "finished"
    assert_carried_over(v1, institution_id)


def test_a_new_file_that_does_not_carry_the_v1_chain_keeps_both(v1):
    first, second = v1.institution_ids[:2]
    migrate_institution(v1.folder(first), first)
    shutil.copy(v1.folder(second) / "ledger.db", v1.folder(first) / "ledger.db")
    with pytest.raises(InstitutionUnavailable, match="does not carry the v1 chain"):
        migrate_institution(v1.folder(first), first)
    assert (v1.folder(first) / "ledger.db").exists()
    assert (v1.folder(first) / "institution.db").exists()


def tamper_v1(folder):
    conn = sqlite3.connect(folder / "ledger.db")
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("UPDATE events SET actor='mallory' WHERE seq=3")
    conn.commit()
    conn.close()


def test_a_broken_v1_ledger_is_left_as_it_is_and_only_that_institution_is_unavailable(v1, tmp_path):
    broken, healthy = v1.institution_ids[:2]
    tamper_v1(v1.folder(broken))
    outcomes = {r.institution_id: r for r in migrate_data_dir(v1.root)}
    assert outcomes[broken].outcome == "failed" and "seq 3" in outcomes[broken].problem
    assert (v1.folder(broken) / "ledger.db").exists()
    assert not (v1.folder(broken) / "institution.db").exists()
    assert outcomes[healthy].outcome == "migrated"

    migrated = libervia("storage", "migrate", "--data-dir", str(v1.root))
    assert migrated.returncode == 1 and f"FAILED {broken}" in migrated.stderr

    with engine_process(v1.root, tmp_path / "engine.log") as base:
        for institution_id, status in ((broken, 503), (healthy, 200)):
            token = v1.credentials[institution_id]["tokens"]["owner"]
            response = httpx.get(
                f"{base}/v1/institutions/{institution_id}/ledger/verify", headers=auth(token)
            )
            assert response.status_code == status, response.text
        body = response.json() if status == 200 else None
        assert body and body["ok"] is True
        unavailable = httpx.get(
            f"{base}/v1/institutions/{broken}/ledger/verify",
            headers=auth(v1.credentials[broken]["tokens"]["owner"]),
        )
        assert unavailable.json()["error"]["code"] == "institution_unavailable"
        assert "seq" not in unavailable.json()["error"]["message"]  # the reason is the log's
    logged = [line for line in json_lines(tmp_path / "engine.log") if line.get("problem")]
    assert any(broken == line["institution_id"] and "seq 3" in line["problem"] for line in logged)


def test_a_hot_wal_left_by_a_killed_v1_engine_is_carried_over(v1):
    """A v1 engine killed with -9 leaves committed pages only in the -wal file."""
    institution_id = v1.institution_ids[2]
    folder = v1.folder(institution_id)
    writer = (
        "import os, sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "conn.execute('PRAGMA wal_autocheckpoint=0')\n"
        "conn.execute(\"UPDATE actors SET last_seen_at='2026-01-02T03:04:05Z'\")\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", writer, str(folder / "tenant.db")], check=True)
    assert (folder / "tenant.db-wal").stat().st_size > 0
    migrate_institution(folder, institution_id)
    conn = sqlite3.connect(folder / "institution.db")
    seen = {row[0] for row in conn.execute("SELECT last_seen_at FROM actors")}
    conn.close()
    assert seen == {"2026-01-02T03:04:05Z"}
    assert not (folder / "tenant.db-wal").exists()


def test_an_older_v1_file_without_later_columns_is_migrated(v1):
    institution_id = v1.institution_ids[3]
    folder = v1.folder(institution_id)
    conn = sqlite3.connect(folder / "tenant.db")
    conn.execute("ALTER TABLE jobs DROP COLUMN request_id")
    conn.commit()
    conn.close()
    assert migrate_institution(folder, institution_id).outcome == "migrated"
    assert_carried_over(v1, institution_id)


def test_killed_migrations_resume_until_everything_is_carried_over(v1):
    """`libervia storage migrate` killed with SIGKILL at random moments, then run again."""
    rng = random.Random(9)
    for _ in range(8):
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "functions.cli",
                "storage",
                "migrate",
                "--data-dir",
                str(v1.root),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.15, 0.3))  # a random moment: nothing to wait for by design
        process.send_signal(signal.SIGKILL)
        process.wait()
    finished = libervia("storage", "migrate", "--data-dir", str(v1.root))
    assert finished.returncode == 0, finished.stderr
    assert "24 institutions" in finished.stdout
    for institution_id in v1.institution_ids:
        assert_carried_over(v1, institution_id)
        assert not (v1.folder(institution_id) / "institution.db.migrating").exists()
