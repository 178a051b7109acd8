"""The real agent on real folders: a listing of thousands of files reaches the engine, and a
result the engine refuses ends its job as failed, after which the agent takes the next job."""

import hashlib
import json
import os

import pytest

from agent.config import load as load_config
from agent.journal import Journal
from harness.engine_api import HTTP, auth, new_institution
from harness.servers import engine_process
from tests.support.agent_process import configure, job_result, running_agent


def many_files(root, count: int, folder: str = "Fotos") -> None:
    for n in range(count):
        directory = root / folder / f"{n // 500:02d}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"IMG_{n:05d} cópia.jpg").write_bytes(b"photo %d" % n)


def test_a_folder_of_8000_files_is_listed_in_full(tmp_path, inst, engine):
    root = tmp_path / "root"
    many_files(root, 8000)
    config = tmp_path / "agent" / "config.json"
    configure(config, inst, engine, root)
    with running_agent(config, tmp_path / "agent.log"):
        job = job_result(inst, inst.propose("exec", "list_files")["job_id"], timeout=120)
    assert job["result_status"] == "succeeded", job
    assert job["result_bytes"] > 1024 * 1024  # past the general body limit
    stored = HTTP.get(
        inst.url(f"/runtime/jobs/{job['job_id']}/report"), headers=auth(inst.tokens["owner"])
    )
    report = json.loads(stored.content)
    assert report["count"] == 8000
    assert report["files"][7]["path"] == "Fotos/00/IMG_00007 cópia.jpg"
    assert report["files"][7]["sha256"] == hashlib.sha256(b"photo 7").hexdigest()
    event = inst.get("/ledger/events", "owner", type="job.executed").json()["events"][-1]
    assert event["payload"]["report_sha256"] == hashlib.sha256(stored.content).hexdigest()
    # The scan's first progress report goes out at once (later ones at most once a second).
    assert job["progress"]["phase"] in ("scanning", "hashing")
    assert job["progress"]["done"] >= 1000 or job["progress"]["phase"] == "hashing"


@pytest.fixture
def strict_engine(tmp_path):
    """An engine that takes results of at most 20 kB on the wire."""
    with engine_process(tmp_path / "data", ENGINE_MAX_RESULT_BYTES="20000") as base:
        yield base


def test_a_refused_result_fails_its_job_and_the_next_job_runs(tmp_path, strict_engine):
    inst = new_institution(strict_engine)
    root = tmp_path / "root"
    many_files(root, 3000)
    (root / "small").mkdir()
    (root / "small" / "notes.txt").write_bytes(b"notes")
    config = tmp_path / "agent" / "config.json"
    configure(config, inst, strict_engine, root)
    big = inst.propose("exec", "list_files")["job_id"]
    small = inst.propose("exec", "list_files", {"path": "small"})["job_id"]
    log_path = tmp_path / "agent.log"
    with running_agent(config, log_path):
        refused = job_result(inst, big, timeout=60)
        after = job_result(inst, small, timeout=60)
    assert refused["result_status"] == "failed"
    error = refused["result"]["error"]
    assert error["code"] == "result_refused" and "body_too_large" in error["message"]
    assert refused["result"]["refused_result"]["status"] == "succeeded"
    assert after["result_status"] == "succeeded"
    assert [f["path"] for f in after["result"]["files"]] == ["small/notes.txt"]
    log = log_path.read_text()
    assert log.count("result refused; reporting the job as failed") == 1
    assert "re-sending result" not in log


def test_a_journal_holding_a_refused_result_no_longer_wedges_a_restart(tmp_path, strict_engine):
    """An agent killed after executing, its journal holding a result the engine refuses: on
    the next start the job ends as failed and the queue moves on."""
    inst = new_institution(strict_engine)
    root = tmp_path / "root"
    (root / "small").mkdir(parents=True)
    (root / "small" / "notes.txt").write_bytes(b"notes")
    config = tmp_path / "agent" / "config.json"
    configure(config, inst, strict_engine, root)
    stuck = inst.propose("exec", "list_files")["job_id"]
    leased = inst.post(f"/runtime/jobs/{stuck}/lease", "agent", {"lease_seconds": 600})
    assert leased.status_code == 200
    journal = Journal(load_config(config).journal_path)
    journal.begin(leased.json())
    huge = {"files": [{"path": os.urandom(16).hex(), "size": n} for n in range(5000)]}
    journal.finish(stuck, "succeeded", huge)
    journal.close()
    after = inst.propose("exec", "list_files", {"path": "small"})["job_id"]
    with running_agent(config, tmp_path / "agent.log"):
        refused = job_result(inst, stuck, timeout=60)
        done = job_result(inst, after, timeout=60)
    assert refused["result_status"] == "failed"
    assert refused["result"]["error"]["code"] == "result_refused"
    assert done["result_status"] == "succeeded"
