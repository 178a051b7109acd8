"""Bodies that do not fit the engine's models: a 400 naming the field, and nothing done."""

import gzip

import httpx
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


@pytest.mark.parametrize("case_id", ["x\x00", "", "a b", "x" * 65, "case\n"])
def test_a_case_id_is_what_a_log_accepts_as_an_id(local_inst, case_id):
    events = len(local_inst.get("/ledger/events", "owner").json()["events"])
    body = {"action": "list_files", "params": {}, "case_id": case_id}
    refused = local_inst.post("/proposals", "owner", body)
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "bad_case_id")
    assert len(local_inst.get("/ledger/events", "owner").json()["events"]) == events
    kept = local_inst.post("/proposals", "owner", {**body, "case_id": "case_chat-7:a.b"})
    assert kept.status_code == 201 and kept.json()["case_id"] == "case_chat-7:a.b"


@pytest.mark.parametrize("encoding", ["gzip", "bogus", "identity, gzip"])
def test_only_a_result_may_come_compressed(local_inst, encoding):
    headers = {"Authorization": f"Bearer {local_inst.tokens['owner']}"}
    sent = local_inst.http.post(
        local_inst.url("/proposals"),
        content=b'{"action": "list_files"}',
        headers={**headers, "Content-Type": "application/json", "Content-Encoding": encoding},
    )
    assert (sent.status_code, sent.json()["error"]["code"]) == (415, "unsupported_encoding")


def test_a_result_s_content_encodings_are_read_together(local_inst):
    """Each Content-Encoding header counts (identity changes nothing): gzip twice over is no
    coding the engine takes, and a gzip body announced after `identity` is read."""
    job_id = local_inst.propose("agent", "list_files")["job_id"]
    local_inst.post(f"/runtime/jobs/{job_id}/lease", "agent", {})
    body = gzip.compress(b'{"status": "succeeded", "report": {"files": []}}')

    def send(*codings: str) -> httpx.Response:
        headers = [("Authorization", f"Bearer {local_inst.tokens['agent']}")]
        headers += [("Content-Encoding", coding) for coding in codings]
        path = local_inst.url(f"/runtime/jobs/{job_id}/result")
        return local_inst.http.post(path, content=body, headers=headers)

    twice = send("gzip", "gzip")
    assert (twice.status_code, twice.json()["error"]["code"]) == (415, "unsupported_encoding")
    assert local_inst.get(f"/runtime/jobs/{job_id}", "owner").json()["status"] == "leased"
    assert send("identity", "gzip").status_code == 201


@pytest.mark.parametrize(
    "query",
    [
        {"since": "abc"},
        {"until": "2026-13-01"},
        {"limit": "1_000"},
        {"limit": " 5"},
        {"limit": "٥"},
    ],
)
def test_ledger_queries_are_checked(local_inst, query):
    refused = local_inst.get("/ledger/events", "owner", **query)
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "bad_query")


def test_a_ledger_time_bound_reads_as_the_portal_sends_it(local_inst):
    local_inst.propose("owner", "list_files")
    found = local_inst.get("/ledger/events", "owner", since="2000-01-01T00:00:00Z").json()
    assert found["events"]
    assert not local_inst.get("/ledger/events", "owner", until="2000-01-01").json()["events"]


def test_an_event_proof_needs_its_seq(local_inst):
    missing = local_inst.get("/ledger/proofs/event", "owner")
    assert (missing.status_code, missing.json()["error"]["code"]) == (400, "bad_query")
    assert "'seq' is required" in missing.json()["error"]["message"]
