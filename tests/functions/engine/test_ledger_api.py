import sqlite3

from harness.engine_api import SEEN, new_institution
from tests.support.cli import verify_offline


def run_flow(inst):
    inst.propose("agent", "list_files")
    inst.propose("agent", "format_disk")
    pending = inst.propose("agent", "delete", {"path": "a.txt", "sha256": SEEN})
    inst.post(
        f"/proposals/{pending['proposal_id']}/approve", "owner", {"digest": pending["digest"]}
    )
    return pending


def test_every_step_is_in_the_ledger_and_verifies(inst):
    pending = run_flow(inst)
    case = inst.get("/ledger/events", "owner", case_id=pending["case_id"]).json()["events"]
    assert [e["type"] for e in case] == [
        "proposal.pending_approval",
        "approval.granted",
        "job.created",
    ]
    verified = inst.get("/ledger/verify", "owner").json()
    assert verified["ok"] is True and verified["first_bad_seq"] is None
    rbac = inst.get("/ledger/events", "owner", category="rbac").json()["events"]
    assert [e["payload"]["action"] for e in rbac] == ["format_disk"]


def test_agent_cannot_read_the_ledger(inst):
    assert inst.get("/ledger/events", "agent").status_code == 403


def test_tampering_is_detected_at_its_seq(engine, engine_data_dir):
    inst = new_institution(engine)
    run_flow(inst)
    db = engine_data_dir / "institutions" / inst.institution_id / "institution.db"
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("UPDATE events SET actor='mallory' WHERE seq=7")
    conn.commit()
    conn.close()
    verified = inst.get("/ledger/verify", "admin").json()
    assert verified["ok"] is False
    assert verified["first_bad_seq"] == 7


def test_exports_verify_offline_with_the_cli(inst, tmp_path):
    run_flow(inst)
    public_key = None
    for fmt, suffix in (("jsonl", "jsonl"), ("sqlite", "db"), ("csv", "csv")):
        response = inst.get("/ledger/export", "owner", format=fmt)
        assert response.status_code == 200
        public_key = response.headers["x-libervia-public-key"]
        path = tmp_path / f"export.{suffix}"
        path.write_bytes(response.content)
        if fmt == "csv":
            assert response.text.startswith("seq,ts,institution_id")
            continue
        cli = verify_offline(str(path), public_key)
        assert cli.returncode == 0, cli.stderr
        assert cli.stdout.startswith("OK:")

    lines = (tmp_path / "export.jsonl").read_text().splitlines()
    lines[4] = lines[4].replace('"actor":"', '"actor":"x', 1)
    (tmp_path / "export.jsonl").write_text("\n".join(lines))
    cli = verify_offline(str(tmp_path / "export.jsonl"), public_key)
    assert cli.returncode == 1
    assert "seq 4" in cli.stderr
