"""Run every benchmark in sequence, each in its own process, then list the goals.

A missed goal is printed, never a failure; the exit status is non-zero only when a benchmark
crashed.
"""

import subprocess
import sys

from bench.common import ROOT, parse_args

BENCHMARKS = [
    "ledger_append",
    "ledger_verify",
    "ledger_proofs",
    "agent_poll",
    "proposal_latency",
    "tenants_scale",
    "detect_duplicates",
    "portal_views",
]


def run(name: str, quick: bool) -> tuple[int, list[str]]:
    """Run one benchmark, echoing its output; return its exit status and its goal lines."""
    command = [sys.executable, "-m", f"bench.{name}", *(["--quick"] if quick else [])]
    goals = []
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True) as process:
        for line in process.stdout or []:
            print(line, end="", flush=True)
            if line.strip().startswith("goal:"):
                goals.append(line.strip())
    return process.returncode, goals


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__, argv)
    summary, crashed = [], []
    for name in BENCHMARKS:
        status, goals = run(name, args.quick)
        if status:
            crashed.append(name)
            goals.append(f"CRASHED (exit status {status})")
        summary += [f"  {name:<17} {line}" for line in goals]
    print("\n== summary", flush=True)
    print("\n".join(summary), flush=True)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
