"""Many institutions on one engine process: onboard 10,000 institutions through the HTTP API
(each: institution, admin key, contract registered and released, agent actor, one poll, one
proposal) and print the engine's resident memory and open file descriptors at 1k, 5k and 10k.

The engine keeps at most ENGINE_OPEN_TENANTS institutions open (least recently used closed
first), so descriptors stay flat and memory grows only by what each institution costs while
closed. The reference is the engine's own figures at 1,000 institutions, in the same run.
Goals: no errors; fds flat (at 10k within 32 of 1k); RSS growth below 50 KB per institution
after the first 1,000. Then one clock sweep over all of them, in its own process.
"""

import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.common import ROOT, figure, goal, note, parse_args, title
from harness.engine_api import auth
from harness.servers import ADMIN_TOKEN, free_port, start_uvicorn, stop_process, wait_healthy

CLIENTS = 8
GOAL_KB_PER_INSTITUTION = 50
GOAL_FD_DRIFT = 32


def onboard(client: httpx.Client, base: str) -> None:
    """One institution as the console onboards it, then its agent's first poll and proposal."""
    admin = auth(ADMIN_TOKEN)
    created = client.post(
        f"{base}/v1/admin/institutions",
        headers=admin,
        json={"external_id": str(uuid.uuid4()), "name": "Scale"},
    )
    created.raise_for_status()
    iid = created.json()["institution_id"]
    key = client.post(f"{base}/v1/admin/institutions/{iid}/admin-key", headers=admin)
    key.raise_for_status()
    inst = f"{base}/v1/institutions/{iid}"
    admin_key = auth(key.json()["admin_key"])
    steps = [
        client.post(f"{inst}/bundles", headers=admin_key, json={"builtin": "personal_ops@v1.0.0"}),
        client.post(f"{inst}/bundles/personal_ops/v1.0.0/release", headers=admin_key),
    ]
    agent = client.post(
        f"{inst}/actors", headers=admin_key, json={"name": "agent", "role": "organizational_agent"}
    )
    agent.raise_for_status()
    token = auth(agent.json()["token"])
    steps.append(client.get(f"{inst}/runtime/jobs", headers=token))
    steps.append(
        client.post(f"{inst}/proposals", headers=token, json={"action": "list_files", "params": {}})
    )
    for response in steps:
        response.raise_for_status()


def usage(pid: int) -> tuple[int, int]:
    """(resident KB, open fds) of a process."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def sweep_once(data_dir: Path) -> str:
    code = (
        "import resource, time\n"
        "from governance.maintenance import sweep\n"
        "from tenants.layout import DataDir\n"
        "from tenants.registry import Registry\n"
        "from tenants.tenant import Tenants\n"
        f"layout = DataDir({str(data_dir)!r})\n"
        "start = time.perf_counter()\n"
        "counts = sweep(Registry(layout.registry_path), Tenants(layout))\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(f'{counts.institutions} {time.perf_counter() - start:.1f} {peak}')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__, argv)
    marks = (500, 1000, 1500) if args.quick else (1000, 5000, 10000)
    title("tenants_scale", f"{marks[-1]:,} institutions on one engine process", args.quick)
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        port = free_port()
        env = {
            "LIBERVIA_DATA_DIR": str(Path(tmp) / "data"),
            "ENGINE_ISE_ADMIN_TOKEN": ADMIN_TOKEN,
            "ENGINE_RATE_LIMIT_PER_SECOND": "0",
            "LIBERVIA_LOG_LEVEL": "WARNING",
        }
        engine = start_uvicorn("functions.engine.app:create_app", env, port)
        base = f"http://127.0.0.1:{port}"
        errors: list[str] = []
        figures: dict[int, tuple[int, int]] = {}
        lock = threading.Lock()
        local = threading.local()
        try:
            wait_healthy(f"{base}/healthz", engine)

            def one(_: int) -> None:
                if not hasattr(local, "client"):
                    local.client = httpx.Client(timeout=60)
                try:
                    onboard(local.client, base)
                except httpx.HTTPError as exc:
                    with lock:
                        errors.append(repr(exc))

            start, done = time.perf_counter(), 0
            with ThreadPoolExecutor(CLIENTS) as pool:
                for mark in marks:
                    list(pool.map(one, range(mark - done)))
                    done = mark
                    figures[mark] = usage(engine.pid)
                    note(f"{mark:,} institutions after {time.perf_counter() - start:.0f} s")
        finally:
            stop_process(engine)
        swept = sweep_once(Path(tmp) / "data").split()

    first, last = marks[0], marks[-1]
    for mark in marks:
        rss, fds = figures[mark]
        figure(f"engine RSS at {mark:,} institutions", rss / 1024, "MB")
        figure(f"engine open fds at {mark:,} institutions", fds, "fds")
    per_institution = (figures[last][0] - figures[first][0]) / (last - first)
    figure(f"RSS growth per institution after {first:,}", per_institution, "KB")
    figure("clock sweep over all institutions", float(swept[1]), "s")
    figure("clock sweep peak RSS", int(swept[2]) / 1024, "MB")
    note(f"onboarding errors: {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))
    goal("no errors", not errors)
    goal(
        f"fds flat (within {GOAL_FD_DRIFT} of {first:,})",
        abs(figures[last][1] - figures[first][1]) <= GOAL_FD_DRIFT,
    )
    goal(
        f"RSS growth < {GOAL_KB_PER_INSTITUTION} KB per institution",
        per_institution < GOAL_KB_PER_INSTITUTION,
    )


if __name__ == "__main__":
    main()
