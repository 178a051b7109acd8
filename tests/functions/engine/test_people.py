"""People on the engine: each person's own actor, who asked for a proposal, revocation and
token re-issue (a lost laptop)."""

from harness.engine_api import HTTP, SEEN, auth
from tests.support.cli import libervia


def add_actor(inst, who: str, role: str) -> None:
    actor = inst.post("/actors", "admin", {"name": who, "role": role})
    assert actor.status_code == 201, actor.text
    inst.tokens[who], inst.actor_ids[who] = actor.json()["token"], actor.json()["actor_id"]


def ask(inst, requester: str, action: str = "delete", params: dict | None = None):
    """The agent submits what a person asked for, the person's own token vouching for them."""
    return HTTP.post(
        inst.url("/proposals"),
        json={"action": action, "params": params or {"path": "docs/a.txt", "sha256": SEEN}},
        headers={
            **auth(inst.tokens["agent"]),
            "X-Libervia-Requester": inst.tokens[requester],
        },
    )


def approve(inst, proposal: dict, who: str):
    return inst.post(
        f"/proposals/{proposal['proposal_id']}/approve", who, {"digest": proposal["digest"]}
    )


def test_the_ledger_names_who_asked_and_who_approved(inst):
    asked = ask(inst, "exec")
    assert asked.status_code == 201, asked.text
    proposal = asked.json()
    assert proposal["requested_by"] == inst.actor_ids["exec"]
    assert approve(inst, proposal, "owner").status_code == 200
    events = inst.get("/ledger/events", "owner", case_id=proposal["case_id"]).json()["events"]
    pending = next(e for e in events if e["type"] == "proposal.pending_approval")
    granted = next(e for e in events if e["type"] == "approval.granted")
    assert pending["actor"] == inst.actor_ids["agent"]
    assert pending["payload"]["requested_by"] == inst.actor_ids["exec"]
    assert pending["payload"]["requester_role"] == "executive_admin"
    assert granted["actor"] == inst.actor_ids["owner"]


def test_an_assistant_cannot_approve_what_they_asked_for_and_the_refusal_is_recorded(inst):
    proposal = ask(inst, "exec").json()
    refused = approve(inst, proposal, "exec")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "self_approval"
    events = inst.get("/ledger/events", "owner", type="approval.refused").json()["events"]
    assert events[-1]["payload"]["code"] == "self_approval"
    assert inst.get(f"/proposals/{proposal['proposal_id']}", "owner").json()["status"] == (
        "pending_approval"
    )


def test_the_owner_alone_approves_what_they_asked_for(inst):
    proposal = ask(inst, "owner").json()
    assert approve(inst, proposal, "owner").status_code == 200


def test_an_auditor_reads_but_can_neither_ask_nor_approve(inst):
    add_actor(inst, "auditor", "auditor")
    assert inst.get("/ledger/events", "auditor").status_code == 200
    denied = ask(inst, "auditor").json()
    assert denied["decision"] == "denied"
    assert "auditor" in denied["reason"] and denied["rule"].endswith(".roles")
    proposal = ask(inst, "exec").json()
    refused = approve(inst, proposal, "auditor")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "role_cannot_approve"


def test_a_requester_must_be_a_live_person(inst):
    as_agent = ask(inst, "agent")
    assert as_agent.status_code == 403
    assert as_agent.json()["error"]["code"] == "requester_not_a_person"
    inst.tokens["stranger"] = "lat_not-a-token"
    stranger = ask(inst, "stranger")
    assert stranger.status_code == 401
    assert stranger.json()["error"]["code"] == "bad_token"
    assert inst.get("/proposals", "owner").json()["proposals"] == []


def test_a_revoked_actor_opens_nothing_and_the_ledger_says_so(inst, engine_data_dir):
    add_actor(inst, "assistant", "executive_admin")
    too_long = inst.post(
        f"/actors/{inst.actor_ids['assistant']}/revoke", "admin", {"reason": "x" * 201}
    )
    assert too_long.status_code == 400 and too_long.json()["error"]["code"] == "bad_reason"
    revoked = inst.post(
        f"/actors/{inst.actor_ids['assistant']}/revoke", "admin", {"reason": "left"}
    )
    assert revoked.status_code == 200, revoked.text
    for response in (
        inst.get("/ledger/events", "assistant"),
        ask(inst, "assistant"),
        inst.post("/proposals", "assistant", {"action": "list_files"}),
    ):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "actor_revoked"
    again = inst.post(f"/actors/{inst.actor_ids['assistant']}/revoke", "admin")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "revoked"
    actors = {a["actor_id"]: a for a in inst.get("/actors", "admin").json()["actors"]}
    assert actors[inst.actor_ids["assistant"]]["revoked_at"]
    event = inst.get("/ledger/events", "owner", type="actor.revoked").json()["events"][0]
    assert event["payload"] == {
        "actor_id": inst.actor_ids["assistant"],
        "role": "executive_admin",
        "reason": "left",
    }
    assert_consistent(engine_data_dir, inst)


def test_a_reissued_token_works_and_the_old_one_gets_401(inst, engine_data_dir):
    old = inst.tokens["agent"]
    issued = inst.post(f"/actors/{inst.actor_ids['agent']}/token", "admin", {"reason": "lost"})
    assert issued.status_code == 201, issued.text
    assert issued.json()["token"] != old
    stale = HTTP.get(inst.url("/runtime/jobs"), headers=auth(old))
    assert stale.status_code == 401
    assert stale.json()["error"]["code"] == "bad_token"
    fresh = HTTP.get(inst.url("/runtime/jobs"), headers=auth(issued.json()["token"]))
    assert fresh.status_code == 200
    events = inst.get("/ledger/events", "owner", type="actor.token_reissued").json()["events"]
    assert events[0]["payload"]["actor_id"] == inst.actor_ids["agent"]
    unknown = inst.post("/actors/act_nobody/token", "admin")
    assert unknown.status_code == 404
    not_admin = inst.post(f"/actors/{inst.actor_ids['agent']}/token", "owner")
    assert not_admin.status_code == 401
    assert_consistent(engine_data_dir, inst)


def test_the_agent_reports_its_version_with_each_poll(inst):
    HTTP.get(
        inst.url("/runtime/jobs"),
        headers={**auth(inst.tokens["agent"]), "User-Agent": "libervia-agent/1.4.2"},
    )
    actors = {a["actor_id"]: a for a in inst.get("/actors", "admin").json()["actors"]}
    assert actors[inst.actor_ids["agent"]]["agent_version"] == "1.4.2"
    HTTP.get(
        inst.url("/runtime/jobs"),
        headers={**auth(inst.tokens["agent"]), "User-Agent": "curl/8 <script>"},
    )
    actors = {a["actor_id"]: a for a in inst.get("/actors", "admin").json()["actors"]}
    assert actors[inst.actor_ids["agent"]]["agent_version"] == "1.4.2"


def assert_consistent(engine_data_dir, inst) -> None:
    checked = libervia(
        "check", "--data-dir", str(engine_data_dir), "--institution", inst.institution_id
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
