"""The engine (two worker processes, as in production) killed with SIGKILL at random moments
while clients propose, approve, lease, report results and export, 20 times over: after each
restart `libervia check` finds no record without its events and no event without its record,
every chain verifies, everything the engine acknowledged is there, and every export it finished
verifies offline."""

import os
import random
import signal
import sqlite3
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from harness.engine_api import SEEN, Institution, auth, new_institution
from harness.servers import (
    ADMIN_TOKEN,
    free_port,
    signal_group,
    start_uvicorn,
    wait_healthy,
)
from ledger.offline import verify_file
from tests.support.cli import libervia

ROUNDS = 20
CLIENTS = 8
WORKERS = 2
TRANSPORT_ERRORS = (httpx.TransportError,)


@dataclass
class Acknowledged:
    """What the engine answered with success: each must survive the crash."""

    proposals: dict[str, str] = field(default_factory=dict)  # proposal id -> status answered
    leases: set[str] = field(default_factory=set)  # job ids
    results: dict[str, str] = field(default_factory=dict)  # job id -> result status
    exports: list[Path] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Engine:
    def __init__(self, data_dir: Path, log: Path) -> None:
        self.data_dir, self.log = data_dir, log
        self.process: subprocess.Popen | None = None
        self.base = ""

    def start(self) -> str:
        port = free_port()
        env = {
            "LIBERVIA_DATA_DIR": str(self.data_dir),
            "ENGINE_ISE_ADMIN_TOKEN": ADMIN_TOKEN,
            "ENGINE_RATE_LIMIT_PER_SECOND": "0",
            "LIBERVIA_LOG_LEVEL": "WARNING",
        }
        self.process = start_uvicorn(
            "functions.engine.app:create_app", env, port, self.log, workers=WORKERS
        )
        self.base = f"http://127.0.0.1:{port}"
        wait_healthy(f"{self.base}/healthz", self.process)
        return self.base

    def kill(self) -> None:
        """SIGKILL to the supervisor and its workers at once."""
        assert self.process is not None
        signal_group(self.process, signal.SIGKILL)
        self.process.wait()


def with_base(inst: Institution, base: str) -> Institution:
    return Institution(base, inst.institution_id, inst.admin_key, inst.tokens, inst.actor_ids)


def work(
    institutions: list[Institution],
    acked: Acknowledged,
    exports_dir: Path,
    rng: random.Random,
    stop: threading.Event,
) -> None:
    """One client doing a random mix until the engine dies under it."""
    client = httpx.Client(timeout=20)

    def call(method: str, inst: Institution, path: str, who: str, **kwargs) -> httpx.Response:
        token = inst.admin_key if who == "admin" else inst.tokens[who]
        return client.request(method, inst.url(path), headers=auth(token), **kwargs)

    try:
        while not stop.is_set():
            inst = rng.choice(institutions)
            choice = rng.random()
            if choice < 0.3:
                answer = call(
                    "POST",
                    inst,
                    "/proposals",
                    "agent",
                    json={"action": "list_files", "params": {"path": "."}},
                )
                assert answer.status_code == 201, answer.text
                with acked.lock:
                    acked.proposals[answer.json()["proposal_id"]] = "authorized"
            elif choice < 0.55:
                pending = call(
                    "POST",
                    inst,
                    "/proposals",
                    "agent",
                    json={
                        "action": "delete",
                        "params": {"path": f"f{rng.random()}", "sha256": SEEN},
                    },
                )
                assert pending.status_code == 201, pending.text
                proposal = pending.json()
                with acked.lock:
                    acked.proposals[proposal["proposal_id"]] = "pending_approval"
                approved = call(
                    "POST",
                    inst,
                    f"/proposals/{proposal['proposal_id']}/approve",
                    "owner",
                    json={"digest": proposal["digest"]},
                )
                assert approved.status_code == 200, approved.text
                with acked.lock:
                    acked.proposals[proposal["proposal_id"]] = "approved"
            elif choice < 0.9:
                jobs = call("GET", inst, "/runtime/jobs", "agent", params={"limit": 5})
                assert jobs.status_code == 200, jobs.text
                for job in jobs.json()["jobs"][:2]:
                    lease = call(
                        "POST",
                        inst,
                        f"/runtime/jobs/{job['job_id']}/lease",
                        "agent",
                        json={"lease_seconds": 600},
                    )
                    if lease.status_code == 409:  # another client took it first
                        continue
                    assert lease.status_code == 200, lease.text
                    with acked.lock:
                        acked.leases.add(job["job_id"])
                    status = rng.choice(["succeeded", "failed"])
                    result = call(
                        "POST",
                        inst,
                        f"/runtime/jobs/{job['job_id']}/result",
                        "agent",
                        json={"status": status, "report": {"n": rng.random()}},
                    )
                    assert result.status_code in (200, 201), result.text
                    with acked.lock:
                        acked.results[job["job_id"]] = result.json()["job"]["result_status"]
            else:
                exported = call(
                    "GET",
                    inst,
                    "/ledger/export",
                    "owner",
                    params={"format": rng.choice(["jsonl", "sqlite"])},
                )
                assert exported.status_code == 200, exported.text
                path = exports_dir / f"{inst.institution_id}-{rng.random()}"
                path.write_bytes(exported.content)
                with acked.lock:
                    acked.exports.append(path)
    except TRANSPORT_ERRORS:
        return  # the engine was killed under this client
    finally:
        client.close()


