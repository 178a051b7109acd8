"""The agent binary carries no server code: only the kernel, the contract's action names and
the ledger's verifiers (what a witness checks a proof with)."""

import subprocess
import sys

from harness.servers import ROOT

SERVER_PACKAGES = {"governance", "functions", "tenants", "portal", "starlette", "uvicorn"}
LEDGER_VERIFIERS = {"ledger", "ledger.checkpoint", "ledger.merkle", "ledger.signing"}


def test_the_agent_imports_no_server_code():
    modules = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, agent.cli, agent.runner, agent.witness, agent.status, agent.service;"
            " print('\\n'.join(sorted(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.split()
    assert not [m for m in modules if m.split(".")[0] in SERVER_PACKAGES]
    ledger = {m for m in modules if m.split(".")[0] == "ledger"}
    assert ledger <= LEDGER_VERIFIERS | {"ledger.witness"}
    assert "kernel.times" in modules and "kernel.canonical" in modules
