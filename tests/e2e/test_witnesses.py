"""The agent and the console witness the ledger: a history rewritten on the engine's disk, or
rolled back to an older copy, is caught by both, even when the engine's own records of its
checkpoints were tampered with too. Real engine, console (PostgreSQL) and agent processes."""

import json
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.servers import (
    ADMIN_TOKEN,
    console_process,
    free_port,
    json_lines,
    start_uvicorn,
    stop_process,
    wait_healthy,
)
from tests.support import tamper
from tests.support.agent_process import agent_cli, running_agent, wait_for
from tests.support.console_api import ConsoleUser
from tests.support.databases import postgres_schema_url, require_postgres


@dataclass
class Stack:
    folder: Path
    engine_port: int
    user: ConsoleUser
    runtime: dict
    engine: subprocess.Popen | None = None

    @property
    def data_dir(self) -> Path:
        return self.folder / "engine"

    @property
    def institution_file(self) -> Path:
        return self.data_dir / "institutions" / self.runtime["institution_id"] / "institution.db"

    def start_engine(self) -> None:
        env = {"LIBERVIA_DATA_DIR": str(self.data_dir), "ENGINE_ISE_ADMIN_TOKEN": ADMIN_TOKEN}
        self.engine = start_uvicorn(
            "functions.engine.app:create_app", env, self.engine_port, self.folder / "engine.log"
        )
        wait_healthy(f"http://127.0.0.1:{self.engine_port}/healthz", self.engine)

    def stop_engine(self) -> None:
        assert self.engine is not None
        stop_process(self.engine)

    def forget_kept_checkpoint(self) -> None:
        """The attacker also strips the registry's copy of the newest checkpoint."""
        with sqlite3.connect(self.data_dir / "registry.db") as conn:
            conn.execute("DELETE FROM checkpoints")

    def chat(self, text: str) -> dict:
        reply = self.user.post("/api/chat", {"text": text})
        assert reply.status_code == 200, reply.text
        return reply.json()

    def console_witness(self) -> dict:
        verified = self.user.get("/api/audit/verify")
        assert verified.status_code == 200, verified.text
        return verified.json()["witness"]


@contextmanager
def stack(tmp_path: Path) -> Iterator[Stack]:
    require_postgres()
    with postgres_schema_url() as database_url:
        port = free_port()
        holder = Stack(tmp_path, port, None, {})  # type: ignore[arg-type]
        holder.start_engine()
        try:
            engine = f"http://127.0.0.1:{port}"
            with console_process(tmp_path / "console", engine, database_url) as console:
                holder.user = ConsoleUser(console).sign_up()
                holder.runtime = holder.user.onboard()["runtime_package"]
                yield holder
                holder.user.http.close()
        finally:
            holder.stop_engine()


@contextmanager
def agent(s: Stack, tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    root = tmp_path / "files"
    root.mkdir(exist_ok=True)
    (root / "notes.txt").write_text("hello")
    config = tmp_path / "agent" / "config.json"
    agent_cli(
        config,
        "configure",
        "--institution-id",
        s.runtime["institution_id"],
        "--actor-token",
        s.runtime["agent_token"],
        "--engine-base-url",
        s.runtime["engine_base_url"],
        "--root-dir",
        str(root),
    )
    log = tmp_path / "agent.log"
    with running_agent(config, log):
        yield config, log


def ran_jobs(log: Path) -> int:
    return sum(1 for line in json_lines(log) if line.get("msg") == "job finished")


def alarms(log: Path) -> list[dict]:
    return [line for line in json_lines(log) if "witness alarm" in line.get("msg", "")]


def agent_status(config: Path) -> dict:
    result = agent_cli(config, "status", "--json", check=False)
    return json.loads(result.stdout)["witness"]


def witnessed_once(s: Stack, log: Path) -> None:
    """A job runs (the agent witnesses the ledger first) and the console witnesses it too."""
    before = ran_jobs(log)
    s.chat("listar arquivos")
    wait_for(lambda: ran_jobs(log) > before, what="the agent to run a job")
    assert s.console_witness()["status"] == "ok"


def assert_both_caught(s: Stack, config: Path, log: Path, word: str) -> None:
    done = ran_jobs(log)
    s.chat("listar arquivos")
    found = wait_for(lambda: alarms(log), what="the agent's witness alarm")
    assert word in found[0]["problem"], found
    assert ran_jobs(log) == done, "no job may run on a ledger the witness refuses"
    status = agent_status(config)
    assert status["status"] == "alarm" and word in status["problem"]
    console = s.console_witness()
    assert console["status"] == "alarm" and word in console["problem"], console
    assert s.console_witness()["status"] == "alarm"  # it stays


@pytest.mark.slow
def test_a_rewritten_history_is_caught_by_both_witnesses(tmp_path):
    with stack(tmp_path) as s, agent(s, tmp_path) as (config, log):
        witnessed_once(s, log)
        witnessed_once(s, log)
        tamper.rewrite_and_rechain(s.institution_file, 3, '{"forged":true}', drop_checkpoints=True)
        s.forget_kept_checkpoint()
        assert_both_caught(s, config, log, "rewritten")
        events = s.user.get("/api/audit").json()["events"]
        assert any(e["type"] == "witness.alarm" for e in events), "the alarm is reported"


@pytest.mark.slow
def test_a_rolled_back_ledger_is_caught_by_both_witnesses(tmp_path):
    with stack(tmp_path) as s, agent(s, tmp_path) as (config, log):
        witnessed_once(s, log)
        old_copy = tmp_path / "old-institution.db"
        tamper.snapshot_file(s.institution_file, old_copy)
        old_registry = tmp_path / "old-registry.db"
        tamper.snapshot_file(s.data_dir / "registry.db", old_registry)
        witnessed_once(s, log)
        witnessed_once(s, log)
        s.stop_engine()
        tamper.roll_back(old_copy, s.institution_file)
        tamper.roll_back(old_registry, s.data_dir / "registry.db")
        s.start_engine()
        assert_both_caught(s, config, log, "rolled back")
