import hashlib
import subprocess

import pytest

from tests.support.agent_process import agent_cli, configure, job_result, running_agent
from tests.support.servers import ROOT


@pytest.fixture(scope="module")
def agent_binary():
    """`make agent` builds the PyInstaller binary and SHA256SUMS for this OS/arch."""
    subprocess.run(["make", "agent"], cwd=ROOT, check=True, capture_output=True, timeout=900)
    sums = (ROOT / "dist" / "agent" / "SHA256SUMS").read_text().split()
    digest, name = sums[0], sums[1]
    binary = ROOT / "dist" / "agent" / name
    assert hashlib.sha256(binary.read_bytes()).hexdigest() == digest
    return binary


def test_binary_runs_end_to_end_against_a_live_engine(agent_binary, tmp_path, inst, engine):
    root = tmp_path / "root"
    root.mkdir()
    (root / "report.pdf").write_bytes(b"%PDF-1.4 test")
    config = tmp_path / "config.json"
    command = [str(agent_binary)]
    configure(config, inst, engine, root, command=command)
    assert "connection    ok" in agent_cli(config, "status", command=command).stdout
    with running_agent(config, tmp_path / "agent.log", command=command):
        job = job_result(inst, inst.propose("exec", "list_files")["job_id"], timeout=60)
    assert job["result_status"] == "succeeded"
    assert [f["path"] for f in job["result"]["files"]] == ["report.pdf"]
