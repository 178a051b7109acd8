"""Bodies that do not fit the engine's models: a 400 naming the field, and nothing done."""

import pytest


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"name": "x" * 201, "role": "owner"}, "field_too_long", "name"),
        ({"name": "   ", "role": "owner"}, "missing_field", "name"),
        ({"name": 7, "role": "owner"}, "bad_name", "name"),
        ({"name": "Ana"}, "missing_field", "role"),
    ],
)
def test_a_new_actor_names_what_is_wrong(local_inst, body, code, field):
    before = local_inst.get("/actors", "admin").json()["actors"]
    refused = local_inst.post("/actors", "admin", body)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == code
    assert f"'{field}'" in refused.json()["error"]["message"]
    assert local_inst.get("/actors", "admin").json()["actors"] == before


@pytest.mark.parametrize("seconds", ["60", True, 1.5, None])
def test_a_lease_asks_for_whole_seconds(local_inst, seconds):
    job_id = local_inst.propose("agent", "list_files")["job_id"]
    refused = local_inst.post(f"/runtime/jobs/{job_id}/lease", "agent", {"lease_seconds": seconds})
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "bad_lease")
    assert local_inst.get(f"/runtime/jobs/{job_id}", "owner").json()["status"] == "queued"


def test_a_result_needs_its_status_and_an_object_for_a_report(local_inst):
    job_id = local_inst.propose("agent", "list_files")["job_id"]
    local_inst.post(f"/runtime/jobs/{job_id}/lease", "agent", {})
    path = f"/runtime/jobs/{job_id}/result"
    missing = local_inst.post(path, "agent", {"report": {}})
    assert missing.json()["error"]["code"] == "missing_field"
    assert "'status'" in missing.json()["error"]["message"]
    listed = local_inst.post(path, "agent", {"status": "succeeded", "report": [1]})
    assert listed.json()["error"]["code"] == "bad_report"
    assert local_inst.get(f"/runtime/jobs/{job_id}", "owner").json()["status"] == "leased"
