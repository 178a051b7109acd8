"""The `libervia` operator command, run as its own process the way an operator runs it."""

import subprocess
import sys
from pathlib import Path

from harness.servers import ROOT


def libervia(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "functions.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def verify_offline(path: Path, public_key: str) -> subprocess.CompletedProcess:
    """`libervia ledger verify FILE --public-key KEY`."""
    return libervia("ledger", "verify", str(path), "--public-key", public_key)
