"""The agent's own line: it starts no destructive job without an approval, nor after the
approval's window closed, whatever the engine hands it (a real folder, in process)."""

import hashlib
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest

from agent.client import EngineClient
from agent.config import AgentConfig
from agent.journal import Journal
from agent.runner import Runner


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat().replace("+00:00", "Z")


@contextmanager
def runner_on(root, state, own_files=()):
    config = AgentConfig(
        institution_id="inst_" + "a" * 24,
        actor_token="lat_never_used",
        engine_base_url="http://127.0.0.1:9",
        root_dir=str(root),
        state_dir=str(state),
    )
    journal = Journal(config.journal_path)
    client = EngineClient(config)  # never called: execute() decides alone
    made = Runner(config, client, journal, own_files=own_files)
    made.allowed_actions = {"delete", "list_files"}
    try:
        yield made
    finally:
        client.close()
        journal.close()


@pytest.fixture
def runner(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "a.txt").write_bytes(b"alpha")
    with runner_on(root, tmp_path / "state") as made:
        yield made, root


def delete_job(**extra):
    params = {"path": "a.txt", "sha256": hashlib.sha256(b"alpha").hexdigest()}
    return {
        "job_id": "job_x",
        "case_id": "case_x",
        "action": "delete",
        "params": params,
        "options": {"effect": "destructive", "delete_mode": "quarantine"},
        **extra,
    }


def test_a_destructive_job_without_an_approval_is_refused(runner):
    agent, root = runner
    status, report = agent.execute(delete_job(approval_digest=None, not_after=iso(timedelta(1))))
    assert status == "refused" and report["error"]["code"] == "no_approval"
    assert (root / "a.txt").exists()


def test_a_job_whose_window_closed_is_refused(runner):
    agent, root = runner
    late = delete_job(approval_digest="d" * 64, not_after=iso(-timedelta(seconds=1)))
    status, report = agent.execute(late)
    assert status == "refused" and report["error"]["code"] == "approval_window_closed"
    assert (root / "a.txt").exists()


def test_an_approved_job_in_its_window_runs(runner):
    agent, root = runner
    status, report = agent.execute(
        delete_job(approval_digest="d" * 64, not_after=iso(timedelta(hours=1)))
    )
    assert status == "succeeded", report
    assert not (root / "a.txt").exists()


def test_a_job_never_touches_the_agents_configuration(tmp_path):
    """The configuration the agent was started with, inside its root (a home folder as root):
    the runner hands it to every job as one of the agent's own files."""
    root = tmp_path / "home"
    root.mkdir()
    config_path = root / ".libervia-agent.json"
    config_path.write_bytes(b"token")
    sha256 = hashlib.sha256(b"token").hexdigest()
    job = delete_job(approval_digest="d" * 64, not_after=iso(timedelta(hours=1)))
    job["params"] = {"path": config_path.name, "sha256": sha256}
    listing = {"job_id": "job_l", "case_id": "case_l", "action": "list_files", "params": {}}
    with runner_on(root, tmp_path / "state", own_files=[config_path]) as agent:
        status, report = agent.execute(job)
        listed = agent.execute(listing)
    assert status == "refused" and report["error"]["code"] == "path_refused", report
    assert config_path.read_bytes() == b"token"
    assert listed[0] == "succeeded" and listed[1]["files"] == []
