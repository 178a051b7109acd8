"""Configure and run the real libervia-agent as a process."""

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.servers import ROOT, stop_process

AGENT_CMD = [sys.executable, "-m", "agent"]


def agent_cli(
    config: Path, *args: str, command: list[str] | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [*(command or AGENT_CMD), "--config", str(config), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def configure(
    config: Path, inst, base: str, root_dir: Path, command: list[str] | None = None
) -> None:
    agent_cli(
        config,
        "configure",
        "--institution-id",
        inst.institution_id,
        "--actor-token",
        inst.tokens["agent"],
        "--engine-base-url",
        base,
        "--root-dir",
        str(root_dir),
        command=command,
    )


@contextmanager
def running_agent(
    config: Path, log_path: Path, command: list[str] | None = None
) -> Iterator[subprocess.Popen]:
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*(command or AGENT_CMD), "--config", str(config), "run"],
            cwd=ROOT,
            stderr=log,
            stdout=log,
            env=dict(os.environ),
        )
        try:
            yield process
        finally:
            stop_process(process)


def wait_for(
    predicate: Callable[[], object],
    timeout: float = 30,
    what: str = "condition",
    every: float = 0.1,
):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def job_result(inst, job_id: str, timeout: float = 30) -> dict:
    def done():
        job = inst.get(f"/runtime/jobs/{job_id}", "owner").json()
        return job if job.get("result_status") else None

    return wait_for(done, timeout, f"result of {job_id}")
