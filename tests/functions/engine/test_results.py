"""Results of any size: gzip-compressed bodies past the general body limit, kept by the engine
with their sha256 in the ledger, and refused clearly (nothing written) when they pass a limit."""

import gzip
import hashlib
import json
import os

import pytest

from harness.engine_api import HTTP, Institution, auth, new_institution
from harness.servers import engine_process
from kernel.canonical import canonical_json
from tests.support.cli import libervia

FILES = 100_000


def listing(count: int) -> dict:
    files = [
        {
            "path": f"Fotos/{n // 1000:03d}/IMG_{n:06d}.jpg",
            "size": 1000 + n,
            "sha256": hashlib.sha256(str(n).encode()).hexdigest(),
            "mtime": 1_700_000_000.0 + n,
        }
        for n in range(count)
    ]
    return {"files": files, "count": count, "total_bytes": sum(f["size"] for f in files)}


def leased_job(inst: Institution) -> str:
    job_id = inst.propose("agent", "list_files")["job_id"]
    leased = inst.post(f"/runtime/jobs/{job_id}/lease", "agent", {"lease_seconds": 60})
    assert leased.status_code == 200, leased.text
    return job_id


def post_raw(inst: Institution, job_id: str, body: bytes, encoding: str | None = "gzip"):
    headers = {**auth(inst.tokens["agent"]), "Content-Type": "application/json"}
    if encoding:
        headers["Content-Encoding"] = encoding
    return HTTP.post(inst.url(f"/runtime/jobs/{job_id}/result"), content=body, headers=headers)


def test_a_listing_of_100000_files_is_kept_and_provable(inst, engine_data_dir):
    job_id = leased_job(inst)
    report = listing(FILES)
    body = gzip.compress(canonical_json({"status": "succeeded", "report": report}))
    assert len(body) > 1024 * 1024  # past the general body limit, even compressed
    answer = post_raw(inst, job_id, body)
    assert answer.status_code == 201, answer.text
    job = answer.json()["job"]
    assert job["result_status"] == "succeeded" and job["result"] is None  # not echoed back
    assert job["result_bytes"] == len(canonical_json(report))

    executed = inst.get("/ledger/events", "owner", type="job.executed").json()["events"][-1]
    payload = executed["payload"]
    assert "report" not in payload
    summary = {"files_count": FILES, "count": FILES, "total_bytes": report["total_bytes"]}
    assert payload["summary"] == summary
    stored = HTTP.get(inst.url(f"/runtime/jobs/{job_id}/report"), headers=auth(inst.admin_key))
    assert stored.status_code == 200
    digest = hashlib.sha256(stored.content).hexdigest()
    assert digest == payload["report_sha256"] == stored.headers["x-libervia-report-sha256"]
    assert payload["report_bytes"] == len(stored.content)
    assert json.loads(stored.content) == report

    checked = libervia(
        "check", "--data-dir", str(engine_data_dir), "--institution", inst.institution_id
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_small_report_stays_in_its_event_with_its_hash(inst):
    job_id = leased_job(inst)
    report = {"files": [{"path": "a.txt", "size": 1}], "duration_ms": 2}
    answer = post_raw(inst, job_id, canonical_json({"status": "succeeded", "report": report}), None)
    assert answer.status_code == 201, answer.text
    assert answer.json()["job"]["result"] == report
    payload = inst.get("/ledger/events", "owner", type="job.executed").json()["events"][-1][
        "payload"
    ]
    assert payload["report"] == report
    assert payload["report_sha256"] == hashlib.sha256(canonical_json(report)).hexdigest()


def test_the_agent_token_cannot_read_reports(inst):
    job_id = leased_job(inst)
    post_raw(inst, job_id, canonical_json({"status": "succeeded", "report": {}}), None)
    agent = HTTP.get(inst.url(f"/runtime/jobs/{job_id}/report"), headers=auth(inst.tokens["agent"]))
    assert agent.status_code == 403
    missing = HTTP.get(inst.url("/runtime/jobs/job_nope/report"), headers=auth(inst.admin_key))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "report_not_found"


@pytest.fixture(scope="module")
def small_limits(tmp_path_factory):
    """An engine whose result limits are small enough to pass in a test."""
    folder = tmp_path_factory.mktemp("result-limits")
    with engine_process(
        folder,
        ENGINE_MAX_RESULT_BYTES="200000",
        ENGINE_MAX_RESULT_EXPANDED_BYTES="1000000",
    ) as base:
        yield base


@pytest.mark.parametrize(
    ("body", "encoding", "status", "code"),
    [
        (gzip.compress(b" " * 2_000_000), "gzip", 413, "body_too_large"),  # a gzip bomb
        (os.urandom(300_000), "identity", 413, "body_too_large"),
        (b"\x1f\x8b\x08\x00garbage", "gzip", 400, "invalid_gzip"),
        (gzip.compress(b'{"status": "succeeded"}')[:-6], "gzip", 400, "invalid_gzip"),
        (b'{"status": "succeeded"}', "br", 415, "unsupported_encoding"),
        (gzip.compress(b"[1, 2]"), "gzip", 400, "invalid_json"),
        (gzip.compress(b'{"status": "succeeded", "report": NaN}'), "gzip", 400, "invalid_json"),
    ],
)
def test_refused_results_say_why_and_change_nothing(small_limits, body, encoding, status, code):
    inst = new_institution(small_limits)
    job_id = leased_job(inst)
    answer = post_raw(inst, job_id, body, encoding)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code
    job = inst.get(f"/runtime/jobs/{job_id}", "owner").json()
    assert job["status"] == "leased" and job["result_status"] is None
    ok = post_raw(inst, job_id, canonical_json({"status": "failed", "report": {}}), None)
    assert ok.status_code == 201  # the job can still end


def test_a_stranger_is_refused_before_the_body_is_read(small_limits):
    inst = new_institution(small_limits)
    job_id = leased_job(inst)
    answer = HTTP.post(
        inst.url(f"/runtime/jobs/{job_id}/result"),
        content=gzip.compress(b" " * 2_000_000),
        headers={"Authorization": "Bearer lat_not-a-token", "Content-Encoding": "gzip"},
    )
    assert answer.status_code == 401
