import threading
import time
from datetime import datetime

from harness.engine_api import SEEN, new_institution


def test_long_poll_returns_as_soon_as_a_job_appears(inst):
    result = {}

    def poll():
        started = time.monotonic()
        result["response"] = inst.get("/runtime/jobs", "agent", wait=20)
        result["elapsed"] = time.monotonic() - started

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.5)
    proposal = inst.propose("owner", "list_files")
    poller.join(timeout=25)
    jobs = result["response"].json()["jobs"]
    assert [j["job_id"] for j in jobs] == [proposal["job_id"]]
    assert result["elapsed"] < 5


def test_long_poll_waits_when_there_is_nothing(inst):
    started = time.monotonic()
    response = inst.get("/runtime/jobs", "agent", wait=2)
    assert response.json()["jobs"] == []
    assert time.monotonic() - started >= 1.9


def test_only_the_agent_polls_and_leases(inst):
    assert inst.get("/runtime/jobs", "owner").status_code == 403
    job_id = inst.propose("owner", "list_files")["job_id"]
    response = inst.post(f"/runtime/jobs/{job_id}/lease", "owner", {"lease_seconds": 30})
    assert response.status_code == 403


def test_lease_then_idempotent_result(inst):
    job_id = inst.propose("agent", "list_files")["job_id"]
    leased = inst.post(f"/runtime/jobs/{job_id}/lease", "agent", {"lease_seconds": 60})
    assert leased.status_code == 200
    assert leased.json()["status"] == "leased" and leased.json()["lease_expires_at"]
    assert inst.get("/runtime/jobs", "agent").json()["jobs"] == []
    taken = inst.post(f"/runtime/jobs/{job_id}/lease", "admin", {"lease_seconds": 60})
    assert taken.status_code == 401

    report = {"files": [{"path": "a.txt", "sha256_before": "0" * 64}], "duration_ms": 3}
    first = inst.post(
        f"/runtime/jobs/{job_id}/result", "agent", {"status": "succeeded", "report": report}
    )
    assert first.status_code == 201 and first.json()["duplicate"] is False
    second = inst.post(
        f"/runtime/jobs/{job_id}/result", "agent", {"status": "failed", "report": {"other": True}}
    )
    assert second.status_code == 200 and second.json()["duplicate"] is True
    assert second.json()["job"]["result_status"] == "succeeded"
    assert second.json()["job"]["result"] == report

    events = inst.get("/ledger/events", "admin", category="execution").json()["events"]
    types = [e["type"] for e in events]
    assert types == ["job.created", "job.leased", "job.executed", "job.result"]