@pytest.mark.slow
def test_sigkill_under_load_never_leaves_a_step_unrecorded(tmp_path):
    data_dir, exports_dir = tmp_path / "data", tmp_path / "exports"
    exports_dir.mkdir()
    engine = Engine(data_dir, tmp_path / "engine.log")
    base = engine.start()
    institutions = [new_institution(base) for _ in range(3)]
    rng = random.Random(2026)
    acked = Acknowledged()
    public_key = httpx.get(f"{base}/v1/public-key").json()["public_key"]
    for round_number in range(ROUNDS):
        if round_number:
            base = engine.start()
        current = [with_base(inst, base) for inst in institutions]
        stop = threading.Event()
        workers = [
            threading.Thread(
                target=work,
                args=(current, acked, exports_dir, random.Random(rng.random()), stop),
            )
            for _ in range(CLIENTS)
        ]
        for worker in workers:
            worker.start()
        time.sleep(rng.uniform(0.3, 1.5))  # a random moment is the point: no event to wait for
        engine.kill()
        stop.set()
        for worker in workers:
            worker.join(30)
            assert not worker.is_alive()

        quiet = {**os.environ, "LIBERVIA_LOG_LEVEL": "WARNING"}
        checked = libervia("check", "--data-dir", str(data_dir), env=quiet)
        assert checked.returncode == 0, f"round {round_number}:\n{checked.stdout}{checked.stderr}"

    base = engine.start()
    try:
        for inst in (with_base(i, base) for i in institutions):
            verified = inst.get("/ledger/verify", "owner").json()
            assert verified["ok"] is True, verified
    finally:
        engine.kill()
    assert_acknowledged_survived(data_dir, institutions, acked)
    assert len(acked.exports) > 5
    for path in acked.exports:
        report = verify_file(path, public_key)
        assert report.ok, (path, report)


def assert_acknowledged_survived(data_dir: Path, institutions: list[Institution], acked) -> None:
    """Read straight from each institution's file: what was acknowledged is in it."""
    proposals, jobs = {}, {}
    for inst in institutions:
        path = data_dir / "institutions" / inst.institution_id / "institution.db"
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            proposals.update(
                {
                    row[0]: row[1:]
                    for row in conn.execute("SELECT id, status, job_id FROM proposals")
                }
            )
            jobs.update(
                {
                    row[0]: row[1:]
                    for row in conn.execute("SELECT id, attempts, result_status FROM jobs")
                }
            )
    assert len(acked.proposals) > 50
    for proposal_id, answered in acked.proposals.items():
        assert proposal_id in proposals, f"acknowledged proposal {proposal_id} is gone"
        status, job_id = proposals[proposal_id]
        if answered == "approved":
            assert status == "approved" and job_id, (proposal_id, status, job_id)
    for job_id in acked.leases | set(acked.results):
        attempts, result_status = jobs[job_id]
        assert attempts >= 1, job_id
        if job_id in acked.results:
            assert result_status == acked.results[job_id], job_id
