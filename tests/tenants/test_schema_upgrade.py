"""Institution files written at schema version 1 (by the engine of commit 008ca90, see
tests/fixtures/) are upgraded in place when opened: nothing lost, the chain unchanged."""

import json
import sqlite3
import tarfile
from pathlib import Path

import httpx
import pytest

from harness.engine_api import auth
from harness.servers import engine_process
from tenants import schema
from tenants.database import InstitutionDB
from tests.support.cli import libervia

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "schema1_data_dir.tar.gz"


@pytest.fixture
def schema1(tmp_path):
    with tarfile.open(FIXTURE) as archive:
        archive.extractall(tmp_path, filter="data")
    credentials = json.loads((tmp_path / "credentials.json").read_text())
    return tmp_path / "data", credentials


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def rows(path: Path, table: str) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()


def test_opening_a_version_1_file_upgrades_it_once_and_keeps_every_row(schema1):
    data, credentials = schema1
    institution_id = sorted(credentials)[0]
    path = data / "institutions" / institution_id / schema.FILENAME
    assert user_version(path) == 1
    before = {table: rows(path, table) for table in ("proposals", "jobs", "events")}
    db = InstitutionDB.open(path, institution_id)
    db.close()
    assert user_version(path) == schema.SCHEMA_VERSION == 3
    # New columns are empty: no progress yet, nobody revoked, no requester recorded.
    assert [row + (None,) for row in before["proposals"]] == rows(path, "proposals")
    assert rows(path, "events") == before["events"]
    assert [row + (None,) for row in before["jobs"]] == rows(path, "jobs")
    assert {row[-2:] for row in rows(path, "actors")} == {(None, None)}
    InstitutionDB.open(path, institution_id).close()  # already current: nothing to do
    assert user_version(path) == 3


def test_the_engine_serves_upgraded_institutions_and_check_finds_nothing(schema1, tmp_path):
    data, credentials = schema1
    with engine_process(data, tmp_path / "engine.log") as base:
        for institution_id, known in sorted(credentials.items()):
            url = f"{base}/v1/institutions/{institution_id}"
            owner, agent = auth(known["tokens"]["owner"]), auth(known["tokens"]["agent"])
            verified = httpx.get(f"{url}/ledger/verify", headers=owner).json()
            assert verified["ok"] is True
            assert verified["events"] == known["events"]
            assert verified["head_hash"] == known["head_hash"]
            job = httpx.get(f"{url}/runtime/jobs/{known['queued_job']}", headers=owner).json()
            assert job["progress"] is None
            fresh = httpx.post(
                f"{url}/proposals", json={"action": "list_files"}, headers=agent
            ).json()
            jobs = f"{url}/runtime/jobs/{fresh['job_id']}"
            httpx.post(f"{jobs}/lease", json={"lease_seconds": 60}, headers=agent)
            sent = {"phase": "scanning", "done": 3}
            assert httpx.post(f"{jobs}/progress", json=sent, headers=agent).status_code == 200
            assert httpx.get(jobs, headers=owner).json()["progress"] == sent
    for institution_id in credentials:
        assert user_version(data / "institutions" / institution_id / schema.FILENAME) == 3
    checked = libervia("check", "--data-dir", str(data))
    assert checked.returncode == 0, checked.stdout
