import subprocess
import sys
from pathlib import Path

from tests.support.servers import ROOT


def verify_offline(path: Path, public_key: str) -> subprocess.CompletedProcess:
    """Run `libervia ledger verify FILE --public-key KEY` as a separate process."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "functions.cli",
            "ledger",
            "verify",
            str(path),
            "--public-key",
            public_key,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
