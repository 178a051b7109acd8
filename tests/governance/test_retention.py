"""Past the contract's retention period the clock proposes purging quarantined files: for
approval, once per file (a rejected purge is not proposed again), never what was restored."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from governance.approvals import approve, reject
from governance.jobs import lease_job, post_result
from governance.proposals import submit_proposal
from governance.retention import propose_due_purge
from tests.support.domain import open_domain

LATER = datetime.now(UTC) + timedelta(days=31)
IDS = itertools.count()


@pytest.fixture
def domain(tmp_path):
    opened = open_domain(tmp_path / "data", version="1.1.0")
    yield opened
    opened.close()


def run_approved(domain, action, params, report):
    """Propose as the agent, approve as the owner, and post the agent's report."""
    agent, owner = domain.actors["agent"], domain.actors["owner"]
    body = {"action": action, "params": params}
    proposal = submit_proposal(domain.ctx, domain.tenant, agent, body)
    job_id = proposal.job_id
    if proposal.decision == "pending_approval":
        job_id = approve(domain.ctx, domain.tenant, owner, proposal.id, proposal.view()).job_id
    lease_job(domain.tenant, agent, job_id, 60)
    post_result(domain.tenant, agent, job_id, "succeeded", report)
    return job_id


def quarantine(domain, *names):
    ids = {n: f"20261201T000000Z-{next(IDS):08x}" for n in names}
    files = [{"path": n, "sha256": n[0] * 64, "size": 3} for n in names]
    touched = [
        {
            "path": n,
            "new_path": f".libervia-quarantine/{ids[n]}/{n}",
            "sha256_before": n[0] * 64,
            "size_before": 3,
            "sha256_after": n[0] * 64,
            "size_after": 3,
            "status": "quarantined",
            "quarantine_id": ids[n],
        }
        for n in names
    ]
    run_approved(domain, "quarantine_files", {"files": files}, {"files": touched})
    return touched


def test_nothing_is_proposed_before_the_retention_period(domain):
    quarantine(domain, "a.txt")
    assert propose_due_purge(domain.tenant) is None
    assert propose_due_purge(domain.tenant, LATER) is not None


def test_past_retention_one_purge_waits_for_approval_and_is_not_proposed_twice(domain):
    placed = quarantine(domain, "a.txt", "b.txt", "c.txt")
    restored = placed[1]["quarantine_id"]
    run_approved(
        domain,
        "restore",
        {"quarantine_id": restored},
        {"restored": "b.txt", "quarantine_id": restored, "sha256": "b" * 64, "size": 3},
    )
    proposal = propose_due_purge(domain.tenant, LATER)
    assert proposal.decision == "pending_approval" and proposal.action == "purge"
    assert [f["path"] for f in proposal.params["files"]] == [
        placed[0]["new_path"],
        placed[2]["new_path"],
    ]
    assert proposal.actor_id == domain.actors["agent"].id
    assert propose_due_purge(domain.tenant, LATER) is None, "already proposed"
    reject(domain.tenant, domain.actors["owner"], proposal.id, {"reason": "keep"})
    assert propose_due_purge(domain.tenant, LATER) is None, "the owner said keep them"
    quarantine(domain, "d.txt")
    again = propose_due_purge(domain.tenant, LATER + timedelta(days=1))
    assert [f["path"].rsplit("/", 1)[-1] for f in again.params["files"]] == ["d.txt"]
