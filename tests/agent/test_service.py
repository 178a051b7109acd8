"""`libervia-agent service install|uninstall`: the service file the manager reads, naming an
executable that really runs the agent; checked by systemd's own verifier, and the command it
starts polls a live engine."""

import os
import plistlib
import shlex
import shutil
import subprocess
import sys

import pytest

from agent import service
from harness.servers import ROOT, stop_process
from tests.support.agent_process import AGENT_CMD, configure, job_result


def cli(home, *args, command=None):
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    return subprocess.run(
        [*(command or AGENT_CMD), *args], cwd=ROOT, capture_output=True, text=True, env=env
    )


def exec_start(unit: str) -> list[str]:
    line = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart="))


def started_service_polls(inst, engine, tmp_path, command):
    """Run what the service would start, and see it do a job."""
    process = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        job = job_result(inst, inst.propose("exec", "list_files")["job_id"], timeout=60)
    finally:
        stop_process(process)
    assert job["result_status"] == "succeeded"


def test_install_writes_a_systemd_unit_that_runs_the_agent(tmp_path, inst, engine):
    home = tmp_path / "home"
    home.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    config = home / "agent.json"
    configure(config, inst, engine, root)

    done = cli(home, "--config", str(config), "service", "install", "--no-start")
    assert done.returncode == 0, done.stderr
    unit_path = home / ".config" / "systemd" / "user" / "libervia-agent.service"
    unit = unit_path.read_text()
    assert "WantedBy=default.target" in unit and "Restart=on-failure" in unit
    command = exec_start(unit)
    assert command[-3:] == ["--config", str(config), "run"]
    # systemd's own reading of the unit: keys, sections and an executable ExecStart (it cannot
    # run a user manager here, so the unit is read as a system one; .ci/run installs systemd).
    verifier = shutil.which("systemd-analyze")
    assert verifier, "systemd-analyze is missing: apt-get install systemd"
    checked = subprocess.run([verifier, "verify", str(unit_path)], capture_output=True, text=True)
    assert checked.returncode == 0 and not checked.stderr, checked.stderr
    started_service_polls(inst, engine, tmp_path, command)

    removed = cli(home, "--config", str(config), "service", "uninstall", "--no-start")
    assert removed.returncode == 0, removed.stderr
    assert not unit_path.exists()


def test_the_packaged_build_installs_itself_where_it_stays(agent_binary, tmp_path, inst, engine):
    home = tmp_path / "home"
    home.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    config = home / "agent.json"
    configure(config, inst, engine, root, command=[str(agent_binary)])
    done = cli(
        home,
        "--config",
        str(config),
        "service",
        "install",
        "--no-start",
        command=[str(agent_binary)],
    )
    assert done.returncode == 0, done.stderr
    installed = home / ".local" / "bin" / "libervia-agent"
    assert installed.is_file() and os.access(installed, os.X_OK)
    unit = (home / ".config" / "systemd" / "user" / "libervia-agent.service").read_text()
    command = exec_start(unit)
    assert command[0] == str(installed)
    started_service_polls(inst, engine, tmp_path, command)
    assert (
        cli(
            home,
            "--config",
            str(config),
            "service",
            "uninstall",
            "--no-start",
            command=[str(installed)],
        ).returncode
        == 0
    )
    assert not installed.exists()


def test_on_macos_it_is_a_launchd_agent(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    config = tmp_path / "agent.json"
    chosen = service.plan(config, "darwin")
    assert chosen.service_file == tmp_path / "Library" / "LaunchAgents" / "org.libervia.agent.plist"
    listed = plistlib.loads(chosen.content)
    assert listed["Label"] == "org.libervia.agent" and listed["RunAtLoad"] is True
    assert listed["ProgramArguments"] == [
        sys.executable,
        "-m",
        "agent",
        "--config",
        str(config),
        "run",
    ]
    assert chosen.start == [["launchctl", "load", "-w", str(chosen.service_file)]]


def test_without_a_configuration_or_on_another_system_it_says_why(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    missing = cli(home, "--config", str(home / "none.json"), "service", "install")
    assert missing.returncode == 2 and "configure" in missing.stderr
    assert not (home / ".config").exists()
    with pytest.raises(service.AgentError, match="Linux and macOS"):
        service.plan(home / "a.json", "win32")
