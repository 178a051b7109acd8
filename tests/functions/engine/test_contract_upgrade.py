"""personal_ops@v1.1.0: an institution on v1.0.0 moves to it only through a release its owner
approves (recorded in the ledger); departments are activated by an engine step, and proposals
outside an active department are denied with the rule."""

import pytest

from harness.engine_api import SEEN, new_institution
from idl.compiler import builtin_source, compile_source
from tests.support.cli import libervia

V110 = compile_source(builtin_source("personal_ops", "1.1.0"))


def test_moving_to_v110_takes_the_owners_approval_of_exactly_that_manifest(inst, engine_data_dir):
    pending = inst.propose("agent", "delete", {"path": "a.txt", "sha256": SEEN})
    assert inst.post("/bundles", "admin", {"builtin": "personal_ops@v1.1.0"}).status_code == 201
    release = "/bundles/personal_ops/v1.1.0/release"
    by_admin = inst.post(release, "admin")
    assert by_admin.status_code == 409
    assert by_admin.json()["error"]["code"] == "owner_approval_required"
    assert inst.post(release, "exec", {"manifest_sha256": V110.manifest_sha256}).status_code == 403
    wrong = inst.post(release, "owner", {"manifest_sha256": "0" * 64})
    assert wrong.status_code == 409 and wrong.json()["error"]["code"] == "manifest_mismatch"
    assert inst.get("/contract", "owner").json()["ref"] == "personal_ops@v1.0.0"

    approved = inst.post(release, "owner", {"manifest_sha256": V110.manifest_sha256})
    assert approved.status_code == 200, approved.text
    assert inst.get("/contract", "agent").json()["ref"] == "personal_ops@v1.1.0"
    events = inst.get("/ledger/events", "owner").json()["events"]
    approval = next(e for e in events if e["type"] == "contract.release_approved")
    assert approval["actor"] == inst.actor_ids["owner"]
    assert approval["payload"] == {
        "ref": "personal_ops@v1.1.0",
        "manifest_sha256": V110.manifest_sha256,
        "from": "personal_ops@v1.0.0",
    }
    assert events[-1]["type"] == "contract.released"
    # What was proposed under v1.0.0 is proposed again under v1.1.0, never approved across.
    stale = inst.post(
        f"/proposals/{pending['proposal_id']}/approve", "owner", {"digest": pending["digest"]}
    )
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "contract_changed"
    checked = libervia(
        "check", "--data-dir", str(engine_data_dir), "--institution", inst.institution_id
    )
    assert checked.returncode == 0, checked.stdout


@pytest.fixture
def v110(engine):
    inst = new_institution(engine, release=False)
    assert inst.post("/bundles", "admin", {"builtin": "personal_ops@v1.1.0"}).status_code == 201
    assert inst.post("/bundles/personal_ops/v1.1.0/release", "admin").status_code == 200
    return inst


def test_a_department_is_activated_once_and_only_one_the_contract_declares(v110):
    unknown = v110.post("/departments/finance/activate", "admin")
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "unknown_department"
    assert v110.post("/departments/personal_ops/activate", "owner").status_code == 401
    assert v110.post("/departments/personal_ops/activate", "admin").status_code == 201
    again = v110.post("/departments/personal_ops/activate", "admin")
    assert again.status_code == 200 and again.json()["activated"] is False
    listed = v110.get("/departments", "agent").json()["departments"]
    assert [d["department"] for d in listed] == ["personal_ops"]
    events = v110.get("/ledger/events", "owner", type="department.activated").json()["events"]
    assert [e["payload"]["department"] for e in events] == ["personal_ops"]


def test_proposals_outside_an_active_department_are_denied_with_the_rule(engine):
    inst = new_institution(engine, release=False)
    source = (
        builtin_source("personal_ops", "1.1.0")
        .replace('departments = ["personal_ops"]', 'departments = ["personal_ops", "family"]')
        .replace('version = "1.1.0"', 'version = "1.1.1"')
    )
    start = source.index("[actions.detect_duplicates]")
    source = source[:start] + source[start:].replace(
        'department = "personal_ops"', 'department = "family"', 1
    )
    assert inst.post("/bundles", "admin", {"source": source}).status_code == 201
    assert inst.post("/bundles/personal_ops/v1.1.1/release", "admin").status_code == 200
    assert inst.post("/departments/personal_ops/activate", "admin").status_code == 201
    assert inst.propose("agent", "list_files")["decision"] == "allowed"
    denied = inst.propose("agent", "detect_duplicates")
    assert denied["decision"] == "denied" and denied["job_id"] is None
    assert denied["rule"] == "engine.department_active"
    assert "'family' is not active" in denied["reason"]
    assert inst.post("/departments/family/activate", "admin").status_code == 201
    assert inst.propose("agent", "detect_duplicates")["decision"] == "allowed"


FILES = [
    {"path": "Fotos/IMG_1.jpg", "sha256": "1" * 64, "size": 10},
    {"path": "Fotos/IMG_1 (1).jpg", "sha256": "1" * 64, "size": 10},
]


def test_one_proposal_quarantines_a_set_and_its_digest_binds_every_file(v110):
    pending = v110.propose("agent", "quarantine_files", {"files": FILES})
    assert pending["decision"] == "pending_approval"
    assert pending["params"]["files"] == FILES
    other = v110.propose("agent", "quarantine_files", {"files": FILES[:1]})
    assert other["digest"] != pending["digest"]
    approved = v110.post(
        f"/proposals/{pending['proposal_id']}/approve", "owner", {"digest": pending["digest"]}
    )
    assert approved.status_code == 200, approved.text
    job = v110.get(f"/runtime/jobs/{approved.json()['job_id']}", "owner").json()
    assert job["params"]["files"] == FILES and job["options"]["effect"] == "destructive"


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        ([], "must hold 1 to 5000 files"),
        ([{"path": "a", "sha256": "1" * 64}], "must be exactly {path, sha256, size}"),
        ([{"path": "../a", "sha256": "1" * 64, "size": 1}], "must not contain '..'"),
        ([{"path": "a", "sha256": "xyz", "size": 1}], "64 lowercase hex"),
        ([{"path": "a", "sha256": "1" * 64, "size": -1}], "non-negative"),
        ([FILES[0], FILES[0]], "twice"),
        ("Fotos", "must be a list"),
    ],
)
def test_a_set_that_does_not_name_every_files_content_is_denied(v110, files, problem):
    denied = v110.propose("agent", "quarantine_files", {"files": files})
    assert denied["decision"] == "denied" and problem in denied["reason"], denied["reason"]
    assert denied["rule"].startswith("personal_ops@v1.1.0 actions.quarantine_files.params.files")


def test_restore_runs_at_once_and_purge_waits_for_approval(v110):
    restore = v110.propose("agent", "restore", {"quarantine_id": "20261201T000000Z-0000abcd"})
    assert restore["decision"] == "allowed" and restore["job_id"]
    purge = v110.propose(
        "agent",
        "purge",
        {"files": [{"path": ".libervia-quarantine/x/a", "sha256": "1" * 64, "size": 1}]},
    )
    assert purge["decision"] == "pending_approval"
    blind_delete = v110.propose("agent", "delete", {"path": "a.txt"})
    assert blind_delete["rule"] in (
        "engine.destructive_names_content",
        "personal_ops@v1.1.0 actions.delete.params.sha256",
    )
