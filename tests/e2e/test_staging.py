"""Staging: engine, console and clock as real processes behind the project's Caddyfile on a
real Caddy with its internal TLS CA, real PostgreSQL, and the PyInstaller-built agent over HTTPS.

Agent traffic goes agent -> Caddy (TLS) -> fault proxy -> engine, so a test can cut the
connection after the engine has taken a result and before the agent hears about it."""

import concurrent.futures
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from harness.servers import (
    ADMIN_TOKEN,
    ROOT,
    console_process,
    free_port,
    json_lines,
    start_uvicorn,
    stop_process,
    wait_healthy,
)
from ledger.store import COLUMNS
from ledger.verify import verify_rows
from tests.support.agent_process import agent_cli, wait_for
from tests.support.caddy import Caddy, caddy_proxy
from tests.support.cli import libervia, verify_offline
from tests.support.console_api import ConsoleUser
from tests.support.databases import postgres_database
from tests.support.fault_proxy import FaultProxy


@dataclass
class Stack:
    folder: Path
    data_dir: Path
    engine_port: int
    engine: subprocess.Popen
    caddy: Caddy
    proxy: FaultProxy
    user: ConsoleUser
    runtime: dict
    root: Path
    agent_log: Path

    def start_engine(self) -> None:
        env = {"LIBERVIA_DATA_DIR": str(self.data_dir), "ENGINE_ISE_ADMIN_TOKEN": ADMIN_TOKEN}
        self.engine = start_uvicorn(
            "functions.engine.app:create_app", env, self.engine_port, self.folder / "engine.log"
        )
        wait_healthy(f"http://127.0.0.1:{self.engine_port}/healthz", self.engine)

    @property
    def ledger_path(self) -> Path:
        return self.data_dir / "institutions" / self.runtime["institution_id"] / "institution.db"

    def ledger_rows(self) -> list[tuple]:
        with sqlite3.connect(f"file:{self.ledger_path}?mode=ro", uri=True) as conn:
            return conn.execute(f"SELECT {COLUMNS} FROM events ORDER BY seq").fetchall()

    def chat(self, text: str) -> dict:
        reply = self.user.post("/api/chat", {"text": text})
        assert reply.status_code == 200, reply.text
        return reply.json()

    def job_of(self, proposal_id: str, timeout: float = 60) -> dict:
        def finished():
            job = self.user.get(f"/api/proposals/{proposal_id}").json().get("job")
            return job if job and job.get("result_status") else None

        # At the portal's pace (app.js FOLLOW_EVERY_MS): each look is three engine reads with
        # the person's token, whose budget a look every 0.1 s would use up in seconds.
        return wait_for(finished, timeout, f"the job of {proposal_id} to finish", every=1.0)

    def approve(self, proposal_id: str) -> dict:
        pending = {p["proposal_id"]: p for p in self.user.get("/api/approvals").json()["pending"]}
        approved = self.user.post(
            f"/api/approvals/{proposal_id}/approve",
            {"digest": pending[proposal_id]["digest"], "reason": "reviewed in staging"},
        )
        assert approved.status_code == 200, approved.text
        return approved.json()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, agent_binary):
    folder = tmp_path_factory.mktemp("staging")
    root = folder / "files"
    root.mkdir()
    engine_port, https_port = free_port(), free_port()
    with postgres_database() as database_url:
        stack = Stack(folder, folder / "data", engine_port, None, None, None, None, {}, root,
                      folder / "agent.log")  # fmt: skip
        stack.start_engine()
        stack.proxy = FaultProxy(engine_port)
        clock_log = (folder / "clock.log").open("w")
        clock = subprocess.Popen(
            [sys.executable, "-m", "functions.cli", "clock"],
            cwd=ROOT,
            env={
                **os.environ,
                "LIBERVIA_DATA_DIR": str(stack.data_dir),
                "LIBERVIA_DATABASE_URL": database_url,
                "LIBERVIA_BACKUP_DIR": str(folder / "backups"),
                "CLOCK_SWEEP_SECONDS": "1",
                "CLOCK_BACKUP_MINUTES": "0.1",
            },
            stderr=clock_log,
        )
        try:
            with console_process(
                folder / "console",
                f"http://127.0.0.1:{engine_port}",
                database_url,
                folder / "console.log",
                ENGINE_PUBLIC_URL=f"https://127.0.0.1:{https_port}",
                CONSOLE_SECURE_COOKIES="true",
            ) as console:
                console_port = int(console.rsplit(":", 1)[1])
                with caddy_proxy(folder, console_port, stack.proxy.port, https_port) as caddy:
                    stack.caddy = caddy
                    yield from _with_user_and_agent(stack)
        finally:
            stop_process(stack.engine)
            clock.send_signal(signal.SIGTERM)
            clock.wait(timeout=30)
            clock_log.close()
            stack.proxy.close()


