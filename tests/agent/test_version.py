"""One version, SemVer: the agent's --version, its User-Agent and the project's metadata agree."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from agent import __version__

ROOT = Path(__file__).resolve().parents[2]
SEMVER = re.compile(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?")


def test_the_agent_version_is_semver_and_the_projects():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert SEMVER.fullmatch(__version__)
    assert project["version"] == __version__


def test_libervia_agent_version_prints_it():
    shown = subprocess.run(
        [sys.executable, "-m", "agent", "--version"], capture_output=True, text=True, cwd=ROOT
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == f"libervia-agent {__version__}"


def test_the_changelog_records_the_version_and_libervia_prints_it():
    assert f"## [{__version__}] - " in (ROOT / "CHANGELOG.md").read_text()
    shown = subprocess.run(
        [sys.executable, "-m", "functions.cli", "--version"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == f"libervia {__version__}"
