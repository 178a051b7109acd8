import httpx

from harness.engine_api import auth, new_institution
from harness.servers import ADMIN_TOKEN


def test_create_institution_is_idempotent_by_external_id(engine):
    body = {"external_id": "user-42@example", "name": "Ana"}
    first = httpx.post(f"{engine}/v1/admin/institutions", json=body, headers=auth(ADMIN_TOKEN))
    second = httpx.post(f"{engine}/v1/admin/institutions", json=body, headers=auth(ADMIN_TOKEN))
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["institution_id"] == second.json()["institution_id"]
    assert second.json()["created"] is False


def test_platform_token_is_required(engine):
    body = {"external_id": "x"}
    for headers in ({}, auth("wrong-token")):
        response = httpx.post(f"{engine}/v1/admin/institutions", json=body, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "bad_platform_token"


def test_admin_key_is_shown_once(engine):
    inst = new_institution(engine, release=False)
    again = httpx.post(
        f"{engine}/v1/admin/institutions/{inst.institution_id}/admin-key", headers=auth(ADMIN_TOKEN)
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "admin_key_exists"
    assert inst.admin_key not in again.text


def test_actors_get_roles_and_agent_flag(inst):
    actors = inst.get("/actors", "admin").json()["actors"]
    by_name = {a["name"]: a for a in actors}
    assert by_name["agent"]["is_agent"] is True
    assert by_name["owner"]["is_agent"] is False
    assert "token" not in actors[0] and "token_hash" not in actors[0]


def test_unknown_role_is_refused(inst):
    response = inst.post("/actors", "admin", {"name": "x", "role": "god"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "unknown_role"


def test_bad_input_gets_json_errors(engine, inst):
    cases = [
        httpx.post(f"{engine}/v1/admin/institutions", content=b"{nope", headers=auth(ADMIN_TOKEN)),
        httpx.post(f"{engine}/v1/admin/institutions", json=[1], headers=auth(ADMIN_TOKEN)),
        httpx.post(f"{engine}/v1/admin/institutions", json={}, headers=auth(ADMIN_TOKEN)),
        inst.get("/ledger/events", "admin", limit="many"),
        inst.get("/runtime/jobs", "agent", wait="999"),
    ]
    for response in cases:
        assert response.status_code == 400, response.text
        assert set(response.json()["error"]) == {"code", "message"}


def test_oversized_body_is_refused(inst):
    response = inst.post("/proposals", "owner", {"action": "list_files", "pad": "x" * 2_000_000})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


def test_unknown_route_and_institution_are_json_404(engine):
    missing = httpx.get(f"{engine}/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    other = httpx.get(
        f"{engine}/v1/institutions/inst_000000000000000000000000/actors", headers=auth("x")
    )
    assert other.status_code == 404
    malformed = httpx.get(f"{engine}/v1/institutions/..%2F..%2Fetc/actors", headers=auth("x"))
    assert malformed.status_code == 404
