import pytest

from harness.engine_api import SEEN, auth, new_institution
from idl.compiler import builtin_source

READ_ONLY = ["list_files", "detect_duplicates", "suggest_cleanup"]
DESTRUCTIVE = [
    ("rename", {"path": "a.txt", "new_name": "b.txt", "sha256": SEEN}),
    ("move", {"path": "a.txt", "destination": "archive", "sha256": SEEN}),
    ("delete", {"path": "a.txt", "sha256": SEEN}),
]


@pytest.mark.parametrize("action", READ_ONLY)
def test_read_only_actions_are_allowed_and_create_a_job(inst, action):
    proposal = inst.propose("agent", action)
    assert proposal["decision"] == "allowed"
    assert proposal["job_id"]
    assert "personal_ops@v1.0.0" in proposal["rule"]


@pytest.mark.parametrize(("action", "params"), DESTRUCTIVE)
def test_destructive_actions_wait_for_approval_and_create_no_job(inst, action, params):
    proposal = inst.propose("agent", action, params)
    assert proposal["decision"] == "pending_approval"
    assert proposal["job_id"] is None
    assert proposal["rule"] == f"personal_ops@v1.0.0 actions.{action}.approval"
    assert inst.get("/runtime/jobs", "agent").json()["jobs"] == []


@pytest.mark.parametrize(("action", "params"), DESTRUCTIVE)
def test_a_destructive_proposal_that_names_no_content_is_denied(inst, action, params):
    """Never approve blind: without the sha256 the agent observed there is no card at all."""
    blind = {k: v for k, v in params.items() if k != "sha256"}
    proposal = inst.propose("owner", action, blind)
    assert proposal["decision"] == "denied"
    assert proposal["rule"] == "engine.destructive_names_content"
    assert "sha256" in proposal["reason"] and proposal["digest"] is None
    assert inst.get("/approvals", "owner").json()["pending"] == []
    events = inst.get("/ledger/events", "owner", type="proposal.denied").json()
    assert events["events"][-1]["payload"]["rule"] == "engine.destructive_names_content"


@pytest.mark.parametrize(
    ("who", "body", "rule_part"),
    [
        ("agent", {"action": "format_disk"}, "actions"),
        ("agent", {"action": "list_files", "department": "finance"}, "department"),
        ("agent", {"action": "delete", "params": {"path": "/etc/passwd"}}, "params.path"),
        ("agent", {"action": "delete", "params": {"path": "../x"}}, "params.path"),
        ("agent", {"action": "rename", "params": {"path": "a"}}, "params.new_name"),
        ("agent", {"action": "list_files", "params": {"recursive": "yes"}}, "params.recursive"),
    ],
)
def test_denials_name_the_contract_rule_and_are_recorded(inst, who, body, rule_part):
    response = inst.post("/proposals", who, body)
    assert response.status_code == 201
    proposal = response.json()
    assert proposal["decision"] == "denied"
    assert rule_part in proposal["rule"]
    assert proposal["reason"]
    events = inst.get("/ledger/events", "admin", case_id=proposal["case_id"]).json()["events"]
    assert [e["type"] for e in events] == ["proposal.denied"]
    assert events[0]["payload"]["rule"] == proposal["rule"]


def test_wrong_role_is_denied(engine):
    inst = new_institution(engine, release=False)
    source = builtin_source("personal_ops", "1.0.0")
    restricted = source.replace(
        'roles = ["owner", "executive_admin", "organizational_agent"]\napproval = "required"',
        'roles = ["owner"]\napproval = "required"',
    ).replace('version = "1.0.0"', 'version = "1.1.0"')
    assert inst.post("/bundles", "admin", {"source": restricted}).status_code == 201
    assert inst.post("/bundles/personal_ops/v1.1.0/release", "admin").status_code == 200
    proposal = inst.propose("agent", "delete", {"path": "a.txt", "sha256": SEEN})
    assert proposal["decision"] == "denied"
    assert proposal["rule"] == "personal_ops@v1.1.0 actions.delete.roles"
    assert (
        inst.propose("owner", "delete", {"path": "a.txt", "sha256": SEEN})["decision"]
        == "pending_approval"
    )


def test_nothing_runs_without_a_released_contract(engine):
    inst = new_institution(engine, release=False)
    proposal = inst.propose("agent", "list_files")
    assert proposal["decision"] == "denied"
    assert proposal["rule"] == "engine.no_released_contract"
    assert inst.get("/runtime/jobs", "agent").json()["jobs"] == []


def test_malformed_proposal_is_a_400(inst):
    response = inst.post("/proposals", "agent", {"params": {}})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "missing_action"


def test_bad_token_is_401(inst):
    inst.tokens["nobody"] = "lat_not-a-real-token"
    response = inst.post("/proposals", "nobody", {"action": "list_files"})
    assert response.status_code == 401


def test_the_proposals_path_answers_each_method_as_before(engine_app, local_inst):
    """POST proposals is matched first (a hot path); GET still lists, others are a JSON 405."""
    headers = auth(local_inst.tokens["owner"])
    url = local_inst.url("/proposals")
    made = engine_app.post(url, json={"action": "list_files", "params": {}}, headers=headers)
    assert made.status_code == 201
    listed = engine_app.get(url, headers=headers)
    assert listed.status_code == 200
    assert [p["proposal_id"] for p in listed.json()["proposals"]] == [made.json()["proposal_id"]]
    refused = engine_app.put(url, json={}, headers=headers)
    assert refused.status_code == 405 and refused.json()["error"]["code"]
