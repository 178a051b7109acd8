import json
import os
import signal
import sqlite3
import subprocess
import sys

from harness.engine_api import SEEN
from harness.servers import ROOT
from tests.support.agent_process import wait_for


def set_in_the_past(engine_data_dir, inst, table, column, row_id):
    """Let time pass for one row: its deadline moves to 2000 in the institution's real file."""
    path = engine_data_dir / "institutions" / inst.institution_id / "institution.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"UPDATE {table} SET {column}='2000-01-01T00:00:00Z' WHERE id=?", (row_id,))


def event_types(inst):
    return [e["type"] for e in inst.get("/ledger/events", "owner", limit=1000).json()["events"]]


def test_clock_process_expires_requeues_and_backs_up(engine_data_dir, inst, tmp_path):
    stale = inst.propose("agent", "delete", {"path": "old.txt", "sha256": SEEN})
    set_in_the_past(engine_data_dir, inst, "proposals", "expires_at", stale["proposal_id"])

    leased = inst.propose("agent", "list_files", {"path": "."})
    job_id = leased["job_id"]
    assert inst.post(f"/runtime/jobs/{job_id}/lease", "agent", {}).status_code == 200
    set_in_the_past(engine_data_dir, inst, "jobs", "lease_expires_at", job_id)

    backups = tmp_path / "backups"
    env = {
        **os.environ,
        "LIBERVIA_DATA_DIR": str(engine_data_dir),
        "LIBERVIA_BACKUP_DIR": str(backups),
        "CLOCK_SWEEP_SECONDS": "0.5",
        "LIBERVIA_DATABASE_URL": "",
    }
    clock = subprocess.Popen(
        [sys.executable, "-m", "functions.cli", "clock"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(
            lambda: (
                inst.get(f"/proposals/{stale['proposal_id']}", "owner").json()["status"]
                == "expired"
            ),
            what="the pending approval to expire",
        )
        wait_for(
            lambda: inst.get(f"/runtime/jobs/{job_id}", "owner").json()["status"] == "queued",
            what="the lapsed lease to be re-queued",
        )
        manifests = wait_for(lambda: list(backups.glob("*/manifest.json")), what="a backup")
    finally:
        clock.send_signal(signal.SIGTERM)
        try:
            _, stderr = clock.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            clock.kill()
            _, stderr = clock.communicate()
            raise AssertionError(
                f"the clock did not stop 30 s after SIGTERM: {stderr[-3000:]}"
            ) from None
    assert clock.returncode == 0, stderr

    types = event_types(inst)
    assert "approval.expired" in types and "job.lease_expired" in types
    assert inst.get("/ledger/verify", "owner").json()["ok"] is True
    manifest = json.loads(manifests[0].read_text())
    assert inst.institution_id in manifest["institutions"]
    assert inst.institution_id not in manifest["broken_ledgers"]  # other tests tamper on purpose

    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert {"clock starting", "sweep", "backup taken", "clock stopped"} <= {
        line["msg"] for line in lines
    }
    assert all(line["service"] == "clock" for line in lines)
