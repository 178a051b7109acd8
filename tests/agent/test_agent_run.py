import hashlib
import json
import os
import signal

import pytest

from agent.fs.helpers import MAX_HELPERS
from tests.support.agent_process import configure, job_result, running_agent, wait_for
from tests.support.fault_proxy import FaultProxy


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "root"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "a.txt").write_bytes(b"alpha")
    (root / "docs" / "copy-of-a.txt").write_bytes(b"alpha")
    (root / "notes.md").write_bytes(b"# notes")
    return root


@pytest.fixture
def agent(tmp_path, inst, engine, folder):
    config = tmp_path / "agent" / "config.json"
    configure(config, inst, engine, folder)
    with running_agent(config, tmp_path / "agent.log") as process:
        yield process, tmp_path / "agent.log"


def approve(inst, proposal):
    response = inst.post(
        f"/proposals/{proposal['proposal_id']}/approve", "owner", {"digest": proposal["digest"]}
    )
    assert response.status_code == 200, response.text
    return response.json()["job_id"]


def test_list_and_duplicates_run_at_once(inst, agent, folder, tmp_path):
    listed = job_result(inst, inst.propose("exec", "list_files")["job_id"])
    assert listed["result_status"] == "succeeded"
    cache = tmp_path / "agent" / "state" / "hashes.db"  # the agent's hash cache, its own
    assert cache.is_file() and cache.stat().st_mode & 0o077 == 0
    paths = {f["path"]: f["sha256"] for f in listed["result"]["files"]}
    assert paths["docs/a.txt"] == sha256(b"alpha")
    dupes = job_result(inst, inst.propose("exec", "detect_duplicates")["job_id"])
    groups = [sorted(g["paths"]) for g in dupes["result"]["groups"]]
    assert groups == [["docs/a.txt", "docs/copy-of-a.txt"]]
    # Between jobs the agent runs one thread: each listing shares its work with helper
    # processes, one per further core.
    lines = [json.loads(line) for line in agent[1].read_text().splitlines() if line[:1] == "{"]
    started = [line for line in lines if line["msg"] == "job started"]
    cores = len(os.sched_getaffinity(0))
    assert [line["helpers"] for line in started] == [min(MAX_HELPERS, cores - 1)] * 2


def test_delete_waits_for_approval_then_quarantines(inst, agent, folder):
    target = folder / "docs" / "copy-of-a.txt"
    proposal = inst.propose(
        "exec", "delete", {"path": "docs/copy-of-a.txt", "sha256": sha256(b"alpha")}
    )
    assert proposal["decision"] == "pending_approval"
    # A job asked after it has run (jobs are taken oldest first): the agent saw the queue.
    assert job_result(inst, inst.propose("exec", "list_files")["job_id"])["result_status"]
    assert target.exists(), "nothing may be deleted before approval"
    job = job_result(inst, approve(inst, proposal))
    assert job["result_status"] == "succeeded"
    assert not target.exists()
    touched = job["result"]["files"][0]
    assert touched["sha256_before"] == sha256(b"alpha")
    assert ".libervia-quarantine" in job["result"]["quarantine_path"]
    types = [
        e["type"]
        for e in inst.get("/ledger/events", "owner", case_id=proposal["case_id"]).json()["events"]
    ]
    assert types == [
        "proposal.pending_approval",
        "approval.granted",
        "job.created",
        "job.leased",
        "job.executed",
        "job.result",
    ]


def test_hash_mismatch_is_refused_and_touches_nothing(inst, agent, folder):
    proposal = inst.propose("exec", "delete", {"path": "notes.md", "sha256": sha256(b"other")})
    job = job_result(inst, approve(inst, proposal))
    assert job["result_status"] == "refused"
    assert job["result"]["error"]["code"] == "hash_mismatch"
    assert (folder / "notes.md").read_bytes() == b"# notes"


def test_rename_never_overwrites(inst, agent, folder):
    proposal = inst.propose(
        "exec",
        "rename",
        {"path": "docs/a.txt", "new_name": "copy-of-a.txt", "sha256": sha256(b"alpha")},
    )
    job = job_result(inst, approve(inst, proposal))
    assert job["result_status"] == "refused"
    assert job["result"]["error"]["code"] == "target_exists"
    assert (folder / "docs" / "a.txt").exists()


def test_sigterm_stops_cleanly(agent):
    process, log_path = agent
    wait_for(lambda: "contract loaded" in log_path.read_text(), what="the agent's loop")
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    messages = [json.loads(line)["msg"] for line in log_path.read_text().splitlines()]
    assert messages[-1] == "agent stopped"


@pytest.mark.parametrize("cut", ["drop_result_requests", "drop_result_responses"])
def test_network_cut_after_execution_executes_once(tmp_path, inst, engine, folder, cut):
    proxy = FaultProxy(int(engine.rsplit(":", 1)[1]))
    setattr(proxy, cut, 2)
    config = tmp_path / "agent" / "config.json"
    configure(config, inst, f"http://127.0.0.1:{proxy.port}", folder)
    proposal = inst.propose(
        "exec", "move", {"path": "notes.md", "destination": "archive", "sha256": sha256(b"# notes")}
    )
    try:
        with running_agent(config, tmp_path / "agent.log"):
            job = job_result(inst, approve(inst, proposal), timeout=60)
            assert job["result_status"] == "succeeded"
            wait_for(lambda: getattr(proxy, cut) == 0, what="cuts to happen")
    finally:
        proxy.close()
    assert (folder / "archive" / "notes.md").read_bytes() == b"# notes"
    events = inst.get("/ledger/events", "owner", case_id=proposal["case_id"]).json()["events"]
    assert [e["type"] for e in events].count("job.executed") == 1
    log = (tmp_path / "agent.log").read_text()
    assert log.count('"msg": "job started"') == 1
    assert "re-sending result" in log
