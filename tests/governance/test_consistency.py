"""`libervia check` on real institution files: a healthy history has nothing to report; every
kind of damage is named."""

import sqlite3

import pytest

from governance.approvals import approve, expire_pending, reject
from governance.consistency import check
from governance.jobs import lease_job, post_result
from governance.proposals import submit_proposal
from harness.engine_api import SEEN
from tests.support.cli import libervia
from tests.support.domain import open_domain


@pytest.fixture
def domain(tmp_path):
    opened = open_domain(tmp_path / "data")
    yield opened
    opened.close()


def propose(domain, who, action, params=None):
    return submit_proposal(
        domain.ctx, domain.tenant, domain.actors[who], {"action": action, "params": params or {}}
    )


def full_history(domain):
    """Every kind of record and transition the engine writes."""
    listed = propose(domain, "agent", "list_files", {"path": "."})
    propose(domain, "agent", "format_disk")
    approved = propose(domain, "agent", "delete", {"path": "a.txt", "sha256": SEEN})
    approve(
        domain.ctx,
        domain.tenant,
        domain.actors["owner"],
        approved.id,
        {"digest": approved.digest},
    )
    rejected = propose(domain, "agent", "delete", {"path": "b.txt", "sha256": SEEN})
    reject(domain.tenant, domain.actors["owner"], rejected.id, {"reason": "no"})
    refused = propose(domain, "owner", "delete", {"path": "c.txt", "sha256": SEEN})
    with pytest.raises(Exception, match="proposer cannot decide"):
        approve(
            domain.ctx,
            domain.tenant,
            domain.actors["owner"],
            refused.id,
            {"digest": refused.digest},
        )
    agent = domain.actors["agent"]
    lease_job(domain.tenant, agent, listed.job_id, 60)
    post_result(domain.tenant, agent, listed.job_id, "succeeded", {"files": []})
    post_result(domain.tenant, agent, listed.job_id, "succeeded", {"files": []})  # re-sent
    stale = propose(domain, "agent", "delete", {"path": "d.txt", "sha256": SEEN})
    domain.tenant.db.write(
        lambda tx: tx.execute(
            "UPDATE proposals SET expires_at='2000-01-01T00:00:00Z' WHERE id=?",
            (stale.id,),
        )
    )
    assert expire_pending(domain.tenant) == 1
    return {"listed": listed, "approved": approved, "rejected": rejected}


def report_of(domain):
    with domain.tenant.db.snapshot() as snapshot:
        return check(snapshot)


def raw(domain, *statements):
    """Damage the file behind the engine's back, as an attacker or a bad disk would."""
    conn = sqlite3.connect(domain.tenant.db.path)
    conn.execute("DROP TRIGGER IF EXISTS events_no_update")
    conn.execute("DROP TRIGGER IF EXISTS events_no_delete")
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


def test_a_healthy_history_has_nothing_to_report(domain):
    full_history(domain)
    report = report_of(domain)
    assert report.ok, [str(m) for m in report.mismatches]
    assert report.records > 10 and report.events > report.records


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (
            "DELETE FROM events WHERE type='proposal.allowed'",
            "record_without_event: proposal {listed}: no proposal.allowed event",
        ),
        (
            "DELETE FROM events WHERE type='job.created'",
            "record_without_event: job {listed_job}: no job.created event",
        ),
        (
            "DELETE FROM events WHERE type='job.leased'",
            "record_without_event: job {listed_job}: no job.leased event",
        ),
        (
            "DELETE FROM events WHERE type='approval.granted'",
            "record_without_event: proposal {approved}: no approval.granted event",
        ),
        (
            "DELETE FROM proposals WHERE id='{rejected}'",
            "event_without_record: event approval.rejected about {rejected}",
        ),
        (
            "UPDATE jobs SET status='queued', result_status=NULL WHERE id='{listed_job}'",
            "disagreement: job {listed_job}: 1 job.executed events where 0 expected",
        ),
        (
            "DELETE FROM actors WHERE role='executive_admin'",
            "event_without_record: event actor.created about",
        ),
        (
            "INSERT INTO events (seq, ts, institution_id, case_id, type, actor, payload,"
            " prev_hash, hash) SELECT max(seq)+1, 'x', 'i', 'c', 'job.leased', 'a',"
            " '{{\"job_id\":\"job_ghost\"}}', 'p', 'h' FROM events",
            "event_without_record: event job.leased about job_ghost",
        ),
    ],
)
def test_damage_is_named(domain, damage, expected):
    history = full_history(domain)
    ids = {
        "listed": history["listed"].id,
        "listed_job": history["listed"].job_id,
        "approved": history["approved"].id,
        "rejected": history["rejected"].id,
    }
    raw(domain, damage.format(**ids))
    report = report_of(domain)
    assert not report.ok
    assert any(str(m).startswith(expected.format(**ids)) for m in report.mismatches), [
        str(m) for m in report.mismatches
    ]


def test_the_cli_exits_1_and_names_the_institution(domain, tmp_path):
    full_history(domain)
    root = tmp_path / "data"
    command = ("check", "--data-dir", str(root))
    healthy = libervia(*command)
    assert healthy.returncode == 0, healthy.stdout
    assert "1 ok, 0 with problems" in healthy.stdout
    raw(domain, "DELETE FROM events WHERE type='job.result'")
    damaged = libervia(*command, "--institution", domain.institution_id)
    assert damaged.returncode == 1
    assert f"FAILED {domain.institution_id}: record_without_event: job" in damaged.stdout
    assert "chain broken at seq" in damaged.stdout  # deleting events also breaks the chain
    unknown = libervia(*command, "--institution", "inst_" + "0" * 24)
    assert unknown.returncode == 1 and "not a registered institution" in unknown.stdout


def test_the_cli_refuses_a_folder_that_is_not_a_data_dir(tmp_path):
    done = libervia("check", "--data-dir", str(tmp_path / "typo"))
    assert done.returncode == 1 and "not a data dir" in done.stderr
    assert not (tmp_path / "typo").exists()
