"""The agent starts with the computer: a systemd user service on Linux, a launchd agent on
macOS. `install` puts the running executable where it stays (~/.local/bin/libervia-agent),
writes the service file naming it and the configuration, then asks the service manager to start
it now and at every login; `uninstall` undoes all of that. Nothing needs root."""

import os
import plistlib
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from agent import AgentError

UNIT = "libervia-agent.service"
LABEL = "org.libervia.agent"


@dataclass(frozen=True)
class Plan:
    """What `install` writes and runs, so it can be shown and tested before it is done."""

    system: str  # linux | darwin
    copy_from: Path | None  # a frozen build is copied to where it stays
    copy_to: Path | None
    service_file: Path
    content: bytes
    start: list[list[str]]
    stop: list[list[str]]


def _installed_binary() -> Path:
    return Path.home() / ".local" / "bin" / "libervia-agent"


def _command() -> tuple[list[str], Path | None, Path | None]:
    """A PyInstaller build is copied to ~/.local/bin; from source, this Python runs the module."""
    if getattr(sys, "frozen", False):
        target = _installed_binary()
        return [str(target)], Path(sys.executable).resolve(), target
    return [sys.executable, "-m", "agent"], None, None


def plan(config: Path, system: str | None = None) -> Plan:
    system = system or sys.platform
    executable, source, target = _command()
    arguments = [*executable, "--config", str(config.resolve()), "run"]
    if system.startswith("linux"):
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
        unit = (
            "[Unit]\n"
            "Description=Libervia agent: runs Engine-authorized jobs inside one folder\n"
            "After=network-online.target\n"
            "Wants=network-online.target\n\n"
            "[Service]\n"
            f"ExecStart={' '.join(_quoted(a) for a in arguments)}\n"
            "Restart=on-failure\n"
            "RestartSec=10\n\n"
            "[Install]\n"
            "WantedBy=default.target\n"
        )
        return Plan(
            "linux",
            source,
            target,
            base / "systemd" / "user" / UNIT,
            unit.encode(),
            [
                ["systemctl", "--user", "daemon-reload"],
                ["systemctl", "--user", "enable", UNIT],
                ["systemctl", "--user", "restart", UNIT],  # an upgrade runs the new build now
            ],
            [["systemctl", "--user", "disable", "--now", UNIT]],
        )
    if system == "darwin":
        logs = Path.home() / "Library" / "Logs" / "libervia-agent.log"
        content = plistlib.dumps(
            {
                "Label": LABEL,
                "ProgramArguments": arguments,
                "RunAtLoad": True,
                "KeepAlive": {"SuccessfulExit": False},
                "StandardOutPath": str(logs),
                "StandardErrorPath": str(logs),
            }
        )
        path = Path.home() / "Library" / "LaunchAgents" / f"{LABEL}.plist"
        return Plan(
            "darwin",
            source,
            target,
            path,
            content,
            [["launchctl", "load", "-w", str(path)]],
            [["launchctl", "unload", "-w", str(path)]],
        )
    raise AgentError(f"starting with the computer is set up on Linux and macOS, not on {system}")


def _quoted(argument: str) -> str:
    """One ExecStart word: systemd's specifiers (%) and variables ($) doubled, and quoted
    when it holds a space, a quote or a backslash."""
    argument = argument.replace("%", "%%").replace("$", "$$")
    if any(c in argument for c in " \"\\'"):
        return '"' + argument.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return argument


def _run(commands: list[list[str]], ignore_failure: bool = False) -> None:
    for command in commands:
        if shutil.which(command[0]) is None:
            if ignore_failure:
                continue
            raise AgentError(f"{command[0]} is not available here; start the agent with `run`")
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if done.returncode != 0 and not ignore_failure:
            raise AgentError(
                f"`{' '.join(command)}` failed: {done.stderr.strip() or done.returncode}"
            )


def install(config: Path, start: bool = True) -> Plan:
    if not config.is_file():
        raise AgentError(f"{config} does not exist: run `libervia-agent configure` first")
    chosen = plan(config)
    if chosen.copy_from and chosen.copy_to and chosen.copy_from != chosen.copy_to:
        chosen.copy_to.parent.mkdir(parents=True, exist_ok=True)
        staged = chosen.copy_to.with_suffix(".new")
        shutil.copy2(chosen.copy_from, staged)
        staged.chmod(0o755)
        staged.replace(chosen.copy_to)  # a running older build keeps its file
    chosen.service_file.parent.mkdir(parents=True, exist_ok=True)
    chosen.service_file.write_bytes(chosen.content)
    if start:
        if chosen.system == "darwin":  # loaded before (an upgrade): unload, then load anew
            _run(chosen.stop, ignore_failure=True)
        _run(chosen.start)
    return chosen


def uninstall(config: Path, stop: bool = True) -> Plan:
    chosen = plan(config)
    if stop and chosen.service_file.exists():
        _run(chosen.stop, ignore_failure=True)  # already stopped is fine
    chosen.service_file.unlink(missing_ok=True)
    if chosen.copy_to is not None:
        chosen.copy_to.unlink(missing_ok=True)
    if stop and chosen.system == "linux":
        _run([["systemctl", "--user", "daemon-reload"]], ignore_failure=True)
    return chosen
