import concurrent.futures
import sqlite3

import pytest

from harness.engine_api import SEEN, new_institution
from idl.compiler import builtin_source


def pending_delete(inst, who="agent"):
    proposal = inst.propose(who, "delete", {"path": "docs/old.txt", "sha256": SEEN})
    assert proposal["decision"] == "pending_approval"
    return proposal


def test_owner_approval_creates_exactly_one_job(inst):
    proposal = pending_delete(inst)
    listed = inst.get("/approvals", "owner").json()["pending"]
    assert [p["proposal_id"] for p in listed] == [proposal["proposal_id"]]
    approved = inst.post(
        f"/proposals/{proposal['proposal_id']}/approve",
        "owner",
        {"digest": proposal["digest"], "reason": "ok"},
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    jobs = inst.get("/runtime/jobs", "agent").json()["jobs"]
    assert len(jobs) == 1
    assert jobs[0]["approval_digest"] == proposal["digest"]
    assert jobs[0]["options"]["delete_mode"] == "quarantine"

    again = inst.post(
        f"/proposals/{proposal['proposal_id']}/approve", "exec", {"digest": proposal["digest"]}
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_decided"
    assert len(inst.get("/runtime/jobs", "agent").json()["jobs"]) == 1


def test_concurrent_approvals_never_create_two_jobs(engine):
    inst = new_institution(engine, second_owner=True)
    proposal = pending_delete(inst)
    path = f"/proposals/{proposal['proposal_id']}/approve"
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        responses = list(
            pool.map(
                lambda who: inst.post(path, who, {"digest": proposal["digest"]}),
                ["owner", "exec", "owner2"] * 4,
            )
        )
    assert sorted(r.status_code for r in responses).count(200) == 1
    assert len(inst.get("/runtime/jobs", "agent").json()["jobs"]) == 1


def test_agent_can_never_approve_and_it_is_recorded(inst):
    proposal = pending_delete(inst, who="owner")
    response = inst.post(
        f"/proposals/{proposal['proposal_id']}/approve", "agent", {"digest": proposal["digest"]}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "agent_cannot_approve"
    events = inst.get("/ledger/events", "admin", case_id=proposal["case_id"]).json()["events"]
    assert [e["type"] for e in events] == ["proposal.pending_approval", "approval.refused"]
    assert inst.get("/runtime/jobs", "agent").json()["jobs"] == []


def test_proposer_cannot_approve_own_destructive_proposal(inst):
    proposal = pending_delete(inst, who="owner")
    response = inst.post(
        f"/proposals/{proposal['proposal_id']}/approve", "owner", {"digest": proposal["digest"]}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "self_approval"
    ok = inst.post(
        f"/proposals/{proposal['proposal_id']}/approve", "exec", {"digest": proposal["digest"]}
    )
    assert ok.status_code == 200


def test_approval_binds_to_the_digest(inst):
    proposal = pending_delete(inst)
    response = inst.post(
        f"/proposals/{proposal['proposal_id']}/approve", "owner", {"digest": "0" * 64}
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "digest_mismatch"
    missing = inst.post(f"/proposals/{proposal['proposal_id']}/approve", "owner", {})
    assert missing.status_code == 400
    assert inst.get("/runtime/jobs", "agent").json()["jobs"] == []


def test_digests_differ_by_params(inst):
    a = inst.propose("agent", "delete", {"path": "a.txt", "sha256": SEEN})
    b = inst.propose("agent", "delete", {"path": "b.txt", "sha256": SEEN})
    assert a["digest"] != b["digest"]
    swapped = inst.post(f"/proposals/{a['proposal_id']}/approve", "owner", {"digest": b["digest"]})
    assert swapped.status_code == 409


def test_reject_needs_a_reason_and_creates_no_job(inst):
    proposal = pending_delete(inst)
    path = f"/proposals/{proposal['proposal_id']}/reject"
    assert inst.post(path, "owner", {}).status_code == 400
    rejected = inst.post(path, "owner", {"reason": "keep it"})
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    approve = inst.post(
        f"/proposals/{proposal['proposal_id']}/approve", "exec", {"digest": proposal["digest"]}
    )
    assert approve.status_code == 409
    assert inst.get("/runtime/jobs", "agent").json()["jobs"] == []


@pytest.fixture
def short_ttl_inst(engine):
    inst = new_institution(engine, release=False)
    source = (
        builtin_source("personal_ops", "1.0.0")
        .replace("approval_ttl_seconds = 86400", "approval_ttl_seconds = 60")
        .replace('version = "1.0.0"', 'version = "1.0.1"')
    )
    assert inst.post("/bundles", "admin", {"source": source}).status_code == 201
    assert inst.post("/bundles/personal_ops/v1.0.1/release", "admin").status_code == 200
    return inst


def test_approvals_expire(short_ttl_inst, engine_data_dir):
    inst = short_ttl_inst
    proposal = pending_delete(inst)
    # Age the proposal in its institution file, as time passing would.
    db = engine_data_dir / "institutions" / inst.institution_id / "institution.db"
    conn = sqlite3.connect(db)
    conn.execute(
        "UPDATE proposals SET expires_at='2000-01-01T00:00:00Z' WHERE id=?",
        (proposal["proposal_id"],),
    )
    conn.commit()
    conn.close()
    response = inst.post(
        f"/proposals/{proposal['proposal_id']}/approve", "owner", {"digest": proposal["digest"]}
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "approval_expired"
    assert inst.get("/approvals", "owner").json()["pending"] == []
    types = [
        e["type"]
        for e in inst.get("/ledger/events", "admin", case_id=proposal["case_id"]).json()["events"]
    ]
    assert types == ["proposal.pending_approval", "approval.expired"]
    assert inst.get("/runtime/jobs", "agent").json()["jobs"] == []