def _with_user_and_agent(stack: Stack):
    user = ConsoleUser(stack.caddy.portal_url, verify=stack.caddy.tls())
    stack.user = user.sign_up()
    stack.runtime = user.onboard("Staging")["runtime_package"]
    assert stack.runtime["engine_base_url"] == stack.caddy.engine_url
    config = stack.folder / "agent.json"
    agent = [str(ROOT / "dist" / "agent" / stack_agent_name())]
    agent_cli(
        config,
        "configure",
        "--institution-id",
        stack.runtime["institution_id"],
        "--actor-token",
        stack.runtime["agent_token"],
        "--engine-base-url",
        stack.runtime["engine_base_url"],
        "--root-dir",
        str(stack.root),
        "--ca-bundle",
        str(stack.caddy.ca_cert),
        command=agent,
    )
    with stack.agent_log.open("w") as log:
        process = subprocess.Popen([*agent, "--config", str(config), "run"], stderr=log, stdout=log)
        try:
            yield stack
        finally:
            stop_process(process)
            user.http.close()


def stack_agent_name() -> str:
    return (ROOT / "dist" / "agent" / "SHA256SUMS").read_text().split()[1]


def event_types(stack: Stack, case_id: str) -> list[str]:
    return [row[4] for row in stack.ledger_rows() if row[3] == case_id]


def test_delete_waits_for_approval_then_runs_and_is_audited(stack, tmp_path):
    (stack.root / "notes.txt").write_text("old notes")
    listed = stack.chat("listar arquivos")
    assert listed["decision"] == "allowed"
    assert stack.job_of(listed["proposal_id"])["result_status"] == "succeeded"

    asked = stack.chat("apagar arquivo notes.txt")
    assert asked["decision"] == "pending_approval"
    # The agent runs a job asked after it (it takes jobs oldest first): it saw the queue, and
    # the pending delete was not in it.
    later = stack.chat("listar arquivos")
    assert stack.job_of(later["proposal_id"])["result_status"] == "succeeded"
    assert (stack.root / "notes.txt").read_text() == "old notes"
    assert stack.user.get(f"/api/proposals/{asked['proposal_id']}").json()["job_id"] is None

    stack.approve(asked["proposal_id"])
    job = stack.job_of(asked["proposal_id"])
    assert job["result_status"] == "succeeded"
    assert not (stack.root / "notes.txt").exists()
    quarantined = [p for p in (stack.root / ".libervia-quarantine").rglob("*") if p.is_file()]
    assert any(p.read_text() == "old notes" for p in quarantined)

    assert event_types(stack, asked["case_id"]) == [
        "proposal.pending_approval",
        "approval.granted",
        "job.created",
        "job.leased",
        "job.executed",
        "job.result",
    ]
    verified = stack.user.get("/api/audit/verify").json()
    assert verified["ok"] is True and verified["events"] == len(stack.ledger_rows())

    exported = stack.user.get("/api/audit/export", format="jsonl")
    assert exported.status_code == 200
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(exported.content)
    key = stack.user.get("/api/audit/public-key").json()["public_key"]
    offline = verify_offline(path, key)
    assert offline.returncode == 0, offline.stderr


def test_connection_cut_after_execution_executes_once(stack):
    (stack.root / "draft.txt").write_text("draft")
    stack.job_of(stack.chat("listar arquivos")["proposal_id"])  # listed: draft.txt is known
    asked = stack.chat("apagar arquivo draft.txt")
    assert asked["decision"] == "pending_approval"
    forwarded = stack.proxy.results_forwarded
    stack.proxy.drop_result_responses = 1  # the engine takes the result; the agent never hears
    stack.approve(asked["proposal_id"])
    job = stack.job_of(asked["proposal_id"])
    assert job["result_status"] == "succeeded"
    wait_for(lambda: stack.proxy.results_forwarded >= forwarded + 2, what="the re-sent result")

    assert not (stack.root / "draft.txt").exists()
    types = event_types(stack, asked["case_id"])
    assert types.count("job.executed") == 1 and types.count("job.result") == 1
    messages = [line["msg"] for line in json_lines(stack.agent_log)]
    assert "result not delivered; will re-send" in messages
    assert "re-sending result" in messages