def test_result_without_lease_is_refused(inst):
    job_id = inst.propose("agent", "list_files")["job_id"]
    response = inst.post(f"/runtime/jobs/{job_id}/result", "agent", {"status": "succeeded"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "job_not_leased"


def test_expired_lease_is_requeued(local_inst, clock):
    inst = local_inst
    job_id = inst.propose("agent", "list_files")["job_id"]
    inst.post(f"/runtime/jobs/{job_id}/lease", "agent", {"lease_seconds": 60})
    assert inst.get("/runtime/jobs", "agent").json()["jobs"] == []
    clock.advance(61)
    jobs = inst.get("/runtime/jobs", "agent").json()["jobs"]
    assert [j["job_id"] for j in jobs] == [job_id]
    again = inst.post(f"/runtime/jobs/{job_id}/lease", "agent", {"lease_seconds": 60})
    assert again.json()["attempts"] == 2


def test_tenants_are_isolated(engine):
    a, b = new_institution(engine), new_institution(engine)
    job_id = a.propose("agent", "list_files")["job_id"]
    pending = a.propose("agent", "delete", {"path": "x.txt", "sha256": SEEN})
    # b's credentials against a's institution: refused.
    for who in ("agent", "owner"):
        a.tokens[f"b_{who}"] = b.tokens[who]
    assert a.get("/runtime/jobs", "b_agent").status_code == 401
    assert (
        a.post(
            f"/proposals/{pending['proposal_id']}/approve", "b_owner", {"digest": pending["digest"]}
        ).status_code
        == 401
    )
    assert a.get("/ledger/events", "b_owner").status_code == 401
    # a's ids against b's institution: not found there.
    assert b.post(f"/runtime/jobs/{job_id}/lease", "agent", {}).status_code == 404
    assert (
        b.post(
            f"/proposals/{pending['proposal_id']}/approve", "owner", {"digest": pending["digest"]}
        ).status_code
        == 404
    )
    assert b.get("/runtime/jobs", "agent").json()["jobs"] == []
    b_types = {e["type"] for e in b.get("/ledger/events", "admin").json()["events"]}
    assert "proposal.allowed" not in b_types


def approved_delete(inst):
    pending = inst.propose("agent", "delete", {"path": "x.txt", "sha256": SEEN})
    granted = inst.post(
        f"/proposals/{pending['proposal_id']}/approve", "owner", {"digest": pending["digest"]}
    )
    return granted.json()["job_id"]


def close_window(clock, inst, job_id):
    """Time passes until just after the job's approval window ends."""
    not_after = datetime.fromisoformat(
        inst.get(f"/runtime/jobs/{job_id}", "owner").json()["not_after"]
    )
    clock.advance((not_after - clock.now()).total_seconds() + 1)


def test_a_lease_never_outlasts_the_approval(inst):
    job_id = approved_delete(inst)
    leased = inst.post(f"/runtime/jobs/{job_id}/lease", "agent", {"lease_seconds": 3600}).json()
    assert leased["lease_expires_at"] <= leased["not_after"]


def test_past_its_window_a_job_is_neither_renewed_leased_nor_reported(local_inst, clock):
    inst = local_inst
    job_id = approved_delete(inst)
    assert inst.post(f"/runtime/jobs/{job_id}/lease", "agent", {}).status_code == 200
    close_window(clock, inst, job_id)
    renewed = inst.post(f"/runtime/jobs/{job_id}/lease", "agent", {})
    assert renewed.status_code == 409 and renewed.json()["error"]["code"] == "job_expired"
    again = inst.post(f"/runtime/jobs/{job_id}/lease", "agent", {})
    assert again.status_code == 409
    reported = inst.post(
        f"/runtime/jobs/{job_id}/result", "agent", {"status": "succeeded", "report": {}}
    )
    assert reported.status_code == 409
    job = inst.get(f"/runtime/jobs/{job_id}", "owner").json()
    assert job["status"] == "expired" and job["result_status"] is None


def test_a_result_after_the_window_is_recorded_but_not_taken(local_inst, clock):
    inst = local_inst
    job_id = approved_delete(inst)
    assert inst.post(f"/runtime/jobs/{job_id}/lease", "agent", {}).status_code == 200
    close_window(clock, inst, job_id)
    late = inst.post(
        f"/runtime/jobs/{job_id}/result", "agent", {"status": "succeeded", "report": {}}
    )
    assert late.status_code == 409 and late.json()["error"]["code"] == "job_expired"
    events = inst.get("/ledger/events", "owner", type="job.expired").json()["events"]
    assert [
        e["payload"].get("late_result") for e in events if e["payload"]["job_id"] == job_id
    ] == ["succeeded"]
    assert inst.get("/ledger/verify", "owner").json()["ok"] is True


def test_the_running_agent_reports_progress_and_nobody_else_can(inst):
    job_id = inst.propose("owner", "list_files")["job_id"]
    path = f"/runtime/jobs/{job_id}/progress"
    early = inst.post(path, "agent", {"phase": "scanning", "done": 10})
    assert early.status_code == 409 and early.json()["error"]["code"] == "job_not_leased"
    inst.post(f"/runtime/jobs/{job_id}/lease", "agent", {"lease_seconds": 60})
    assert inst.post(path, "owner", {"phase": "scanning"}).status_code == 403
    for bad in (
        {"phase": "exfiltrating"},
        {"phase": "hashing", "done": -1},
        {"phase": "hashing", "done": True},
        {"phase": "hashing", "total": "many"},
        {"phase": "hashing", "note": "x" * 1000},
    ):
        refused = inst.post(path, "agent", bad)
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "bad_progress"
    events_before = inst.get("/ledger/verify", "owner").json()["events"]
    sent = {"phase": "hashing", "done": 4000, "total": 10000, "bytes": 1_234_567}
    assert inst.post(path, "agent", sent).json() == {"job_id": job_id, "progress": sent}
    assert inst.get(f"/runtime/jobs/{job_id}", "owner").json()["progress"] == sent
    assert inst.get("/ledger/verify", "owner").json()["events"] == events_before  # not a step
    inst.post(f"/runtime/jobs/{job_id}/result", "agent", {"status": "succeeded", "report": {}})
    late = inst.post(path, "agent", {"phase": "hashing", "done": 10000})
    assert late.status_code == 409
