"""Re-issuing the agent's token from the portal (a lost laptop): the old token gets 401 at once,
the ledger records it, and the new one runs a real agent."""

from harness.engine_api import HTTP, auth
from tests.support.portal_agent import agent_for, settled


def jobs(engine: str, institution_id: str, token: str):
    return HTTP.get(f"{engine}/v1/institutions/{institution_id}/runtime/jobs", headers=auth(token))


def test_the_old_token_gets_401_and_the_new_one_runs_the_agent(make_user, engine, tmp_path):
    user = make_user().sign_up()
    package = user.onboard()
    runtime = package["runtime_package"]
    old = runtime["agent_token"]
    assert jobs(engine, runtime["institution_id"], old).status_code == 200

    issued = user.post("/api/agent-token", {})
    assert issued.status_code == 201, issued.text
    new = issued.json()["agent_token"]
    assert new.startswith("lat_") and new != old
    assert issued.json()["institution_id"] == runtime["institution_id"]
    stale = jobs(engine, runtime["institution_id"], old)
    assert stale.status_code == 401 and stale.json()["error"]["code"] == "bad_token"

    events = user.get("/api/audit").json()["events"]
    assert [e["type"] for e in events].count("actor.token_reissued") == 1
    # The portal proposes with the new token, and an agent configured with it runs the job.
    folder = tmp_path / "root"
    folder.mkdir()
    (folder / "a.txt").write_bytes(b"a")
    fresh = {"runtime_package": {**runtime, "agent_token": new}}
    with agent_for(fresh, engine, folder, tmp_path):
        listed = user.post("/api/chat", {"text": "list files"}).json()
        assert listed["decision"] == "allowed", listed
        assert settled(user, listed["proposal_id"])["state"] == "done"


def test_only_a_signed_in_owner_with_the_form_token_can_re_issue(make_user):
    stranger = make_user()
    assert stranger.post("/api/agent-token", {}).status_code == 401
    user = make_user().sign_up()
    not_onboarded = user.post("/api/agent-token", {})
    assert not_onboarded.status_code == 409
    assert not_onboarded.json()["error"]["code"] == "not_onboarded"
    user.onboard()
    forged = user.http.post("/api/agent-token", json={})  # no CSRF token
    assert forged.status_code == 403
    assert user.get("/api/audit").json()["events"][0]["type"] != "actor.token_reissued"