def test_engine_killed_while_appending_loses_no_committed_event(stack):
    url = f"{stack.caddy.engine_url}/v1/institutions/{stack.runtime['institution_id']}/proposals"
    headers = {"Authorization": f"Bearer {stack.runtime['agent_token']}"}
    acknowledged: list[str] = []
    lock, stop = threading.Lock(), threading.Event()

    def keep_proposing() -> None:
        with httpx.Client(verify=stack.caddy.tls(), timeout=10) as client:
            while not stop.is_set():
                try:
                    answer = client.post(
                        url, json={"action": "list_files", "params": {"path": "."}}, headers=headers
                    )
                except httpx.HTTPError:
                    continue
                if answer.status_code == 201:
                    with lock:
                        acknowledged.append(answer.json()["proposal_id"])

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        for _ in range(6):
            pool.submit(keep_proposing)
        wait_for(lambda: len(acknowledged) >= 20, what="proposals to be appended")
        stack.engine.send_signal(signal.SIGKILL)
        stack.engine.wait()
        time.sleep(0.5)
        stop.set()

    stack.start_engine()
    rows = stack.ledger_rows()
    assert verify_rows(rows).ok
    recorded = {json.loads(row[6])["proposal_id"] for row in rows if row[4] == "proposal.allowed"}
    assert set(acknowledged) <= recorded  # every answered proposal survived the kill
    verified = stack.user.get("/api/audit/verify").json()
    assert verified["ok"] is True

    # The restarted engine serves the agent again: a new job runs end to end.
    after = stack.chat("listar arquivos")
    assert stack.job_of(after["proposal_id"])["result_status"] == "succeeded"


def test_clock_backup_of_the_stack_restores_and_verifies(stack, tmp_path):
    backups = stack.folder / "backups"
    stack.chat("listar arquivos")

    def backup_with_the_institution():
        for path in sorted(backups.glob("*/manifest.json"), reverse=True):
            manifest = json.loads(path.read_text())
            if stack.runtime["institution_id"] in manifest["institutions"]:
                return path.parent, manifest
        return None

    backup, manifest = wait_for(backup_with_the_institution, what="the clock's backup")
    assert manifest["accounts"] == "postgres" and "accounts.pgdump" in manifest["files"]
    assert manifest["broken_ledgers"] == {}

    with postgres_database() as restored_url:
        restored = libervia(
            "backup", "restore", str(backup),
            "--data-dir", str(tmp_path / "data"), "--database-url", restored_url,
        )  # fmt: skip
        assert restored.returncode == 0, restored.stderr
        assert "ledger events verified" in restored.stdout
        with psycopg.connect(restored_url) as conn:
            emails = [row[0] for row in conn.execute("SELECT email FROM users")]
    assert stack.user.email in emails


def test_a_folder_of_8000_files_through_caddy_feeds_the_approval_card(stack):
    photos = stack.root / "Fotos"
    for n in range(8000):
        (photos / f"{n // 500:02d}").mkdir(parents=True, exist_ok=True)
        (photos / f"{n // 500:02d}" / f"IMG_{n:05d}.jpg").write_bytes(b"photo %d" % n)
    try:
        listed = stack.chat("listar arquivos")
        job = stack.job_of(listed["proposal_id"], timeout=120)
        assert job["result_status"] == "succeeded"
        assert job["result_bytes"] > 1024 * 1024  # past the engine's general body limit
        asked = stack.chat("apagar arquivo Fotos/03/IMG_01600.jpg")
        assert asked["decision"] == "pending_approval"
        pending = {p["proposal_id"]: p for p in stack.user.get("/api/approvals").json()["pending"]}
        target = pending[asked["proposal_id"]]["impact"]["files"][0]
        assert target["size"] == len(b"photo 1600")
        assert target["sha256"] == hashlib.sha256(b"photo 1600").hexdigest()
        reject = stack.user.post(
            f"/api/approvals/{asked['proposal_id']}/reject", {"reason": "kept in staging"}
        )
        assert reject.status_code == 200, reject.text
    finally:
        shutil.rmtree(photos)


def test_caddy_lets_large_results_through_and_nothing_else(stack):
    """Listings past ~45,000 files are over 2 MB even compressed: only the result route takes
    them (the engine then judges the body); every other route keeps Caddy's 2 MB cap."""
    agent = {"Authorization": f"Bearer {stack.runtime['agent_token']}"}
    base = f"{stack.caddy.engine_url}/v1/institutions/{stack.runtime['institution_id']}"
    body = os.urandom(3 * 1024 * 1024)
    with httpx.Client(verify=stack.caddy.tls(), timeout=60) as http:
        result = http.post(f"{base}/runtime/jobs/job_none/result", content=body, headers=agent)
        other = http.post(f"{base}/proposals", content=body, headers=agent)
    assert result.status_code == 400 and result.json()["error"]["code"] == "invalid_json"
    # Caddy cuts the upload at 2 MB; the reverse proxy then answers 502 or the engine's 413.
    assert other.status_code in (413, 502)


def test_libervia_smoke_walks_the_deployed_stack_through_caddy(stack):
    agent = ROOT / "dist" / "agent" / stack_agent_name()
    done = libervia(
        "smoke",
        "--console-url",
        stack.caddy.portal_url,
        "--ca-bundle",
        str(stack.caddy.ca_cert),
        "--agent-command",
        str(agent),
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ledger exported and verified offline" in done.stdout
    assert "smoke passed" in done.stdout
