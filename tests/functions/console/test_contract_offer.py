"""An institution onboarded on personal_ops@v1.0.0 is offered the plan's v1.1.0; it moves
only when its owner approves that manifest in the portal, and the move is in its ledger."""

import psycopg

from tests.support.portal_agent import agent_for, settled


def test_the_owner_approves_the_new_contract_and_the_agent_follows(
    make_user, console_database_url, engine, tmp_path
):
    with psycopg.connect(console_database_url, autocommit=True) as conn:
        conn.execute("UPDATE plans SET contract_ref='personal_ops@v1.0.0'")
    user = make_user().sign_up()
    package = user.onboard()
    assert package["contract"]["ref"] == "personal_ops@v1.0.0"
    assert user.get("/api/dashboard").json()["contract_offer"] is None
    with psycopg.connect(console_database_url, autocommit=True) as conn:
        conn.execute("UPDATE plans SET contract_ref='personal_ops@v1.1.0'")

    root = tmp_path / "root"
    root.mkdir()
    (root / "a.txt").write_bytes(b"a")
    (root / "copy of a.txt").write_bytes(b"a")
    with agent_for(package, engine, root, tmp_path):
        listed = user.post("/api/scan", {}).json()
        assert settled(user, listed["proposal_id"])["state"] == "done"  # under v1.0.0
        refused = user.post("/api/quarantine-files", {"paths": ["copy of a.txt"]}).json()
        assert refused["decision"] == "denied", "v1.0.0 has no quarantine_files"

        offer = user.get("/api/dashboard").json()["contract_offer"]
        assert offer["from"] == "personal_ops@v1.0.0" and offer["to"] == "personal_ops@v1.1.0"
        assert offer["adds"] == ["purge", "quarantine_files", "restore"]
        wrong = user.post("/api/contract/approve", {"manifest_sha256": "0" * 64})
        assert wrong.status_code == 409 and wrong.json()["error"]["code"] == "manifest_mismatch"
        approved = user.post("/api/contract/approve", {"manifest_sha256": offer["manifest_sha256"]})
        assert approved.status_code == 200 and approved.json()["ref"] == "personal_ops@v1.1.0"
        assert user.get("/api/dashboard").json()["contract_offer"] is None
        again = user.post("/api/contract/approve", {"manifest_sha256": offer["manifest_sha256"]})
        assert again.status_code == 409 and again.json()["error"]["code"] == "no_contract_offer"

        events = user.get("/api/audit").json()["events"]
        types = [e["type"] for e in events]
        assert {"contract.release_approved", "contract.released", "department.activated"} <= set(
            types
        )
        asked = user.post("/api/quarantine-files", {"paths": ["copy of a.txt"]}).json()
        assert asked["decision"] == "pending_approval"
        [card] = user.get("/api/approvals").json()["pending"]
        user.post(f"/api/approvals/{card['proposal_id']}/approve", {"digest": card["digest"]})
        done = settled(user, asked["proposal_id"])
        assert done["state"] == "done", "the agent reloaded the contract and ran the new action"
    assert not (root / "copy of a.txt").exists()
